"""Persistence: SQLAlchemy models, sessions, migrations and repositories."""
from moderation.store.database import Database, make_engine, migrate
from moderation.store.models import (Article, Base, Comment, Decision, RuleHit, RuleSetVersion, TriageResult,
                                     User)
# Imported for their tables (Alembic and create_all see every model) and the hooks they register.
from moderation.store import apikeys, events, models_registry, revisions, taskruns, webhooks  # noqa: E402, F401  isort: skip
from moderation.store import aggregates, authors, batches, claims, reports  # noqa: E402, F401  isort: skip

__all__ = ["Article", "Base", "Comment", "Database", "Decision", "RuleHit", "RuleSetVersion", "TriageResult", "User",
           "make_engine", "migrate"]
