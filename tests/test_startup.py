"""Start-up stays light: `--help` imports no database, web or model libraries; scoring never imports scikit-learn."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sklearn", "scipy", "skops", "torch", "flask", "sqlalchemy", "alembic", "celery", "httpx", "numpy", "pandas")


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
