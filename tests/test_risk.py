"""Graded risk: the held samples no longer tie, their order follows rule severity, the parts are stored for
the card, and the ranking AUC against moderators' decisions is measured (SQLite and PostgreSQL)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import select, update

from moderation.assess.risk import combine, ranking_auc
from moderation.rules import Hit
from moderation.store.models import Comment, TriageResult
from tests.browser import seed


def hit(rule="r", action="hold", priority=50, confidence=1.0) -> Hit:
    return Hit(rule, f"stated {rule}", action, None, priority, confidence, [], confidence, None, "")


@pytest.fixture
def samples(db):
    seed(db, {})
    return db


def test_held_samples_grade_and_follow_severity_with_their_parts_stored(samples):
    with samples.session() as s:
        rows = s.execute(select(Comment.external_id, Comment.risk, TriageResult.hits, TriageResult.evidence)
                         .join(TriageResult, TriageResult.id == Comment.triage_id)
                         .where(Comment.status == "held").order_by(Comment.risk.desc())).all()
    assert len(rows) == 10
    risks = [r.risk for r in rows]
    assert len(set(risks)) == len(risks), "ties among held samples whose evidence differs"
    severity = [max(h["priority"] for h in r.hits) for r in rows]
    assert severity == sorted(severity, reverse=True), list(zip([r.external_id for r in rows], risks, severity))
    assert {r.external_id for r in rows[:2]} == {"de-041", "en-014"}  # the threats lead
    for r in rows:
        parts = r.evidence["risk"]
        assert set(parts) == {"rules", "model", "author", "heat", "risk", "reports"}
        assert parts["risk"] == pytest.approx(r.risk, abs=1e-4) and 0 < parts["rules"] <= parts["risk"] < 1


def test_ranking_auc_against_moderators_decisions(samples):
    with samples.session() as s:
        measured = ranking_auc(s)
        assert measured["decided"] == 21 and measured["rejected"] == 9
        assert measured["auc"] > 0.8  # rejected sample comments carry the rule hits
        # Turned upside down, the order would rank rejections last: the function reads the stored risk.
        s.execute(update(Comment).values(risk=1 - Comment.risk))
        assert ranking_auc(s)["auc"] == pytest.approx(1 - measured["auc"])
        assert ranking_auc(s, source="nowhere") == {"auc": None, "decided": 0, "rejected": 0}


def test_identical_evidence_ties_and_each_part_raises_the_risk():
    base = dict(hits=[hit(priority=80)], model_scores={"m": {"toxicity": 0.4}}, author_approved=3,
                author_rejected=1, heat=0.2)
    first = combine(**base)
    assert combine(**base) == first
    stronger = [dict(base, hits=[hit(priority=85)]), dict(base, hits=[hit(priority=80, confidence=1.0), hit()]),
                dict(base, hits=[hit(priority=80, action="reject")]), dict(base, model_scores={"m": {"x": 0.5}}),
                dict(base, author_rejected=2), dict(base, heat=0.3)]
    for more in stronger:
        assert combine(**more).risk > first.risk, more
    weaker = combine(**dict(base, hits=[hit(priority=80, confidence=0.9)]))
    assert weaker.risk < first.risk


@given(st.lists(st.tuples(st.sampled_from(["hold", "reject"]), st.integers(0, 100), st.floats(0, 1)),
                min_size=1, max_size=4),
       st.floats(0, 1), st.integers(0, 50), st.integers(0, 50), st.floats(0, 1))
def test_risk_stays_a_probability_and_one_severe_hit_outranks_milder_piles(hits, model, ok, bad, heat):
    parts = combine([hit(action=a, priority=p, confidence=c) for a, p, c in hits], {"m": {"t": model}},
                    author_approved=ok, author_rejected=bad, heat=heat)
    assert 0 <= parts.rules <= parts.risk <= 1
    tops = sorted(((1.0 if a == "reject" else 0.85) * p / 100 * c for a, p, c in hits), reverse=True)
    assert tops[0] - 1e-9 <= parts.rules <= tops[0] + (1 - tops[0]) * 0.3 + 1e-9


def test_a_card_can_explain_from_the_stored_evidence(samples):
    with samples.session() as s:
        result = s.scalar(select(TriageResult).join(Comment, Comment.triage_id == TriageResult.id)
                          .where(Comment.external_id == "de-041"))
    parts = result.evidence["risk"]
    again = combine([replace(hit(), action=h["action"], priority=h["priority"], confidence=h["confidence"])
                     for h in result.hits],
                    {name: {k: v for k, v in scores.items() if k in ("toxicity", "severe_toxicity", "insult",
                                                                    "threat", "identity_attack")}
                     for name, scores in result.scores.items()},
                    heat=parts["heat"])
    assert again.rules == pytest.approx(parts["rules"], abs=1e-4)
    assert again.model == pytest.approx(parts["model"], abs=1e-4)
