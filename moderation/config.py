"""The one settings object of CLI, web and workers: defaults, an optional TOML file, `.env`, MODERATION_* variables."""
from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict,
                               TomlConfigSettingsSource)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "MODERATION_"

Names = Annotated[tuple[str, ...], NoDecode]  # comma lists in variables ("lexicon,sklearn"), lists in the file


def _default_rules_path() -> Path:
    # A checkout (or `pip install -e`) keeps the site's rules next to the package; else the working directory.
    here = PROJECT_ROOT / "rules"
    return here if here.is_dir() else Path.cwd() / "rules"


class Config(BaseSettings):
    """Everything CLI, web and workers need to know about their surroundings; no secret has a default.

    Sources, first wins: keyword arguments, MODERATION_<FIELD> variables, `.env` in the working directory, the
    TOML file named by MODERATION_CONFIG_FILE (keys are the field names), the defaults below. Secrets and URLs
    (which may carry a password) stay out of repr() and logs.
    """

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore", frozen=True,
                                      populate_by_name=True)

    # -- core
    instance_path: Path = Field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = Field("", repr=False)  # any SQLAlchemy URL; empty: SQLite in the instance folder
    rules_path: Path = Field(default_factory=_default_rules_path,  # rule file or folder
                             validation_alias=AliasChoices(f"{PREFIX}RULES_PATH", f"{PREFIX}RULES"))
    scorers: Names = ("lexicon", "sklearn")  # sklearn: the shipped (or site-activated) model
    languages: Names = ()  # empty: take the rule set's languages
    default_language: str = "de"
    model_path: str = ""  # sklearn model file; empty: the registry's active model, else the shipped one
    detoxify_model: str = "multilingual"  # original | unbiased | multilingual (ignored with a checkpoint)
    detoxify_checkpoint: str = ""  # local Detoxify checkpoint (.ckpt); needs detoxify_config for offline use
    detoxify_config: str = ""  # local Hugging Face config + tokenizer folder for the checkpoint's model type
    device: str = "cpu"  # torch device for model scorers: cpu, cuda, cuda:1
    threads: int = 1  # torch CPU threads per process (set explicitly: torch's default oversubscribes workers)
    scorer_timeout: float = 30.0  # seconds a scorer may take per 100 comments before its batch is held
    pseudonym_key: SecretStr = SecretStr("")  # empty: instance/pseudonym.key, created on first use
    config_file: Path | None = None  # the optional TOML file (read from the variable or `.env`, not from itself)
    # -- background work and shared counters
    broker_url: str = Field("", repr=False)  # Celery broker (redis://...); empty: background work runs inline
    redis_url: str = Field("", repr=False)  # shared rate-limit counters; defaults to the broker when that is Redis
    deep_scorers: Names = ()  # slow scorers the workers run after the live verdict (e.g. detoxify)
    task_queue: str = "moderation"  # Celery queue name (one per desk sharing a broker)
    api_rate_limit: int = 600  # requests per minute per API key, unless the key sets its own
    webhook_retry_seconds: float = 30.0  # first webhook retry after this long; doubles per attempt
    report_threshold: float = Field(3.0, gt=0)  # weighted reader reports that move a published comment to Reported
    # -- web
    secret_key: SecretStr = SecretStr("")  # empty: a random one kept in the instance folder
    login_limit_per_account: str = "10 per 15 minutes"  # failed logins, moving window
    login_limit_per_address: str = "30 per 15 minutes"
    report_limit_per_address: str = "20 per hour"  # readers' reports from one address on the public thread
    ratelimit_storage_uri: str = Field("", repr=False)  # login counters; empty: redis_url, else memory://
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For is believed
    session_cookie_secure: bool | None = None  # None: Secure outside debug and testing
    babel_default_locale: str = "de"  # the desk's language when neither the account nor the browser names one
    babel_default_timezone: str = "UTC"  # times on the desk's pages
    queue_max_wait_hours: float = Field(4.0, gt=0)  # the "risk, nothing older" order puts older comments first
    language: str = ""  # the CLI's messages (de, en); empty: the terminal's locale (moderation/cli/language.py)
    # -- gunicorn (deploy/gunicorn.conf.py)
    bind: str = "127.0.0.1:8000"
    web_workers: int = Field(default_factory=lambda: multiprocessing.cpu_count() * 2)
    web_threads: int = 4
    forwarded_allow_ips: str = "127.0.0.1"
    access_log: str = ""

    @field_validator("scorers", "languages", "deep_scorers", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, _ConfigFile(settings_cls)

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

    def session_secret(self) -> str:
        """MODERATION_SECRET_KEY, else the instance folder's random one (the same for every process using it)."""
        return self.secret_key.get_secret_value() or instance_secret(self.instance_path, "secret_key")

    def project_pseudonym_key(self) -> str:
        """MODERATION_PSEUDONYM_KEY, else the instance folder's random one."""
        return self.pseudonym_key.get_secret_value() or instance_secret(self.instance_path, "pseudonym.key")

    @classmethod
    def from_env(cls, **overrides: object) -> "Config":
        """The settings from their sources; explicit overrides that are not None win (CLI options)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets a field."""
        return f"{PREFIX}{field.upper()}"


class _ConfigFile(PydanticBaseSettingsSource):
    """The TOML file named by config_file in the sources before it; a named file that is missing is an error."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get("config_file")
        if not path:
            return {}
        if not Path(path).is_file():
            raise FileNotFoundError(f"{PREFIX}CONFIG_FILE={path}: no such file")
        return TomlConfigSettingsSource(self.settings_cls, toml_file=Path(path))()


def instance_secret(folder: Path, name: str) -> str:
    """A random secret kept in the instance folder (mode 600), created by whichever process comes first."""
    path = Path(folder) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place: processes starting together must all end up with the one
        # secret that got there first (a plain write lets each use its own, or read a half-written file).
        draft = path.parent / f".{name}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8").strip()
