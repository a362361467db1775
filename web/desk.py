"""What every request shares: the configuration, the database, and the live assessment pipeline."""
from __future__ import annotations

import threading

from flask import current_app

from moderation.assess.pipeline import Pipeline
from moderation.config import Config
from moderation.services.live import LivePipeline
from moderation.store import Database
from moderation.worker import tasks


class Desk:
    """Built once per app; the database opens and the pipeline loads on first use."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._url = config.effective_database_url
        self._db: Database | None = None
        self._lock = threading.Lock()
        self.live = LivePipeline(lambda: self.db, config)

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
        return self.live.get()

    def models_changed(self) -> None:
        """Rebuild the pipeline on next use: this process just activated another model."""
        self.live.rebuild_next()

    def rules_changed(self) -> None:
        """Look for a new active revision on the next use (this process just activated one)."""
        self.live.check_next()


def desk() -> Desk:
    return current_app.extensions["desk"]
