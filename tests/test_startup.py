"""Start-up stays light: `--help` imports no database, web or model libraries; scoring never imports scikit-learn."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "scipy", "skops", "torch", "flask", "sqlalchemy", "alembic", "celery", "httpx", "numpy", "pandas", "pydantic",
         "pydantic_settings")


def _modules_after(code: str) -> set[str]:
    """Top-level packages imported in a fresh interpreter that runs `code`."""
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy():
    code = ("from moderation.cli import main\n"
            "try:\n    main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass")
    loaded = _modules_after(code)
    assert "click" in loaded  # the command group really was built
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_scoring_with_the_shipped_model_never_imports_scikit_learn_scipy_or_skops():
    code = ("from moderation.scoring.sklearn import PACKAGE_MODEL, SklearnScorer\n"
            "s = SklearnScorer.from_file(PACKAGE_MODEL)\n"
            "assert s.score(['Du Idiot', 'Danke'])[0]['toxicity'] > 0")
    loaded = _modules_after(code)
    assert "numpy" in loaded and "mmh3" in loaded
    assert not loaded & {"sklearn", "scipy", "skops", "torch"}, sorted(loaded & {"sklearn", "scipy", "skops", "torch"})


def test_the_migration_head_read_from_the_files_is_alembics():
    """Differential: the head disk_head reads without alembic is the one alembic's script directory names."""
    from alembic.script import ScriptDirectory

    from moderation.store.database import alembic_config, disk_head

    assert disk_head() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_opening_a_database_at_head_imports_no_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    first = _modules_after(f"from moderation.store import Database\nDatabase({url!r})")
    assert "alembic" in first  # a new database: migrated by alembic
    again = _modules_after(f"from moderation.store import Database\nDatabase({url!r})")
    assert "sqlalchemy" in again and "alembic" not in again


def test_a_database_behind_head_is_still_migrated(tmp_path):
    """The fast check only ever skips alembic when the stamp is the head; an older stamp migrates."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from moderation.store import Database
    from moderation.store.database import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_revision(script.get_current_head())
    command.upgrade(alembic_config(url), head.down_revision)
    database = Database(url)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head.revision
    database.dispose()
