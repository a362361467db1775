"""Installs: the core (web desk, CLI, sklearn model) runs without any extra; each extra declares what it imports."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
OPTIONAL = ("matplotlib", "pyarrow", "vaderSentiment", "torch", "detoxify", "transformers", "convokit",
            "textblob", "textblob_de", "nltk", "yaml", "psycopg")


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def _module_imports(path: Path) -> set[str]:
    """Top-level packages a module imports when it is loaded (imports inside functions are lazy, not counted)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"moderation", "web", "__future__"}


def test_web_desk_and_cli_load_without_any_extra(tmp_path):
    """Every CLI command module and the web app import with the extras' packages made unimportable."""
    # A finder that answers "not installed" (sys.modules[name] = None would break scipy's probe for torch).
    code = (f"import sys\nclass Absent:\n    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {OPTIONAL!r}: raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Absent())\n"
            "from click.testing import CliRunner\nfrom moderation.cli import main\n"
            "from pathlib import Path\nfrom moderation.config import Config\nfrom web import create_app\n"
            "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
            f"create_app(Config(database_url='sqlite:///{tmp_path}/d.db', instance_path=Path({str(tmp_path)!r})))\n"
            "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr[-3000:]


def test_core_dependencies_declare_every_module_level_import():
    """numpy, scipy & co. are declared, not inherited; no research-only package is loaded at import by the core."""
    core = _names(PROJECT["dependencies"])
    distributions = packages_distributions()
    missing = {}
    for path in [*ROOT.glob("moderation/**/*.py"), *ROOT.glob("web/**/*.py")]:
        if "research" in path.parts and path.name != "__init__.py":
            continue  # loaded on demand only; its own imports are checked below
        for module in _module_imports(path):
            dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            if not dists & core:
                missing.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported at module level but not a core dependency: {missing}"
    assert not {"matplotlib", "pyarrow", "vadersentiment", "textblob-de", "pyyaml", "torch", "detoxify"} & core


def test_research_modules_need_only_core_and_the_research_extra():
    allowed = _names(PROJECT["dependencies"]) | _names(PROJECT["optional-dependencies"]["research"])
    distributions = packages_distributions()
    for path in ROOT.glob("moderation/research/*.py"):
        for module in _module_imports(path):
            dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            assert dists & allowed, f"{path.name} imports {module}, in neither the core nor [research]"


def test_extras_are_split_as_documented():
    extras = {name: _names(reqs) for name, reqs in PROJECT["optional-dependencies"].items()}
    assert {"matplotlib", "pyarrow", "vadersentiment"} <= extras["research"]
    assert {"torch", "detoxify"} <= extras["detoxify"] and "psycopg" in extras["postgres"]
    assert extras["convokit"] == {"convokit"} and "convokit" not in _names(PROJECT["dependencies"])
    assert {"pytest", "hypothesis", "moderation-desk"} <= extras["dev"]  # dev pulls every extra the tests need
    dev_self = next(Requirement(r) for r in PROJECT["optional-dependencies"]["dev"] if r.startswith("moderation-desk"))
    assert dev_self.extras == {"research", "detoxify", "postgres", "convokit", "bench"}
