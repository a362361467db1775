"""Triage policy: confident rejects only, hold_only rules, failures never approve, pre-moderation modes."""
from __future__ import annotations

import pytest

from moderation import scoring
from moderation.domain.comments import Action
from moderation.config import Config
from moderation.assess.pipeline import Item, Pipeline
from moderation.rules import Evaluation, Hit
from moderation.rules.schema import Policy
from moderation.scoring import ScorerUnavailable
from moderation.assess.triage import decide


def hit(rule="r", action="hold", priority=50, confidence=1.0, experimental=False) -> Hit:
    return Hit(rule, f"stated {rule}", action, None, priority, confidence, [], confidence, None, "", experimental)


POLICY = Policy(reject_at=0.97, hold_only=("defamation",))


def test_no_hits_approves():
    assert decide(Evaluation(), POLICY).decision is Action.APPROVE


def test_confident_reject_rejects_and_weak_reject_holds():
    assert decide(Evaluation([hit(action="reject", confidence=0.99)]), POLICY).decision is Action.REJECT
    weak = decide(Evaluation([hit(action="reject", confidence=0.9)]), POLICY)
    assert weak.decision is Action.HOLD and "stated r" in weak.explanation


def test_independent_evidence_combines_to_reject():
    v = decide(Evaluation([hit("a", "reject", confidence=0.85), hit("b", "reject", confidence=0.85)]), POLICY)
    assert v.decision is Action.REJECT and "0.98" in v.explanation


def test_hold_only_rule_never_rejects_alone():
    v = decide(Evaluation([hit("defamation", "hold", 70)]), POLICY)
    assert v.decision is Action.HOLD and v.priority == 70
    both = decide(Evaluation([hit("defamation", "hold"), hit("slur", "reject", 95, 0.99)]), POLICY)
    assert both.decision is Action.REJECT


def test_failures_hold_and_never_approve():
    v = decide(Evaluation(failures=[{"rule": "r", "error": "no score for label 'insult'"}]), POLICY)
    assert v.decision is Action.HOLD and "evidence incomplete" in v.explanation
    assert decide(Evaluation([hit(action="approve", priority=99)]), POLICY,
                  scorer_errors=["scorer x failed"]).decision is Action.HOLD


def test_experimental_hits_do_not_act():
    ev = Evaluation(shadow_hits=[hit(action="reject", confidence=1.0, experimental=True)])
    assert decide(ev, POLICY).decision is Action.APPROVE


def test_approve_rule_outranks_lower_holds_only():
    assert decide(Evaluation([hit("ok", "approve", 90), hit("h", "hold", 50)]), POLICY).decision is Action.APPROVE
    assert decide(Evaluation([hit("ok", "approve", 40), hit("h", "hold", 50)]), POLICY).decision is Action.HOLD


@pytest.mark.parametrize("mode, approved, expected, flagged", [
    ("all", 10, Action.HOLD, False),
    ("flagged", 0, Action.APPROVE, False),
    ("new_authors", 1, Action.HOLD, False),
    ("new_authors", 3, Action.APPROVE, False),
    ("none", 0, Action.APPROVE, False),
])
def test_premoderation_modes_without_hits(mode, approved, expected, flagged):
    v = decide(Evaluation(), Policy(premoderation=mode, new_author_approvals=3), author_approved=approved)
    assert (v.decision, v.flagged) == (expected, flagged)


def test_no_premoderation_publishes_flagged_comments():
    v = decide(Evaluation([hit(priority=60)]), Policy(premoderation="none"))
    assert (v.decision, v.flagged, v.priority) == (Action.APPROVE, True, 60)
    assert decide(Evaluation([hit(action="reject", confidence=1.0)]), Policy(premoderation="none")).decision \
        is Action.REJECT


def test_per_article_override():
    assert decide(Evaluation(), POLICY, premoderation="all").decision is Action.HOLD


class Broken:
    name, version, labels = "broken", "0", ("insult",)

    def score(self, texts, languages=None):
        raise RuntimeError("model server down")


def test_scorer_outage_sends_to_human_review(ruleset):
    a = Pipeline(ruleset, [Broken()]).assess_one(Item("Sehr guter Artikel, danke für die Recherche."))
    assert a.decision is Action.HOLD
    assert any("model server down" in f for f in a.failures)


def test_unavailable_scorer_is_reported_and_the_rest_still_decides(ruleset, monkeypatch):
    def unavailable(config, rs):
        raise ScorerUnavailable("weights missing: set MODERATION_DETOXIFY_CHECKPOINT")

    monkeypatch.setitem(scoring.REGISTRY, "gone", unavailable)
    scorers, problems = scoring.build_scorers(["lexicon", "gone"], Config(), ruleset)
    assert [s.name for s in scorers] == ["lexicon"] and "weights missing" in problems[0]
    a = Pipeline(ruleset, scorers, load_problems=problems).assess_one(Item("Sehr guter Artikel, danke."))
    assert a.decision is Action.HOLD and any("weights missing" in f for f in a.failures)  # missing evidence holds


def test_pipeline_explains_with_spans_and_versions(ruleset):
    p = Pipeline.from_config(Config(), ruleset)
    a = p.assess_one(Item("Du bist ein Idiot."))
    assert a.decision is Action.HOLD and a.language.language == "de"
    (attack,) = [h for h in a.hits if h.rule_id == "personal-attack"]
    assert {sp.text for sp in attack.spans} >= {"Du", "Idiot"}
    assert a.ruleset_version == ruleset.version and "lexicon" in a.scorer_versions
    data = a.to_dict()
    assert data["hits"][0]["spans"][0].keys() >= {"start", "end", "text"}
