"""Which sklearn model scores: MODERATION_MODEL_PATH, else the registry's active version, else the shipped one."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from moderation.scoring import StoredModel
from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer
from moderation.store import models_registry as registry

if TYPE_CHECKING:
    from moderation.config import Config


def stored_models(session: Session, config: "Config") -> dict[str, StoredModel]:
    """The registry's models by scorer name, for Pipeline.from_config; a file-era instance is adopted first."""
    registry.adopt_files(session, Path(config.instance_path))
    row = registry.active(session)
    return {"sklearn": StoredModel(row.version, row.sha256, row.data)} if row else {}


def version_scorer(session: Session, version: str) -> SklearnScorer | None:
    """A registered version as a scorer (None: no such version); bytes are checked against their sha256."""
    row = registry.get(session, version)
    if row is None:
        return None
    if row.data is None:
        raise ValueError(f"the registry holds no bytes for {version}")
    return SklearnScorer.from_bytes(row.data, row.sha256)


def active_scorer(session: Session, config: "Config") -> SklearnScorer | None:
    """The model triage uses now (None: nothing active and no shipped model); raises if it cannot be loaded."""
    if config.model_path:
        return SklearnScorer.from_file(Path(config.model_path))
    registry.adopt_files(session, Path(config.instance_path))
    row = registry.active(session)
    if row is not None:
        return version_scorer(session, row.version)
    return SklearnScorer.from_file(PACKAGE_MODEL) if PACKAGE_MODEL.is_file() else None
