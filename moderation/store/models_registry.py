"""The model registry: every trained model version, its metrics and card, and which one is active."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import Boolean, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.models import Base, Json, UTCDateTime, utcnow


class ModelVersion(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(200), unique=True)  # "<name>-<n>", what scores record
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict] = mapped_column(Json, default=dict)  # the comparison on held-out decisions
    card: Mapped[dict] = mapped_column(Json, default=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "path": self.path, "sha256": self.sha256,
                "created_at": self.created_at.isoformat() if self.created_at else None, "active": self.active,
                "metrics": self.metrics, "evaluated": bool(self.metrics)}


def next_version(session: Session, name: str) -> str:
    count = len(session.scalars(select(ModelVersion.id).where(ModelVersion.name == name)).all())
    return f"{name}-{count + 1}"


def add(session: Session, name: str, version: str, path: Path, sha256: str, card: dict) -> ModelVersion:
    row = ModelVersion(name=name, version=version, path=str(path), sha256=sha256, card=card)
    session.add(row)
    session.flush()
    return row


def get(session: Session, version: str) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.version == version)).first()


def active(session: Session) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()


def all_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id)))


def activate(session: Session, row: ModelVersion, instance_path: Path) -> None:
    """Mark `row` the only active model and point the scorer at it (instance/models/active.json)."""
    session.execute(update(ModelVersion).values(active=False))
    row.active = True
    pointer = Path(instance_path) / "models" / "active.json"
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": row.version, "path": row.path, "sha256": row.sha256}))
    tmp.replace(pointer)  # atomic: a scorer never reads half a pointer
