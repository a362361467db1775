"""The `moderation` command: import, triage, explain, rules, export, serve, demo (and more per module)."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from moderation.cli.language import _

if TYPE_CHECKING:  # the settings (pydantic) load when a command runs, not for --help
    from moderation.config import Config


@dataclass
class State:
    """Shared by every command: configuration, and the database opened on first use."""

    config: Config
    explicit_rules: bool = False  # --rules given: use those files, not the active revision in the database
    _db: object = field(default=None, repr=False)

    def ruleset(self):  # noqa: ANN201 - moderation.rules.RuleSet
        """The rule set commands use: --rules files if given, else the active revision (bootstrapped from rules/)."""
        from moderation.rules import RuleError, load_ruleset  # noqa: PLC0415
        from moderation.store import revisions  # noqa: PLC0415

        try:
            cache = self.config.instance_path / "cache" / "rules"  # parsed rules, for the next start
            if self.explicit_rules:
                return load_ruleset(self.config.rules_path, cache=cache)
            with self.db.session() as session:
                return revisions.active_ruleset(session, self.config.rules_path, cache)
        except RuleError as exc:
            fail(_("the rule set is invalid:") + f"\n{exc}", 1)

    def stored(self, config: Config | None = None) -> dict:
        """The registry's active models for Pipeline.from_config (none needed when a model file is configured)."""
        config = config or self.config
        if config.model_path or "sklearn" not in config.scorers:
            return {}
        from moderation.learning.registry import stored_models  # noqa: PLC0415

        with self.db.session() as session:
            return stored_models(session, config)

    @property
    def db(self):  # noqa: ANN201 - moderation.store.Database, imported lazily for a fast --help
        if self._db is None:
            from moderation.integrations import webhooks  # noqa: PLC0415
            from moderation.store import Database  # noqa: PLC0415

            enqueue = None
            if self.config.broker_url:  # committed deliveries go to the workers of this desk's broker
                from moderation.worker import tasks  # noqa: PLC0415 - Celery only when a broker is configured

                tasks.configure(self.config, db=lambda: self._db)
                enqueue = tasks.enqueue_deliveries
            self._db = webhooks.bind(Database(self.config.effective_database_url), self.config, enqueue)
        return self._db


pass_state = click.make_pass_decorator(State)


class CommentText(click.ParamType):
    """Comment text from the command line: bytes that are no UTF-8 become U+FFFD, as in an import."""

    name = "text"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        # Python hands such bytes over as lone surrogates, which no scorer, rule or database can encode.
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


COMMENT_TEXT = CommentText()


def emit(data: object, as_json: bool, text: str) -> None:
    """Print JSON for scripts or text for people."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=None if as_json else 2) if as_json else text)


def fail(message: str, code: int = 2) -> None:
    click.echo(_("error: %(message)s", message=message), err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", envvar="MODERATION_DATABASE_URL", help="SQLAlchemy URL (default: SQLite in instance/).")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), envvar="MODERATION_RULES_PATH",
              help="Rule file or folder (default: rules/).")
@click.version_option(package_name="moderation-desk")
@click.pass_context
def main(ctx: click.Context, database: str | None, rules_path: Path | None) -> None:
    """Reader-comment moderation desk and discourse analyzer."""
    from pydantic import ValidationError  # noqa: PLC0415

    from moderation.config import Config  # noqa: PLC0415

    try:
        config = Config.from_env(database_url=database, rules_path=rules_path)
    except ValidationError as exc:
        fail("invalid settings (MODERATION_* variables, .env, MODERATION_CONFIG_FILE): " + "; ".join(
            f"{_variable(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors()))
    except FileNotFoundError as exc:
        fail(str(exc))
    ctx.obj = State(config, explicit_rules=rules_path is not None)


def _variable(field: str) -> str:
    from moderation.config import Config  # noqa: PLC0415

    return field if field.startswith("MODERATION_") else Config.variable(field)  # an alias is the variable


def _register() -> None:
    """Import every module of this package: each adds its own commands to `main`."""
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register()
