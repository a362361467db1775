"""Settings from defaults, the instance folder and MODERATION_* environment variables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_rules_path() -> Path:
    # A checkout (or `pip install -e`) keeps the site's rules next to the package; else the working directory.
    here = PROJECT_ROOT / "rules"
    return here if here.is_dir() else Path.cwd() / "rules"


@dataclass(frozen=True)
class Config:
    """Everything the core needs to know about its surroundings; no secrets have defaults."""

    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = ""
    rules_path: Path = field(default_factory=_default_rules_path)
    scorers: tuple[str, ...] = ("lexicon", "sklearn")  # sklearn: the shipped (or site-activated) model
    languages: tuple[str, ...] = ()  # empty: take the rule set's languages
    default_language: str = "de"
    broker_url: str = ""  # Celery broker (redis://...); empty: background work runs inline
    secret_key: str = ""
    deep_scorers: tuple[str, ...] = ()  # slow scorers the workers run after the live verdict (e.g. detoxify)
    redis_url: str = ""  # shared rate-limit counters; defaults to the broker when that is Redis
    task_queue: str = "moderation"  # Celery queue name (one per desk sharing a broker)
    api_rate_limit: int = 600  # requests per minute per API key, unless the key sets its own
    webhook_retry_seconds: float = 30.0  # first webhook retry after this long; doubles per attempt
    model_path: str = ""  # sklearn model file; empty: the site's activated model, else the shipped one
    detoxify_model: str = "multilingual"  # original | unbiased | multilingual (ignored with a checkpoint)
    detoxify_checkpoint: str = ""  # local Detoxify checkpoint (.ckpt); needs detoxify_config for offline use
    detoxify_config: str = ""  # local Hugging Face config + tokenizer folder for the checkpoint's model type
    device: str = "cpu"  # torch device for model scorers: cpu, cuda, cuda:1
    threads: int = 1  # torch CPU threads per process (set explicitly: torch's default oversubscribes workers)
    scorer_timeout: float = 30.0  # seconds a scorer may take per 100 comments before its batch is held

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'moderation.db').as_posix()}"

    @property
    def effective_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith(("redis://", "rediss://")) else ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> "Config":
        """Read MODERATION_<FIELD> variables; explicit overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"MODERATION_{f.name.upper()}")
            if raw is None:
                continue
            if f.name in ("instance_path", "rules_path"):
                values[f.name] = Path(raw)
            elif f.name in ("scorers", "languages", "deep_scorers"):
                values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            elif f.type in ("int", "float"):
                try:
                    values[f.name] = int(raw) if f.type == "int" else float(raw)
                except ValueError:
                    raise ValueError(f"MODERATION_{f.name.upper()} must be a number, got {raw!r}") from None
            else:
                values[f.name] = raw
        if "MODERATION_RULES" in env and "rules_path" not in values:
            values["rules_path"] = Path(env["MODERATION_RULES"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
