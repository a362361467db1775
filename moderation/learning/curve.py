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


def averaged(runs: Sequence[list[dict]]) -> list[dict]:
    """Curves of several shuffles as one: each metric's mean, lowest and highest per size (sizes every run has)."""
    rows = []
    for same in zip(*runs):
        positives = round(float(np.mean([r["positives"] for r in same])))
        entry: dict = {"decisions": same[0]["decisions"], "positives": positives}
        errors = [r["error"] for r in same if "error" in r]
        if errors:
            entry["error"] = errors[0]
        for part in ("site_model", "baseline"):
            found = [r[part] for r in same if part in r]
            if found and not errors:
                entry[part] = _spread(found)
        rows.append(entry)
    return rows


def _spread(metrics: Sequence[dict]) -> dict:
    """Each figure's mean over the runs; ROC-AUC and official F1 also with their lowest and highest."""
    out = dict(metrics[0])
    for key, value in metrics[0].items():
        values = [m[key] for m in metrics if m.get(key) is not None]
        if isinstance(value, (int, float)) and len(values) == len(metrics):
            out[key] = round(float(np.mean(values)), 4)
            if key in ("roc_auc", "f1_official") and len(values) > 1:
                out[f"{key}_min"], out[f"{key}_max"] = min(values), max(values)
    return out


def published(path: Path = PUBLISHED) -> dict:
    """The curve measured on public corpora and shipped with the package ({} when absent or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
