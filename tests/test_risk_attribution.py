"""The card's risk explanation: each part's contribution, adding up to the risk that triage computed
(a differential oracle against assess/risk.combine), largest first, and a part at certainty taking it all."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.assess.attribution import attribute, risk_of
from moderation.assess.risk import combine
from tests.test_risk import hit

unit = st.floats(0, 1)


@given(st.lists(st.tuples(st.sampled_from(["hold", "reject"]), st.integers(0, 100), unit), max_size=4),
       unit, st.integers(0, 50), st.integers(0, 50), unit, st.floats(0, 50))
def test_contributions_add_up_to_the_risk_combine_computed(hits, model, ok, bad, heat, reports):
    parts = combine([hit(action=a, priority=p, confidence=c) for a, p, c in hits], {"m": {"t": model}},
                    author_approved=ok, author_rejected=bad, heat=heat, reports=reports)
    shares = attribute(parts.to_dict())
    assert [s.part for s in sorted(shares, key=lambda s: s.part)] == ["author", "heat", "model", "reports", "rules"]
    assert sum(s.contribution for s in shares) == pytest.approx(parts.risk, abs=2e-4)  # to_dict rounds to 1e-4
    assert all(s.contribution >= 0 for s in shares)
    assert [s.contribution for s in shares] == sorted((s.contribution for s in shares), reverse=True)


@given(unit, unit, unit, unit)
def test_a_part_whose_term_is_larger_contributes_more(rules, model, author, heat):
    shares = {s.part: s for s in attribute({"rules": rules, "model": model, "author": author, "heat": heat})}
    for a in shares.values():
        for b in shares.values():
            if a.term > b.term + 1e-9:
                assert a.contribution >= b.contribution - 1e-12


def test_weights_scale_the_parts_and_certainty_takes_the_whole_risk():
    shares = {s.part: s for s in attribute({"rules": 0.0, "model": 0.4, "author": 0.4, "heat": 0.0, "risk": 0.3})}
    assert shares["model"].contribution > shares["author"].contribution > 0  # 0.5 × 0.4 beats 0.35 × 0.4
    assert shares["rules"].contribution == shares["heat"].contribution == 0
    certain = {s.part: s.contribution for s in attribute({"rules": 1.0, "model": 0.9, "author": 0.5, "heat": 0.1})}
    assert certain == {"rules": 1.0, "model": 0.0, "author": 0.0, "heat": 0.0}
    assert risk_of({}) == 0.0


def test_a_part_the_weights_do_not_know_counts_at_full_weight_and_after_the_known_ones():
    shares = attribute({"rules": 0.2, "velocity": 0.2})  # a part added later still explains (reports have a weight)
    assert [s.part for s in shares] == ["rules", "velocity"] and shares[0].contribution == shares[1].contribution


def test_every_card_explains_its_stored_risk_in_the_desk_language(db, tmp_path):
    from sqlalchemy import select

    from moderation.store.models import Comment
    from tests.browser import make_app, seed
    from tests.test_queue import client_for

    seed(db)
    app = make_app(db, tmp_path, TESTING=True)
    with db.session() as s:
        stored = dict(s.execute(select(Comment.id, Comment.risk).where(Comment.triage_id.is_not(None))).all())
    mo = client_for(app, "mo")
    for comment_id, risk in stored.items():
        card = mo.get(f"/queue/comments/{comment_id}?fragment=1").get_data(as_text=True)
        shown = float(re.search(r'class="riskparts" data-risk="([0-9.]+)"', card).group(1))
        parts = [float(x) for x in re.findall(r'data-contribution="([0-9.]+)"', card)]
        assert shown == pytest.approx(risk, abs=2e-4) and sum(parts) <= shown + 1e-3, comment_id
    german = mo.get(f"/queue/comments/{max(stored, key=stored.get)}?fragment=1",
                    headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert "Regeln +" in german and "Risiko " in german
    english = mo.get(f"/queue/comments/{max(stored, key=stored.get)}?fragment=1",
                     headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "rules +" in english
