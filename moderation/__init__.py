"""Reader-comment moderation desk and discourse analyzer."""

__version__ = "0.1.0"
