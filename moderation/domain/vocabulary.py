"""The desk's fixed names: account roles, API key scopes, webhook event types (no imports, so the CLI starts fast)."""
from __future__ import annotations

ROLES = ("moderator", "admin", "researcher")
SCOPES = ("submit", "read", "feedback", "import", "moderate")  # moderate: act on authors, given only when asked
DEFAULT_SCOPES = ("submit", "read", "feedback")  # import is given only when asked: a live CMS never needs it
EVENT_TYPES = ("comment.decided", "comment.flagged", "comment.retriaged")
