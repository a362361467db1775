"""Pseudonymous author names by keyed hash: stable within a project, not reversible without the project's key."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ENV = "MODERATION_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"


class Pseudonymizer:
    """HMAC-SHA-256 of the name under the key, shortened to 16 hex digits (64 bits: collisions are negligible)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self.key = key
        self._cache: dict[str, str] = {}

    def __call__(self, name: str | None) -> str | None:
        if not name:
            return name
        hit = self._cache.get(name)
        if hit is None:
            digest = hmac.new(self.key, name.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
            hit = self._cache[name] = f"u-{digest}"
        return hit


def project_key(instance_path: Path) -> bytes:
    """The key from MODERATION_PSEUDONYM_KEY, else the instance folder's secret file (created, mode 600, if absent)."""
    value = os.environ.get(ENV)
    if value:
        return value.encode("utf-8")
    path = Path(instance_path) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def for_config(config) -> Pseudonymizer:  # noqa: ANN001 - moderation.config.Config
    return Pseudonymizer(project_key(config.instance_path))
