"""The model registry: every trained model version with its bytes, card and metrics, and which one is active.

The database holds the model files themselves, so every web and worker machine reads the same model; a partial
unique index lets at most one row be active, and every activation and rollback is logged (who, when, from what).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import (Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, func, select, text,
                        update)
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column

from moderation.store.database import serialize
from moderation.store.models import Base, Json, UTCDateTime, utcnow

MODEL_LOCK = 0x6D6F6468  # PostgreSQL advisory lock key: while the active model changes


class ModelVersion(Base):
    __tablename__ = "models"
    __table_args__ = (Index("uq_models_one_active", "active", unique=True, sqlite_where=text("active"),
                            postgresql_where=text("active")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(200), unique=True)  # "<name>-<n>", what scores record
    path: Mapped[str | None] = mapped_column(Text)  # where a file-era model was read from; None when trained here
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # the skops file; loaded only when used
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict] = mapped_column(Json, default=dict)  # the comparison on held-out decisions
    card: Mapped[dict] = mapped_column(Json, default=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "created_by": self.created_by, "active": self.active, "metrics": self.metrics,
                "evaluated": bool(self.metrics)}


class ModelActivation(Base):
    """Append-only: which model went live (None: the shipped one), replacing which, when, by whom."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    action: Mapped[str] = mapped_column(String(20))  # activate | rollback | import
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def next_version(session: Session, name: str) -> str:
    count = session.scalar(select(func.count()).where(ModelVersion.name == name))
    return f"{name}-{count + 1}"


def add(session: Session, name: str, version: str, data: bytes, card: dict, created_by: str,
        path: str | None = None) -> ModelVersion:
    row = ModelVersion(name=name, version=version, data=data, sha256=hashlib.sha256(data).hexdigest(), card=card,
                       created_by=created_by, path=path)
    session.add(row)
    session.flush()
    return row


def get(session: Session, version: str) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.version == version)).first()


def active(session: Session) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()


def active_sha(session: Session) -> str | None:
    """What processes poll every few seconds: the active model's checksum (None: the shipped model)."""
    return session.scalar(select(ModelVersion.sha256).where(ModelVersion.active.is_(True)))


def all_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id)))


def history(session: Session, limit: int = 50) -> list[dict]:
    """The activation log, newest first: action, version, previous (None: the shipped model), actor, at, note."""
    names = {i: v for i, v in session.execute(select(ModelVersion.id, ModelVersion.version))}
    entries = session.scalars(select(ModelActivation).order_by(ModelActivation.id.desc()).limit(limit))
    return [{"action": a.action, "version": names.get(a.model_id), "previous": names.get(a.previous_id),
             "actor": a.actor, "at": a.created_at.isoformat(), "note": a.note} for a in entries]


def activate(session: Session, row: ModelVersion | None, actor: str, action: str = "activate",
             note: str = "") -> ModelActivation:
    """Make `row` the only active model (None: back to the shipped one), and log it."""
    serialize(session, MODEL_LOCK)
    current = active(session)
    session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    session.flush()
    if row is not None:
        row.active = True
    entry = ModelActivation(model_id=row.id if row else None, previous_id=current.id if current else None,
                            action=action, actor=actor, note=note)
    session.add(entry)
    session.flush()
    return entry


def rollback(session: Session, actor: str) -> ModelVersion | None:
    """Re-activate the model that was active before the newest activation (twice in a row toggles back)."""
    serialize(session, MODEL_LOCK)
    newest = session.scalars(select(ModelActivation).order_by(ModelActivation.id.desc()).limit(1)).first()
    if newest is None:
        raise LookupError("no model was ever activated: the shipped model is in use")
    previous = session.get(ModelVersion, newest.previous_id) if newest.previous_id else None
    activate(session, previous, actor, "rollback", f"back from activation {newest.id}")
    return previous


def adopt_files(session: Session, instance_path: Path) -> ModelVersion | None:
    """Once per database: the file-era pointer instance/models/active.json and the files of registered versions
    move into the registry (bytes checked against the recorded sha256); returns the model it activated."""
    serialize(session, MODEL_LOCK)
    for row in session.scalars(select(ModelVersion).where(ModelVersion.data.is_(None), ModelVersion.path.is_not(None))):
        data = _read(Path(row.path))
        if data is not None and hashlib.sha256(data).hexdigest() == row.sha256:
            row.data = data
    if session.scalar(select(func.count()).select_from(ModelActivation)):
        return None  # the registry has been in charge already: an old pointer must not override it
    pointer = Path(instance_path) / "models" / "active.json"
    row = active(session)
    if row is None and pointer.is_file():
        entry = json.loads(pointer.read_text())
        row = get(session, entry["version"])
        data = _read(Path(entry["path"]))
        if row is None and data is not None and hashlib.sha256(data).hexdigest() == entry["sha256"]:
            row = add(session, entry["version"].rsplit("-", 1)[0], entry["version"], data, {}, "system",
                      entry["path"])
    if row is None:
        return None
    activate(session, row, "system", "import", f"imported from {pointer}" if pointer.is_file() else "file era")
    return row


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
