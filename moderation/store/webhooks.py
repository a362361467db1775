"""Webhook endpoints per site, and the outbox: one delivery per (event, endpoint), with every attempt logged."""
from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store import events
from moderation.store.events import Event
from moderation.store.models import Base, Json, UTCDateTime, utcnow

MAX_ATTEMPTS = 10
MAX_DELAY = timedelta(hours=6)
PENDING_KEY = "webhook_deliveries"  # session.info: deliveries to dispatch once the transaction commits
SECRET_PREFIX = "whsec_"  # Standard Webhooks: the prefix, then the HMAC key in base64


class WebhookError(ValueError):
    """An endpoint that cannot be added or found as asked."""


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))  # HMAC key (see signing_key); needed in clear to sign
    events: Mapped[list] = mapped_column(Json, default=list)  # event types to send; empty: all
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint: pending until a 2xx answer, failed after MAX_ATTEMPTS."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Base):
    """The delivery log: every POST, its answer or error, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)


@dataclass
class Job:
    """A claimed delivery with what the POST needs, detached from the session."""

    delivery_id: int
    attempt: int
    url: str
    secret: str
    event: str
    payload: dict


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: whsec_ + base64 decoded, as Standard Webhooks verifiers read it; any other
    secret (chosen before the standard, e.g. with --secret) is its own UTF-8 bytes, so it keeps working."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX):]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            key = b""
        if key:
            return key
    return secret.encode()


def standard_secret(secret: str) -> str:
    """The same key as a Standard Webhooks secret, for a receiver's ready verifier (itself when already one)."""
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode()


def add_endpoint(session: Session, site: str, url: str, *, secret: str | None = None,
                 event_types: tuple[str, ...] = ()) -> WebhookEndpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebhookError(f"a webhook URL is http(s)://host/path, got {url!r}")
    unknown = set(event_types) - set(events.TYPES)
    if unknown:
        raise WebhookError(f"unknown event types {', '.join(sorted(unknown))}; known: {', '.join(events.TYPES)}")
    if secret and secret.startswith(SECRET_PREFIX) and signing_key(secret) == secret.encode():
        raise WebhookError(f"a secret starting with {SECRET_PREFIX} is followed by the key in base64")
    secret = secret or SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint = WebhookEndpoint(site=site.strip(), url=url, secret=secret,
                               events=list(event_types))
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints(session: Session, site: str | None = None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.site, WebhookEndpoint.id)
    return list(session.scalars(query.where(WebhookEndpoint.site == site) if site else query))


def deactivate(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    endpoint.active = False
    return endpoint


def _fan_out(session: Session, event: Event) -> None:
    """Queue the event for each active endpoint of its site, in the event's own transaction."""
    targets = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.site == event.site,
                                                            WebhookEndpoint.active.is_(True)))
    for endpoint in targets:
        if endpoint.events and event.type not in endpoint.events:
            continue
        delivery = WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, next_attempt_at=utcnow())
        session.add(delivery)
        session.flush()
        session.info.setdefault(PENDING_KEY, []).append(delivery.id)


events.ON_EVENT.append(_fan_out)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    """Deliveries go out once their transaction has committed, through the dispatcher of the database written to.

    Without one (a process that set none up) they wait in the outbox for the periodic sweep.
    """
    ids = session.info.pop(PENDING_KEY, None)
    send = getattr(session.info.get("database"), "dispatch", None)
    if ids and send is not None:
        send(ids)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def claim(session: Session, *, delivery_id: int | None = None, limit: int = 50,
          lease: timedelta = timedelta(minutes=2)) -> list[Job]:
    """Due deliveries (or the one asked for, if due), leased to the caller.

    SKIP LOCKED lets several workers claim at once without waiting on each other; the lease moves the
    next attempt forward, so a worker that dies mid-POST hands the delivery back when the lease runs out.
    """
    now = utcnow()
    query = (select(WebhookDelivery).where(WebhookDelivery.state == "pending",
                                           WebhookDelivery.next_attempt_at <= now)
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
             .with_for_update(skip_locked=True))
    if delivery_id is not None:
        query = query.where(WebhookDelivery.id == delivery_id)
    jobs = []
    for delivery in session.scalars(query):
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(Event, delivery.event_id)
        jobs.append(Job(delivery.id, delivery.attempts, endpoint.url, endpoint.secret, event.type, event.payload))
    session.flush()
    return jobs


def backoff(attempt: int, base_seconds: float) -> timedelta:
    """Wait before the next attempt: base, 2 base, 4 base, ..., at most six hours."""
    return min(timedelta(seconds=base_seconds * 2 ** (attempt - 1)), MAX_DELAY)


def finish(session: Session, job: Job, *, status_code: int | None, error: str | None, duration_ms: float,
           retry_base: float) -> str:
    """Log the attempt and settle the delivery: delivered, pending (a later retry), or failed."""
    delivery = session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
    session.add(WebhookAttempt(delivery_id=job.delivery_id, status_code=status_code, error=error,
                               duration_ms=duration_ms))
    delivery.last_status, delivery.last_error = status_code, error
    now = utcnow()
    if status_code is not None and 200 <= status_code < 300:
        delivery.state, delivery.delivered_at = "delivered", now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = "failed"
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, retry_base)
    session.flush()
    return delivery.state


def log(session: Session, *, limit: int = 50, state: str | None = None) -> list[tuple]:
    """Recent deliveries with their endpoint and event, newest first."""
    query = (select(WebhookDelivery, WebhookEndpoint.url, Event.type, Event.payload)
             .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
             .join(Event, Event.id == WebhookDelivery.event_id)
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if state:
        query = query.where(WebhookDelivery.state == state)
    return list(session.execute(query))
