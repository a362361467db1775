"""Webhook delivery: POSTs signed as Standard Webhooks, retried with exponential backoff from the outbox."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Callable, Mapping

from moderation.store import webhooks as outbox
from moderation.store.webhooks import signing_key

if TYPE_CHECKING:
    import httpx
    from moderation.config import Config
    from moderation.store import Database

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds per attempt; a slow receiver is retried later, it does not hold a worker
TOLERANCE = 300  # seconds a receiver should accept between the signature's time and its clock (the standard's 5 min)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value: "v1," + base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"."""
    mac = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = TOLERANCE,
           now: float | None = None) -> bool:
    """What a receiver does: one of the listed signatures matches, and it is recent (against replays)."""
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body).encode()
    return any(hmac.compare_digest(expected, given.encode()) for given in signatures)


def _post(client: httpx.Client, job: outbox.Job) -> tuple[int | None, str | None, float]:
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode()
    msg_id, timestamp = str(job.delivery_id), int(time.time())  # the id is the same on every retry: receivers dedupe
    headers = {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(job.secret, msg_id, timestamp, body),
               "Moderation-Event": job.event, "Moderation-Delivery": msg_id,
               "User-Agent": "moderation-desk-webhooks"}
    import httpx  # noqa: PLC0415 - only a process that delivers pays for importing the HTTP client

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
    deliveries it has seen by their `cursor` or the webhook-id header.
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
    import httpx  # noqa: PLC0415

    global _CLIENT
    if _CLIENT is None:
        _CLIENT = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    return _CLIENT
