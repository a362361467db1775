"""What every request shares: the configuration, the database, and the assessment pipeline."""
from __future__ import annotations

import threading
import time

from flask import current_app

from moderation.assess.pipeline import Pipeline
from moderation.config import Config
from moderation.learning.registry import stored_models
from moderation.store import Database, models_registry, revisions
from moderation.worker import tasks

RULES_CHECK_SECONDS = 5.0  # how soon another process's rule or model activation reaches this one


class Desk:
    """Built once per app; the database opens and the pipeline loads on first use."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._url = config.effective_database_url
        self._db: Database | None = None
        self._pipeline: Pipeline | None = None
        self._revision: int | None = None
        self._model: str | None = None  # the active registry model's sha256 the pipeline was built with
        self._checked = 0.0
        self._lock = threading.Lock()

    @property
    def db(self) -> Database:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = tasks.bind_webhooks(Database(self._url), self.config)
        return self._db

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline with the active rule revision and model; rebuilt when any process activates another."""
        now = time.monotonic()
        if self._pipeline is None or now - self._checked > RULES_CHECK_SECONDS:
            with self._lock:
                with self.db.session() as session:
                    live = revisions.active(session)
                    if (self._pipeline is None or live is None or live.id != self._revision
                            or models_registry.active_sha(session) != self._model):
                        ruleset = revisions.active_ruleset(session, self.config.rules_path)
                        self._revision = revisions.active(session).id
                        stored = stored_models(session, self.config)
                        self._model = models_registry.active_sha(session)
                        # Requests under way finish with the pipeline they started with.
                        self._pipeline = Pipeline.from_config(self.config, ruleset, stored)
                self._checked = now
        return self._pipeline

    def models_changed(self) -> None:
        """Rebuild the pipeline on next use: this process just activated another model."""
        with self._lock:
            self._pipeline = None

    def rules_changed(self) -> None:
        """Look for a new active revision on the next use (this process just activated one)."""
        self._checked = 0.0


def desk() -> Desk:
    return current_app.extensions["desk"]
