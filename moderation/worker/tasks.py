"""Celery tasks: deep scoring, triage batches, webhook delivery, housekeeping.

Importing this module configures nothing: each start-up point calls configure(settings) with its own
database. The broker comes from the settings (MODERATION_BROKER_URL); without one, every task runs inline
where it is called. Start workers with `moderation worker` (or `celery -A moderation.worker.tasks worker`, which
asks for `celery` and so wires the app from the settings then); exactly one of them with `--beat` runs the
periodic sweeps (webhook retries, expired idempotency keys).
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Callable

from celery import Celery, Task, group
from celery.signals import worker_init, worker_process_init
from sqlalchemy.exc import OperationalError

from moderation.services import jobs
from moderation.integrations import webhooks
from moderation.config import Config
from moderation.store import Database, apikeys
from moderation.store import webhooks as outbox

if TYPE_CHECKING:
    from moderation.assess.pipeline import Pipeline

log = logging.getLogger(__name__)
RETRY_DB = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}
_TASKS: list[tuple[Callable, dict]] = []  # bound to a fresh Celery app by configure()
BOUND = ("celery", "runtime", "deep_score", "triage_batch", "deliver_webhook", "deliver_webhooks",
         "purge_idempotency", "refresh_aggregates")  # module attributes that exist once configure() ran
AGGREGATES_EVERY = 300.0  # seconds between the beat's staleness checks (a check is one indexed statement)
REQUEST_GAP = 60.0  # a process asks the workers for a refresh at most this often


def _task(**options: object) -> Callable[[Callable], Callable]:
    def register(function: Callable) -> Callable:
        _TASKS.append((function, options))
        return function
    return register


class Runtime:
    """What tasks need, opened on first use in each worker process."""

    def __init__(self, config: Config, db: Callable[[], Database] | None = None) -> None:
        self.config = config
        self._db_factory = db
        self._db: Database | None = None
        self._live = None
        self._lock = threading.Lock()

    @property
    def live(self):  # noqa: ANN201 - moderation.services.live.LivePipeline
        """The live pipeline with every scorer: the fast ones and the deep ones workers exist for."""
        from moderation.services.live import LivePipeline  # noqa: PLC0415 - scikit-learn on first use

        with self._lock:  # one per process: two would each build a pipeline
            if self._live is None:
                scorers = tuple(dict.fromkeys(self.config.scorers + self.config.deep_scorers))
                self._live = LivePipeline(lambda: self.db, self.config, scorers=scorers)
            return self._live

    @property
    def db(self) -> Database:
        with self._lock:
            if self._db is None:
                self._db = (self._db_factory() if self._db_factory else
                            bind_webhooks(Database(self.config.effective_database_url), self.config))
            return self._db

    @property
    def pipeline(self) -> "Pipeline":
        """The full pipeline (fast and deep scorers) of the active rule revision and model."""
        return self.live.get()

    def forked(self) -> None:
        """In a new worker process: its own connections, never the parent's (they are not safe to share)."""
        with self._lock:
            if self._db is not None and self._db_factory is None:
                self._db.engine.dispose(close=False)  # leaves the parent's connections to the parent
            self._db = None


# Bound by configure(): the Celery app, what tasks run against, and each task on that app.
celery: Celery
runtime: Runtime
deep_score: Task
triage_batch: Task
deliver_webhook: Task
deliver_webhooks: Task
purge_idempotency: Task
refresh_aggregates: Task


def configure(config: Config, db: Callable[[], Database] | None = None) -> Celery:
    """Point the tasks at a desk: its broker (inline without one) and its database.

    Each call builds a fresh Celery app: Celery caches connections and routes on first use, which must not
    outlive a change of broker (tests, `moderation triage --queue` after the web app configured its own).
    """
    global celery, runtime
    broker = config.broker_url
    app = Celery("moderation", set_as_current=False)
    app.conf.update(
        broker_url=broker or "memory://", result_backend=config.effective_redis_url or None,
        task_always_eager=not broker, task_eager_propagates=True, task_default_queue=config.task_queue,
        task_serializer="json", accept_content=["json"], result_serializer="json", result_expires=3600,
        # A task is acknowledged when done, so a worker lost mid-task hands it to another (tasks are idempotent).
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        beat_schedule_filename=str(config.instance_path / "celerybeat-schedule"),
        beat_schedule={
            "webhook-retries": {"task": "moderation.deliver_webhooks", "schedule": 30.0},
            "idempotency-purge": {"task": "moderation.purge_idempotency", "schedule": 3600.0},
            "aggregates-refresh": {"task": "moderation.refresh_aggregates", "schedule": AGGREGATES_EVERY},
        })
    for function, options in _TASKS:
        name = function.__name__.lstrip("_")
        globals()[name] = app.task(name=f"moderation.{name}", **options)(function)
    celery, runtime = app, Runtime(config, db)
    worker_process_init.connect(_forked, weak=False, dispatch_uid="moderation.worker.tasks.forked")
    worker_init.connect(_started, weak=False, dispatch_uid="moderation.worker.tasks.started")
    return app


def _forked(**_: object) -> None:
    runtime.forked()
    _warm()


def _started(sender: object = None, **_: object) -> None:
    """A worker whose pool runs tasks in this process (threads, solo) warms here; a prefork pool's children
    warm each after the fork (_forked), so that no model is loaded in the parent before it forks."""
    pool = getattr(sender, "pool_cls", None) or "prefork"  # a name or a class here; Celery's default is prefork
    if "prefork" not in (pool if isinstance(pool, str) else getattr(pool, "__module__", "")):
        _warm()


def _warm() -> None:
    """Assess the built-in comments with the full pipeline before the first task (moderation.assess.warmup)."""
    from moderation.assess.warmup import warm  # noqa: PLC0415

    try:
        done = warm(runtime.pipeline)
    except Exception:  # noqa: BLE001 - a worker that cannot warm still starts; its first task pays instead
        log.exception("warm-up failed")
        return
    log.info("warmed up: %d comments in %.2f s CPU", done.comments, done.cpu_seconds)


def __getattr__(name: str) -> object:
    """`celery -A moderation.worker.tasks` looks up `celery`: the worker's start-up, wired from the settings."""
    if name == "celery":
        return configure(Config.from_env())
    if name in BOUND:
        raise AttributeError(_UNCONFIGURED.format(name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_UNCONFIGURED = "moderation.worker.tasks.{}: not configured; the start-up point calls configure(settings)"


def _bound(name: str) -> Task:
    """A task of the configured app; a clear error where a start-up point forgot configure()."""
    try:
        return globals()[name]
    except KeyError:
        raise RuntimeError(_UNCONFIGURED.format(name)) from None


@_task(bind=True, **RETRY_DB)
def _deep_score(self: Task, comment_id: int) -> dict:
    """Slow scorers for one comment after its live verdict; a scorer outage is retried with backoff, and
    after the last retry (at once when inline) the incomplete result sends the comment to a human."""
    try:
        return jobs.deep_assess(runtime.db, runtime.pipeline, comment_id, runtime.config.deep_scorers,
                                accept_incomplete=self.request.is_eager or self.request.retries >= self.max_retries)
    except jobs.Incomplete as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2 ** self.request.retries)) from None


@_task(**RETRY_DB)
def _triage_batch(ids: list[int], run: str, rescore: bool) -> dict:
    return jobs.triage_batch(runtime.db, runtime.pipeline, ids, run, rescore=rescore)


def triage_queued(db: Database, *, rescore: bool, batch_size: int = 500, wait: float = 24 * 3600) -> dict:
    """`moderation triage --queue`: batches of comment ids to the workers, their summaries added up."""
    from sqlalchemy import select  # noqa: PLC0415

    from moderation.store.models import Comment  # noqa: PLC0415

    query = select(Comment.id).order_by(Comment.id)
    with db.session() as session:
        ids = list(session.scalars(query if rescore else query.where(Comment.triage_id.is_(None))))
    run = uuid.uuid4().hex
    batches = [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
    results = group(triage_batch.s(batch, run, rescore) for batch in batches).apply_async().get(timeout=wait) \
        if batches else []
    total: Counter = Counter()
    for result in results:
        total.update({k: v for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)})
    last = results[-1] if results else {"ruleset_version": runtime.pipeline.ruleset.version,
                                        "scorers": runtime.pipeline.scorer_versions, "scorer_problems": []}
    return {**{k: total[k] for k in ("triaged", "approve", "hold", "reject", "kept_human_decision", "flagged",
                                     "with_failures")},
            "ruleset_version": last["ruleset_version"], "scorers": last["scorers"],
            "scorer_problems": last.get("scorer_problems", []), "batches": len(batches)}


@_task(**RETRY_DB)
def _deliver_webhook(delivery_id: int) -> list:
    """One delivery; when it fails, the next attempt is scheduled with the backoff the outbox set."""
    base = runtime.config.webhook_retry_seconds
    results = webhooks.deliver(runtime.db, delivery_id=delivery_id, retry_base=base)
    for _, state in results:
        if state == "pending" and not celery.conf.task_always_eager:
            with runtime.db.session() as session:
                attempts = session.get(outbox.WebhookDelivery, delivery_id).attempts
            deliver_webhook.apply_async((delivery_id,), countdown=outbox.backoff(attempts, base).total_seconds())
    return results


@_task()
def _deliver_webhooks() -> list:
    """Every due delivery: retries, and any whose message was lost."""
    return webhooks.deliver(runtime.db, retry_base=runtime.config.webhook_retry_seconds)


@_task()
def _purge_idempotency() -> int:
    with runtime.db.session() as session:
        return apikeys.purge_idempotency(session)


@_task(**RETRY_DB)
def _refresh_aggregates(force: bool = False) -> dict:
    """The research and model pages' figures, recomputed when the data changed since the last refresh."""
    from moderation.research.aggregates import refresh  # noqa: PLC0415 - numpy and scikit-learn on first use
    from moderation.research.pseudonyms import for_config  # noqa: PLC0415

    return refresh(runtime.db, for_config(runtime.config), force=force)


_refreshing = threading.Lock()
_requested = [float("-inf")]


def request_refresh() -> str:
    """Ask for a refresh without waiting: to the workers when there is a broker, else in a background thread.

    Called after imports and triage and by a page that found its figures stale; requests closer together than
    REQUEST_GAP (or while this process's own refresh runs) are dropped, since one refresh serves them all.
    """
    import time  # noqa: PLC0415

    task = _bound("refresh_aggregates")
    if not celery.conf.task_always_eager:
        if time.monotonic() - _requested[0] < REQUEST_GAP:
            return "requested recently"
        _requested[0] = time.monotonic()
        task.delay()
        return "queued"
    if not _refreshing.acquire(blocking=False):
        return "running"

    def run() -> None:
        try:
            task.apply()
        except Exception:  # noqa: BLE001 - a background refresh must not kill the process; the page stays stale
            log.exception("aggregates refresh failed")
        finally:
            _refreshing.release()

    threading.Thread(target=run, name="aggregates-refresh", daemon=True).start()
    return "started"


def bind_webhooks(db: Database, config: Config) -> Database:
    """The database sends its committed deliveries to the workers when there is a broker, else delivers them."""
    return webhooks.bind(db, config, enqueue_deliveries if config.broker_url else None)


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Hand committed deliveries to the workers (see webhooks.dispatcher)."""
    task = _bound("deliver_webhook")
    for delivery_id in delivery_ids:
        task.delay(delivery_id)

