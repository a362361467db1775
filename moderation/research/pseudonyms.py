"""Pseudonymous author names by keyed hash: stable within a project, not reversible without the project's key."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from moderation.config import Config, instance_secret

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


def project_key(instance_path: Path, configured: str = "") -> bytes:
    """The configured key (MODERATION_PSEUDONYM_KEY), else the instance folder's secret file (mode 600)."""
    return (configured or instance_secret(Path(instance_path), KEY_FILE)).encode("utf-8")


def for_config(config: Config) -> Pseudonymizer:
    return Pseudonymizer(config.project_pseudonym_key().encode("utf-8"))
