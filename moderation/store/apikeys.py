"""API keys (one site each, stored hashed) and the idempotency keys their requests may carry."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.domain.vocabulary import DEFAULT_SCOPES, SCOPES  # noqa: F401 - re-exported
from moderation.store.models import Base, Json, UTCDateTime, utcnow

# post comments / read status and the feed / send spam-ham corrections / send decisions taken elsewhere (migrations)
IDEMPOTENCY_TTL = timedelta(hours=24)
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


class ApiKeyError(ValueError):
    """A key that cannot be created or found as asked."""


class ApiKey(Base):
    """A site's key for the live API and the Akismet verbs; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(200), index=True)  # the comments' source name
    label: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a key in lists
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(Json, default=lambda: list(DEFAULT_SCOPES))
    rate_limit: Mapped[int | None] = mapped_column(Integer)  # requests per minute; None: the desk's default
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(Base):
    """The stored answer to a request sent with an Idempotency-Key, replayed when the key comes again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_api_key_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


@dataclass(frozen=True)
class Client:
    """An authenticated key, detached from the session."""

    key_id: int
    site: str
    scopes: frozenset[str]
    rate_limit: int | None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(session: Session, site: str, *, label: str | None = None,
           scopes: tuple[str, ...] = DEFAULT_SCOPES, rate_limit: int | None = None) -> tuple[ApiKey, str]:
    """A new key for a site; the plain key is returned once and never stored."""
    site = site.strip()
    if not site or len(site) > 200:
        raise ApiKeyError("a site name has 1 to 200 characters")
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ApiKeyError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(sorted(unknown)) or 'none'}")
    if rate_limit is not None and rate_limit < 1:
        raise ApiKeyError("a rate limit is at least 1 request per minute")
    # Hex only: CMS plugins written for Akismet strip every other character from the key they are given.
    plain = secrets.token_hex(20)
    key = ApiKey(site=site, label=label, prefix=plain[:8], key_hash=digest(plain), scopes=list(scopes),
                 rate_limit=rate_limit)
    session.add(key)
    session.flush()
    return key, plain


def authenticate(session: Session, plain: str) -> Client | None:
    """The active key with this value, or None."""
    if not plain or len(plain) > 200:
        return None
    key = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest(plain),
                                               ApiKey.revoked_at.is_(None))).first()
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Client(key.id, key.site, frozenset(key.scopes), key.rate_limit)


def find(session: Session, ref: str) -> ApiKey:
    """A key by id or by its prefix."""
    query = select(ApiKey).where(ApiKey.id == int(ref)) if ref.isdigit() and len(ref) < 8 else \
        select(ApiKey).where(ApiKey.prefix == ref[:16])
    found = list(session.scalars(query))
    if len(found) != 1:
        raise ApiKeyError(f"no key {ref!r}" if not found else f"{len(found)} keys start with {ref!r}; use the id")
    return found[0]


def revoke(session: Session, ref: str) -> ApiKey:
    key = find(session, ref)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def keys(session: Session, site: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.site, ApiKey.id)
    return list(session.scalars(query.where(ApiKey.site == site) if site else query))


class IdempotencyMismatch(ValueError):
    """The idempotency key was used before for a different request."""


def replay(session: Session, key_id: int, key: str, request_hash: str) -> IdempotencyKey:
    """The stored answer for this key, or a new row to fill in.

    The row is inserted in the caller's transaction: a concurrent request with the same key waits on the
    unique index and, once this one commits, fails with IntegrityError; the caller retries and gets the answer.
    """
    row = session.scalars(select(IdempotencyKey).where(
        IdempotencyKey.api_key_id == key_id, IdempotencyKey.key == key,
        IdempotencyKey.created_at > utcnow() - IDEMPOTENCY_TTL)).first()
    if row is not None:
        if row.request_hash != request_hash:
            raise IdempotencyMismatch(f"idempotency key {key!r} was used for a different request")
        return row
    session.execute(IdempotencyKey.__table__.delete().where(
        IdempotencyKey.api_key_id == key_id, IdempotencyKey.key == key))  # an expired one
    row = IdempotencyKey(api_key_id=key_id, key=key, request_hash=request_hash)
    session.add(row)
    session.flush()
    return row


def purge_idempotency(session: Session) -> int:
    """Forget answers older than a day."""
    result = session.execute(IdempotencyKey.__table__.delete().where(
        IdempotencyKey.created_at <= utcnow() - IDEMPOTENCY_TTL))
    return result.rowcount or 0
