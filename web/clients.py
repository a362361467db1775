"""What the API and the Akismet verbs share: key checks, rate limits, storing a submission, deep scoring."""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from flask import Flask, Response, current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.services import ingest
from moderation.worker import tasks
from moderation.integrations.ratelimit import Allowance, Limiter
from moderation.store import apikeys
from web.desk import desk

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BODY = 64 * 1024  # one comment with its fields; the app's own limit is for forms
KEY_CACHE_SECONDS = 10.0  # saves a query per request; revoked keys are refused within this time


def setup(app: Flask) -> None:
    """Once per app: the shared rate limiter, and tasks pointed at this desk's database and broker."""
    if "ratelimit" in app.extensions:
        return
    the_desk = app.extensions["desk"]
    app.extensions["ratelimit"] = Limiter(the_desk.config.effective_redis_url, prefix=the_desk.config.task_queue)
    app.extensions["api_keys"] = {}  # key digest -> (client or None, valid until)
    tasks.configure(the_desk.config, db=lambda: the_desk.db)


def authenticate(key: str) -> apikeys.Client | None:
    """The key's client; answers are kept KEY_CACHE_SECONDS per process (so a revocation takes that long)."""
    cache = current_app.extensions["api_keys"]
    digest = apikeys.digest(key)
    hit = cache.get(digest)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    with desk().db.session() as session:
        client = apikeys.authenticate(session, key)
    ttl = current_app.config.get("API_KEY_CACHE_SECONDS", KEY_CACHE_SECONDS)
    if ttl > 0:
        if len(cache) > 1000:
            cache.clear()
        cache[digest] = (client, time.monotonic() + ttl)
    return client


def allowance(client: apikeys.Client) -> Allowance:
    limit = client.rate_limit or desk().config.api_rate_limit
    return current_app.extensions["ratelimit"].hit(str(client.key_id), limit)


def rate_headers(allowed: Allowance) -> dict[str, str]:
    headers = {"RateLimit-Limit": str(allowed.limit), "RateLimit-Remaining": str(allowed.remaining),
               "RateLimit-Reset": str(allowed.reset)}
    if not allowed.allowed:
        headers["Retry-After"] = str(allowed.reset)
    return headers


def transaction(work: Callable[[Session], T]) -> T:
    """Run work in one transaction; once more when a concurrent twin (same comment, same idempotency key)
    made it fail on a unique key, so the second run finds what the twin stored."""
    for attempt in (1, 2):
        try:
            with desk().db.session() as session:
                return work(session)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def submitter(batch) -> Callable[[Session], ingest.Verdict]:  # noqa: ANN001 - an ImportBatch of one
    """Work for transaction(): store and assess the comment. The pipeline is taken first, outside the
    transaction: finding the active rule revision uses a session of its own."""
    pipeline = desk().pipeline
    return lambda session: ingest.submit(session, pipeline, batch)


def after_response(response: Response, verdict: ingest.Verdict) -> Response:
    """A new comment gets its deep score once the verdict has gone out (a worker, or inline after the answer)."""
    if verdict.created and desk().config.deep_scorers:
        def enqueue() -> None:
            try:
                tasks.deep_score.delay(verdict.comment_id)
            except Exception:  # noqa: BLE001 - the verdict stands; `moderation triage --deep` catches up later
                log.exception("deep scoring of comment %s not queued", verdict.comment_id)
        response.call_on_close(enqueue)
    return response
