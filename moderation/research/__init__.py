"""Research side: exports, sentiment, thread metrics and reports."""
from __future__ import annotations

import importlib
from types import ModuleType

INSTALL = "pip install 'moderation-desk[research]'"


class MissingExtra(RuntimeError):
    """A research feature whose optional package is not installed; the message says what to install."""


def require(module: str, feature: str) -> ModuleType:
    """Import a package of the [research] extra, or raise MissingExtra naming the feature and the install line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(f"{feature} needs {module.split('.')[0]}, part of the research extra: {INSTALL}") \
            from exc
