"""Webhook delivery: signed POSTs (Stripe-style `t=…,v1=…`), retried with exponential backoff from the outbox."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Callable

import httpx

from moderation.store import webhooks as outbox

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.store import Database

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Moderation-Signature"
TIMEOUT = 5.0  # seconds per attempt; a slow receiver is retried later, it does not hold a worker
TOLERANCE = 300  # seconds a receiver should accept between the signature's time and its clock


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header for a body: HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and is recent (against replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split(",", 1)[1].removeprefix("v1=")
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _post(client: httpx.Client, job: outbox.Job) -> tuple[int | None, str | None, float]:
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(job.secret, body),
               "Moderation-Event": job.event, "Moderation-Delivery": str(job.delivery_id),
               "User-Agent": "moderation-desk-webhooks"}
    start = time.perf_counter()
    try:
        response = client.post(job.url, content=body, headers=headers)
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return response.status_code, error, (time.perf_counter() - start) * 1000
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - start) * 1000


def deliver(db: "Database", *, delivery_id: int | None = None, limit: int = 50,
            retry_base: float = 30.0) -> list[tuple[int, str]]:
    """Attempt the due deliveries (or just the one given, if it is due): [(delivery id, new state)].

    Delivery is at least once: a receiver may see an event twice (after a lost answer) and should skip
    deliveries it has seen by their `cursor` or the Moderation-Delivery header.
    """
    with db.session() as session:
        jobs = outbox.claim(session, delivery_id=delivery_id, limit=limit)
    results = []
    for job in jobs:
        status, error, took = _post(_client(), job)
        with db.session() as session:
            state = outbox.finish(session, job, status_code=status, error=error, duration_ms=took,
                                  retry_base=retry_base)
        results.append((job.delivery_id, state))
    return results


Enqueue = Callable[[list[int]], None]


def dispatcher(db: "Database", config: "Config", enqueue: Enqueue | None = None) -> Enqueue:
    """What `db` runs after a commit that queued deliveries: hand them to the workers (`enqueue`, given by a
    start-up point with a broker) or deliver them here, always from and to this database."""
    def send(delivery_ids: list[int]) -> None:
        try:
            if enqueue is not None:
                enqueue(delivery_ids)
            else:
                deliver(db, retry_base=config.webhook_retry_seconds)  # also retries whatever else is due
        except Exception:  # noqa: BLE001 - the outbox keeps them; the periodic sweep delivers them later
            log.exception("webhook dispatch failed; deliveries stay queued")
    return send


def bind(db: "Database", config: "Config", enqueue: Enqueue | None = None) -> "Database":
    """Send this database's committed deliveries (called where a process opens its database)."""
    db.dispatch = dispatcher(db, config, enqueue)
    return db


_CLIENT: httpx.Client | None = None


def _client() -> httpx.Client:
    """One client per process (thread-safe): its connections and TLS setup are reused across deliveries."""
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    return _CLIENT
