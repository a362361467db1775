"""Thresholds from moderators' decisions for a target precision."""
from __future__ import annotations

import json

from click.testing import CliRunner

from moderation.learning.calibration import from_decisions, threshold_for_precision
from moderation.cli import main
from moderation.assess.pipeline import Pipeline
from moderation.services.jobs import triage_stored
from moderation.scoring.lexicon import LexiconScorer
from moderation.store import TriageResult
from moderation.store import revisions
from tests.test_store import batch, load


def test_lowest_threshold_keeping_the_target_precision():
    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4]
    labels = [1, 1, 1, 0, 1, 0, 0, 0]
    assert threshold_for_precision(scores, labels, 0.75, min_support=1) == (0.7, 0.8, 1.0, 5)
    assert threshold_for_precision(scores, labels, 1.0, min_support=1) == (0.85, 1.0, 0.75, 3)
    assert threshold_for_precision(scores, labels, 1.0, min_support=4) == (None, None, None, 0)


def test_ties_are_flagged_together():
    assert threshold_for_precision([0.9, 0.9, 0.5], [1, 0, 1], 1.0, min_support=1) == (None, None, None, 0)


def seeded(db, ruleset, n=60):
    """n decided comments whose stored insult score predicts the moderators' decision above 0.6."""
    load(db, batch([(f"c{i}", None, f"Kommentar Nummer {i}", "rejected" if i % 2 else "approved") for i in range(n)]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    with db.session() as s:
        for row in s.query(TriageResult).all():
            i = row.comment_id
            value = 0.3 + (0.6 if i % 2 == 0 else 0.0) + (i % 7) / 100  # rejected: c(odd) ids are 2, 4, ...
            row.scores = {"lexicon": {"insult": round(value, 3), "toxicity": 0.1}}


def test_suggestions_from_stored_decisions(db, ruleset):
    seeded(db, ruleset)
    by_label = {s.label: s for s in from_decisions(db, target=0.9)}
    insult = by_label["insult"]
    assert insult.threshold is not None and 0.85 <= insult.threshold <= 0.96
    assert insult.precision >= 0.9 and insult.recall == 1.0 and insult.decided == 60
    assert by_label["toxicity"].threshold is None  # a constant score separates nothing


def test_calibrate_command_saves_an_inactive_revision(db, ruleset):
    seeded(db, ruleset)
    out = CliRunner().invoke(main, ["--database", db.url, "rules", "calibrate", "--target-precision", "0.9",
                                    "--save", "--json"], catch_exceptions=False)
    assert out.exit_code == 0
    insult = next(s for s in json.loads(out.output) if s["label"] == "insult")
    with db.session() as s:
        history = revisions.history(s)
        assert [r.author for r, _ in history] == ["calibration", "system"]
        assert revisions.active(s).id == 1  # saved, not live
        patch = revisions.diff(s, history[0][0])
    expected = f"{insult['threshold']:.2f}".rstrip("0")
    assert f"+    insult: {{hold: {expected}, reject: 0.97}}" in patch


def _reference_scan(scores, labels, target, min_support):
    """The plain loop the library call replaced: walk down the sorted scores, cut only between distinct ones."""
    pairs = sorted(zip(scores, labels), key=lambda p: -p[0])
    positives, best, tp = sum(labels), (None, None, None, 0), 0
    for i, (score, label) in enumerate(pairs, start=1):
        tp += label
        if i < len(pairs) and pairs[i][0] == score:
            continue
        if i >= min_support and tp / i >= target:
            best = (round(score, 4), round(tp / i, 4), round(tp / positives, 4) if positives else None, i)
    return best


def test_precision_scan_equals_the_plain_loop_on_random_data():
    import random

    rnd = random.Random(9)
    for trial in range(300):
        n = rnd.randint(0, 60)
        scores = [round(rnd.random(), rnd.choice([1, 2, 4])) for _ in range(n)]  # coarse rounding makes ties
        labels = [int(rnd.random() < (0.3 + 0.6 * s if trial % 7 else 0.0)) for s in scores]
        target, support = rnd.choice([0.5, 0.75, 0.9, 1.0]), rnd.choice([1, 3, 10])
        assert threshold_for_precision(scores, labels, target, support) == \
            _reference_scan(scores, labels, target, support), trial
