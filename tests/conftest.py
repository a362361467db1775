"""Shared fixtures: databases (SQLite and PostgreSQL), rule sets, corpus locations."""
from __future__ import annotations

import importlib

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from moderation.store import Database

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
SAMPLES = ROOT / "samples"
DATA = Path(os.environ.get("MODERATION_DATA", ROOT.parent / "shared" / "data"))
POSTGRES_ADMIN_URL = os.environ.get("MODERATION_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = bool(os.environ.get("CI"))
# The desk is German-first (web/i18n.py); tests written against the English interface get English unless they ask
# for a language (tests/test_i18n.py checks the German default and the choice of language).
os.environ.setdefault("MODERATION_BABEL_DEFAULT_LOCALE", "en")
os.environ.setdefault("MODERATION_LANGUAGE", "en")  # the CLI's, whatever the machine's LANG says

# Case counts for the importer fuzz tests (tests/test_importer_fuzz.py), chosen by HYPOTHESIS_PROFILE=dev|ci|nightly
# (see bench/FUZZ.md). Registered under their own names and never loaded: hypothesis loads its built-in "ci"
# profile under CI by itself, and every other property test keeps that profile and its own sizes.
for _name, _cases in {"dev": 200, "ci": 2_000, "nightly": 50_000}.items():
    settings.register_profile(f"fuzz-{_name}", settings.get_profile("ci") if _name == "ci" else None,
                              max_examples=_cases)
FUZZ_PROFILE = "fuzz-" + (os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


def need(condition: bool, reason: str) -> None:
    """Skip when something external is missing, except in CI, where it must be there."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def requires(module: str):  # noqa: ANN201 - the module
    """Import a dependency the project declares; skip without it, except in CI, where that is a failure."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"required in CI: {module} ({exc})", pytrace=False)
        pytest.skip(f"{module} not installed ({exc})", allow_module_level=True)


def corpus(name: str) -> Path:
    """A corpus folder under ../shared/data, or skip (fail in CI) when it is absent."""
    path = DATA / name
    need(path.is_dir(), f"corpus {name} not found under {DATA}")
    return path


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped afterwards; skips (fails in CI) when PostgreSQL is not there."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        need(False, f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    name = f"moderation_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """An empty, migrated database: a new SQLite file, or the session's PostgreSQL database truncated."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        with database.engine.begin() as conn:
            tables = [t for t in conn.execute(text(
                "select tablename from pg_tables where schemaname='public' and tablename<>'alembic_version'"
            )).scalars()]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def ruleset():
    from moderation.rules import load_ruleset

    return load_ruleset(RULES)
