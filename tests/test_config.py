"""The one settings object: its sources and their order, secrets kept out of sight, CLI, web, gunicorn and
workers reading the same values, and the README's tables naming every setting and nothing else."""
from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from moderation.cli import main
from moderation.cli.settings import shown
from moderation.config import PREFIX, Config
from tests.conftest import ROOT

README = ROOT / "README.md"
ALIASES = {f"{PREFIX}RULES": "rules_path"}  # an older name that still works
NOT_SETTINGS = {f"{PREFIX}TEST_POSTGRES_URL", f"{PREFIX}TEST_REDIS_URL", f"{PREFIX}DATA"}  # the test suite's own


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean slate: no MODERATION_* variable from outside, and a working directory without a .env."""
    import os  # noqa: PLC0415

    for name in list(os.environ):
        if name.startswith(PREFIX) and name not in NOT_SETTINGS:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_variables_parse_like_before(env):
    env.setenv("MODERATION_SCORERS", "lexicon, detoxify")
    env.setenv("MODERATION_LANGUAGES", "")
    env.setenv("MODERATION_API_RATE_LIMIT", "60")
    env.setenv("MODERATION_WEBHOOK_RETRY_SECONDS", "0.5")
    env.setenv("MODERATION_INSTANCE_PATH", "/srv/i")
    env.setenv("MODERATION_RULES", "/srv/old-name")
    env.setenv("MODERATION_SESSION_COOKIE_SECURE", "false")
    config = Config.from_env()
    assert (config.scorers, config.languages, config.api_rate_limit, config.webhook_retry_seconds) == \
        (("lexicon", "detoxify"), (), 60, 0.5)
    assert (config.instance_path, config.rules_path, config.session_cookie_secure) == \
        (Path("/srv/i"), Path("/srv/old-name"), False)
    assert config.effective_database_url == "sqlite:////srv/i/moderation.db"
    env.setenv("MODERATION_RULES_PATH", "/srv/rules")
    assert Config.from_env().rules_path == Path("/srv/rules")  # the current name wins over the old one
    assert Config.from_env(rules_path=Path("/cli"), database_url=None).rules_path == Path("/cli")  # options win
    env.setenv("MODERATION_API_RATE_LIMIT", "many")
    with pytest.raises(ValidationError, match="api_rate_limit"):
        Config.from_env()


def test_sources_in_order_options_variables_dotenv_file(env, tmp_path):
    (tmp_path / "desk.toml").write_text('task_queue = "file"\nbroker_url = "redis://file"\n'
                                        'api_rate_limit = 7\nscorers = ["lexicon"]\n', encoding="utf-8")
    (tmp_path / ".env").write_text(f"MODERATION_CONFIG_FILE={tmp_path / 'desk.toml'}\n"
                                   "MODERATION_TASK_QUEUE=dotenv\nMODERATION_BROKER_URL=redis://dotenv\n"
                                   "UNRELATED=1\n", encoding="utf-8")
    env.setenv("MODERATION_TASK_QUEUE", "variable")
    config = Config.from_env()
    assert (config.task_queue, config.broker_url, config.api_rate_limit, config.scorers) == \
        ("variable", "redis://dotenv", 7, ("lexicon",))
    assert Config.from_env(task_queue="option").task_queue == "option"
    env.setenv("MODERATION_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        Config.from_env()


def test_secrets_and_passwords_stay_out_of_repr_and_the_settings_command(env):
    config = Config(secret_key="s3cret-session", pseudonym_key="s3cret-pseudonym",
                    database_url="postgresql+psycopg://desk:pw-db@db/desk", broker_url="redis://:pw-broker@r/0",
                    redis_url="redis://:pw-redis@r/1", ratelimit_storage_uri="redis://:pw-limits@r/2")
    printed = repr(config) + str(config) + json.dumps(shown(config))
    assert not re.search(r"s3cret|pw-", printed), printed
    assert shown(config)["database_url"] == "postgresql+psycopg://desk:***@db/desk"
    assert config.session_secret() == "s3cret-session"


def test_without_a_secret_key_the_instance_folder_keeps_one(env, tmp_path):
    config = Config(instance_path=tmp_path / "instance")
    secret = config.session_secret()
    assert len(secret) == 64 and Config(instance_path=tmp_path / "instance").session_secret() == secret
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config.project_pseudonym_key() != secret  # a key of its own


def test_cli_web_gunicorn_and_workers_read_the_same_settings(env, tmp_path):
    from web import create_app  # noqa: PLC0415

    env.setenv("MODERATION_INSTANCE_PATH", str(tmp_path / "instance"))
    env.setenv("MODERATION_TASK_QUEUE", "q-shared")
    env.setenv("MODERATION_LOGIN_LIMIT_PER_ACCOUNT", "3 per hour")
    env.setenv("MODERATION_TRUSTED_PROXIES", "2")
    env.setenv("MODERATION_WEB_THREADS", "9")
    cli = CliRunner().invoke(main, ["settings", "--json"], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output
    app = create_app(TESTING=True)
    assert app.extensions["desk"].config == Config.from_env()
    assert json.loads(cli.output) == shown(Config.from_env())
    assert (json.loads(cli.output)["task_queue"], json.loads(cli.output)["web_threads"]) == ("q-shared", 9)
    assert (app.config["LOGIN_LIMIT_PER_ACCOUNT"], app.config["TRUSTED_PROXIES"]) == ("3 per hour", 2)
    assert app.config["RATELIMIT_KEY_PREFIX"] == "q-shared"
    gunicorn = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert gunicorn["threads"] == 9
    from moderation.worker import tasks  # noqa: PLC0415

    worker = subprocess.run([sys.executable, "-c", "from moderation.worker.tasks import celery, runtime; "
                             "print(celery.conf.task_default_queue, runtime.config.task_queue)"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert worker.stdout.split() == ["q-shared", "q-shared"], worker.stderr
    assert tasks  # imported in this process too without configuring anything from these variables


def test_an_invalid_setting_stops_the_cli_with_its_name(env):
    env.setenv("MODERATION_THREADS", "lots")
    result = CliRunner().invoke(main, ["apikeys", "list"])
    assert result.exit_code == 2 and "MODERATION_THREADS: Input should be a valid integer" in result.output


def test_an_instance_config_py_is_refused_not_ignored(env, tmp_path):
    from web import create_app  # noqa: PLC0415

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("SECRET_KEY = 'x'\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="no longer read"):
        create_app(Config(instance_path=tmp_path / "instance"), TESTING=True)


def _variables(text: str) -> set[str]:
    return set(re.findall(rf"\b{PREFIX}[A-Z_]*[A-Z]\b", text))


def test_readme_tables_name_every_setting_and_nothing_else():
    readme = README.read_text(encoding="utf-8")
    fields = {Config.variable(name) for name in Config.model_fields}
    rows = [line for line in readme.splitlines() if line.startswith("| `MODERATION_")]
    in_tables = set().union(*(_variables(row.split(" | ")[0]) for row in rows))
    assert sorted(fields - in_tables) == [], "settings missing from the README's configuration tables"
    assert sorted(_variables(readme) - fields - set(ALIASES) - NOT_SETTINGS) == [], \
        "the README names variables that are no setting"
    for alias, field in ALIASES.items():
        assert field in Config.model_fields
    example = (ROOT / "deploy" / "moderation.env.example").read_text(encoding="utf-8")
    assert sorted(_variables(example) - fields) == [], "deploy/moderation.env.example names unknown variables"
