"""The learning curve: how good a site model gets after 100, 250, ... moderator decisions."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from moderation.learning import training as learning
from moderation.scoring.sklearn import PACKAGE_MODEL

SIZES = (100, 250, 500, 1000, 2500, 5000)
PUBLISHED = PACKAGE_MODEL.parent / "learning_curve.json"  # measured by bench/learning_curve.py, shown to admins


def learning_curve(pool: learning.Dataset, held: learning.Dataset, sizes: Sequence[int] = SIZES, *,
                   lexicon: Mapping[str, Sequence[str]] | None = None, seed: int = 0,
                   baseline: Callable[[learning.Dataset, learning.Dataset], dict] | None = None,
                   **params: object) -> list[dict]:
    """Site-model metrics on `held` after training on the first n rows of `pool` in a seeded random order.

    Decisions arrive in no particular order, so each size is a prefix of one shuffle (a bigger site has seen
    the smaller one's decisions too). Sizes beyond the pool are left out; a size too small to train on (one
    class has fewer than five examples) is reported with its error. `baseline(part, held)`, if given, is
    measured on the same rows; `params` go to the classifier.
    """
    order = np.random.default_rng(seed).permutation(len(pool))
    rows = []
    for n in sizes:
        if n > len(pool):
            break
        part = pool.take(order[:n])
        entry: dict = {"decisions": n, "positives": int(np.nansum(part.column("toxicity")))}
        try:
            model, report = learning.train(part, lexicon=lexicon, seed=seed, **params)
        except ValueError as exc:  # DataError included: too few of a class
            rows.append({**entry, "error": str(exc)})
            continue
        entry["site_model"] = learning.evaluate(model, held, report["threshold"])
        if baseline is not None:
            entry["baseline"] = baseline(part, held)
        rows.append(entry)
    return rows


def published(path: Path = PUBLISHED) -> dict:
    """The curve measured on public corpora and shipped with the package ({} when absent or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
