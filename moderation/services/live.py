"""The live pipeline: built from the active rule revision and model, rebuilt when another process activates either."""
from __future__ import annotations

import threading
import time
from typing import Callable

from moderation.assess.pipeline import Pipeline
from moderation.config import Config
from moderation.learning.registry import stored_models
from moderation.store import Database, models_registry, revisions

CHECK_SECONDS = 5.0  # how soon another process's rule or model activation reaches this one


class LivePipeline:
    """One per process (web app or worker): get() looks in the database at most every `interval` seconds.

    The web desk scores with `config.scorers`; workers pass `scorers` with the deep ones added.
    """

    def __init__(self, db: Callable[[], Database], config: Config, *, scorers: tuple[str, ...] | None = None,
                 interval: float = CHECK_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db  # a callable: the database opens on first use, in the process that uses it
        self.config = config if scorers is None else config.model_copy(update={"scorers": scorers})
        self.interval = interval
        self._clock = clock
        self._pipeline: Pipeline | None = None
        self._built_from: tuple[int | None, str | None] | None = None  # (rule revision id, model sha256)
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self) -> Pipeline:
        """The pipeline of the active revision and model; requests under way keep the one they started with."""
        now = self._clock()
        pipeline = self._pipeline
        if pipeline is not None and now - self._checked <= self.interval:
            return pipeline
        db = self._db()  # outside the lock: opening the database may take the caller's own lock
        with self._lock:
            if self._pipeline is None or now - self._checked > self.interval:
                with db.session() as session:
                    live = revisions.active(session)
                    current = (live.id if live else None, models_registry.active_sha(session))
                    if self._pipeline is None or live is None or current != self._built_from:
                        ruleset = revisions.active_ruleset(session, self.config.rules_path)  # bootstraps one
                        stored = stored_models(session, self.config)
                        self._built_from = (revisions.active(session).id, models_registry.active_sha(session))
                        self._pipeline = Pipeline.from_config(self.config, ruleset, stored)
                self._checked = now
            return self._pipeline

    def check_next(self) -> None:
        """Look in the database on the next get() (this process just activated a rule revision)."""
        self._checked = float("-inf")

    def rebuild_next(self) -> None:
        """Rebuild on the next get() (this process just activated a model)."""
        with self._lock:
            self._pipeline = None
