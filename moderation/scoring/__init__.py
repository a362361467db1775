"""Scorers: a list of texts in, a list of label -> score dicts out, each scorer named and versioned."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from operator import eq
from typing import TYPE_CHECKING, Callable, Collection, Mapping, Protocol, Sequence, runtime_checkable

from moderation.scoring import threads

if TYPE_CHECKING:
    from moderation.config import Config
    from moderation.rules import CommentContext, RuleSet

# Detoxify's label names are the shared vocabulary; every scorer maps its own outputs onto these.
LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


@runtime_checkable
class Scorer(Protocol):
    name: str
    version: str  # model name and version, stored with every score
    labels: tuple[str, ...]

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[dict[str, float]]:
        """One label -> probability dict per text, in order."""
        ...


class ScorerUnavailable(RuntimeError):
    """A scorer that cannot load (weights missing, extra not installed); the message says how to fix it."""


@dataclass
class ScorerRun:
    """What one scorer produced for a batch, or why it produced nothing."""

    name: str
    version: str
    scores: list[dict[str, float]] | None
    error: str | None = None


@dataclass(frozen=True)
class StoredModel:
    """A model as the registry holds it, for the scorer of that name: its version, the bytes and their sha256."""

    version: str
    sha256: str
    data: bytes | None  # None: the registry lost the bytes (the scorer is then unavailable)


Factory = Callable[..., Scorer]  # (config, ruleset), plus stored=StoredModel when the registry has one for it
REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def decorate(factory: Factory) -> Factory:
        REGISTRY[name] = factory
        return factory
    return decorate


def build_scorers(names: Sequence[str], config: "Config", ruleset: "RuleSet",
                  stored: Mapping[str, StoredModel] | None = None) -> tuple[list[Scorer], list[str]]:
    """The configured scorers that load, and a message for each one that does not; `stored`: registry models."""
    _load_builtin()
    scorers, problems = [], []
    for name in names:
        factory = REGISTRY.get(name)
        if factory is None:
            problems.append(f"unknown scorer {name!r} (known: {', '.join(sorted(REGISTRY))})")
            continue
        try:
            own = {"stored": stored[name]} if stored and name in stored else {}
            scorers.append(factory(config, ruleset, **own))
        except ScorerUnavailable as exc:
            problems.append(f"scorer {name} unavailable: {exc}")
        except Exception as exc:  # noqa: BLE001 - a corrupt file must hold comments, not crash the desk
            problems.append(f"scorer {name} unavailable: {type(exc).__name__}: {exc}")
    return scorers, problems


def run_scorers(scorers: Sequence[Scorer], contexts: Sequence["CommentContext"],
                known: Sequence[dict[str, tuple[str, dict[str, float]]] | None] | None = None, *,
                timeout: float | None = None) -> list[ScorerRun]:
    """Run every scorer on the batch; a scorer that raises, hangs or returns nonsense is recorded, never fatal.

    Scorers that can read a CommentContext (score_contexts) reuse its tokens; others get texts and languages.
    `timeout` is seconds per 100 comments; a scorer still running after that is abandoned for this batch.
    `known` gives per context scores computed before (scorer name -> (version, scores)): they stand in for a
    scorer that reads only text and language and has that very version. A scorer that reads the context (the
    lexicon names the thread's authors) is always run: the thread may have grown since.
    """
    runs = []
    for scorer in scorers:
        scores: list = [None] * len(contexts)
        if known is not None and getattr(scorer, "score_contexts", None) is None:
            for i, previous in enumerate(known):
                if previous and scorer.name in previous and previous[scorer.name][0] == scorer.version:
                    scores[i] = previous[scorer.name][1]
        todo = [i for i, s in enumerate(scores) if s is None]
        try:
            if todo:
                subset = [contexts[i] for i in todo]
                fresh = _call(scorer, subset, None if timeout is None else timeout * max(1, len(subset) / 100))
                _check(fresh, len(subset))
                for i, value in zip(todo, fresh):
                    scores[i] = value
            runs.append(ScorerRun(scorer.name, scorer.version, scores))
        except Exception as exc:  # noqa: BLE001 - an outage sends comments to a human, it must not crash triage
            runs.append(ScorerRun(scorer.name, scorer.version, None, f"{type(exc).__name__}: {exc}"))
    return runs


def _call(scorer: Scorer, contexts: Sequence["CommentContext"], seconds: float | None) -> list[dict[str, float]]:
    by_context = getattr(scorer, "score_contexts", None)

    def run() -> list[dict[str, float]]:
        return by_context(contexts) if by_context else scorer.score([c.text for c in contexts],
                                                                     [c.language for c in contexts])
    if seconds is None:
        return run()
    # A pooled daemon thread (scoring/threads.py), so a scorer that never returns cannot keep the process alive
    # or block the batch; a thread that timed out is abandoned, never handed another job.
    return threads.call(run, seconds, f"scorer-{scorer.name}")


def _check(scores: object, expected: int) -> None:
    """Scores must be one dict per text of probabilities; anything else is a scorer failure."""
    if not isinstance(scores, list) or len(scores) != expected:
        raise RuntimeError(f"returned {len(scores) if isinstance(scores, list) else type(scores).__name__} "
                           f"results for {expected} texts")
    for row in scores:
        if not isinstance(row, dict) or not (_floats_in_range(row.values()) or all(map(_probability, row.values()))):
            raise ValueError(f"returned a score that is not a probability: {str(row)[:120]}")


def _probability(value: object) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(value) and 0.0 <= value <= 1.0


def _floats_in_range(values: Collection) -> bool:
    """Plain floats in [0, 1] (the usual row), tested in C: a NaN is the one float unequal to itself."""
    return (not values or set(map(type, values)) == {float} and 0.0 <= min(values) and max(values) <= 1.0
            and all(map(eq, values, values)))


def merged(runs: Sequence[ScorerRun], index: int) -> dict[str, float] | None:
    """Label -> highest score any scorer gave text `index`; None when no scorer produced anything."""
    out: dict[str, float] = {}
    produced = False
    for run in runs:
        if run.scores is None:
            continue
        produced = True
        for label, value in run.scores[index].items():
            if value > out.get(label, -1.0):
                out[label] = value
    return out if produced else None


def _load_builtin() -> None:
    # Importing registers; heavy modules (torch) load only when their factory is called.
    from moderation.scoring import detoxify, lexicon, sklearn  # noqa: F401, PLC0415
