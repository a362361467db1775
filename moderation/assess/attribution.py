"""Risk attribution: how much of a comment's risk each part (rules, model, author, heat, ...) contributed."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from moderation.assess.risk import WEIGHTS

# The rules' part enters the risk at full weight; the others through their WEIGHTS (assess/risk.py).
ORDER = ("rules", *WEIGHTS)


@dataclass(frozen=True)
class Share:
    """One part: its own value (0–1), the term it adds to the noisy-or, and its share of the risk."""

    part: str
    value: float
    term: float
    contribution: float


def _weight(part: str) -> float:
    return 1.0 if part == "rules" else WEIGHTS.get(part, 1.0)


def attribute(parts: Mapping[str, float]) -> list[Share]:
    """Split the risk among its parts, largest first; the contributions add up to the risk.

    The risk is a noisy-or, 1 - risk = Π (1 - term), so -log(1 - risk) is the sum of -log(1 - term): each part
    gets the risk's share its term has of that sum (exact, and the order of the parts does not matter). A part
    at certainty (term 1) takes the whole risk, shared with any other at certainty."""
    names = [p for p in ORDER if p in parts] + sorted(p for p in parts if p not in ORDER and p != "risk")
    terms = {p: min(max(float(parts[p] or 0.0), 0.0), 1.0) * _weight(p) for p in names}
    terms = {p: min(t, 1.0) for p, t in terms.items()}
    risk = 1.0 - math.prod(1.0 - t for t in terms.values())
    certain = [p for p, t in terms.items() if t >= 1.0]
    if certain:
        logs = {p: 1.0 if p in certain else 0.0 for p in terms}
    else:
        logs = {p: -math.log1p(-t) for p, t in terms.items()}
    total = sum(logs.values())
    shares = [Share(p, float(parts[p] or 0.0), terms[p], risk * logs[p] / total if total else 0.0) for p in names]
    return sorted(shares, key=lambda s: (-s.contribution, names.index(s.part)))


def risk_of(parts: Mapping[str, float]) -> float:
    """The risk the parts combine to (the sum of the contributions)."""
    return sum(s.contribution for s in attribute(parts))
