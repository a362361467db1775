"""The batch view's core (services/batch, store/batches) on SQLite and PostgreSQL: bins add up to the queue, a range
selects what an SQL filter on the same edges selects, exclusions, apply on the versions seen, and undo of a whole
batch that skips what changed since."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, func, select, update

from moderation.services import batch
from moderation.services.review import decide_seen
from moderation.store import Comment, Decision
from moderation.store import queue as q
from moderation.store.batches import Batch, BatchUndone
from moderation.store.decisions import DecisionError
from tests.browser import seed

PENDING = q.Filters()


@pytest.fixture
def seeded(db):
    seed(db)
    return db


class Rollback(Exception):
    """Ends a hypothesis example's transaction without keeping anything."""


def reference(session, rng: batch.Range, measure_col=Comment.risk) -> set[int]:
    """The range as a plain SQL filter on the same edges: the oracle the binning must agree with."""
    lo, hi = batch.edges(rng.bins)[rng.low], batch.edges(rng.bins)[rng.high + 1]
    where = [Comment.status == "held"]
    if rng.low > 0:
        where.append(measure_col >= lo)
    if rng.high < rng.bins - 1:
        where.append(measure_col < hi)
    return set(session.scalars(select(Comment.id).where(and_(*where))))


def statuses(session) -> dict[int, tuple[str, int]]:
    return {i: (s, v) for i, s, v in session.execute(select(Comment.id, Comment.status, Comment.version))}


def test_bins_sum_to_the_queue_and_the_full_range_selects_it_all(seeded):
    with seeded.session() as s:
        held = s.scalar(select(func.count()).select_from(Comment).where(Comment.status == "held"))
        v = batch.view(s, PENDING, "risk", batch.Range.parse(None, None))
        assert held >= 8 and v.total == held and v.missing == 0 and len(v.counts) == batch.BINS
        assert len(v.selected) == held
        # A label's scores: every held comment has the shipped lexicon's insult score.
        lv = batch.view(s, PENDING, "lexicon:insult", batch.Range.parse(None, None))
        assert lv.total + lv.missing == held and lv.total == held
        # A label no scorer stored: nothing in any bin, every comment counted as missing, nothing selectable.
        none = batch.view(s, PENDING, "nosuch:label", batch.Range.parse(None, None))
        assert none.total == 0 and none.missing == held and none.selected == []


def test_each_range_selects_what_the_sql_filter_on_its_edges_selects(seeded):
    with seeded.session() as s:
        for low in range(0, batch.BINS, 3):
            for high in range(low, batch.BINS, 4):
                rng = batch.Range(low, high)
                got = {x.id for x in batch.view(s, PENDING, "risk", rng).selected}
                assert got == reference(s, rng), (low, high)


def test_range_parsing_names_the_bad_field():
    assert batch.Range.parse("7", "2") == batch.Range(2, 7)
    for bad in (("x", "3"), ("-1", "3"), ("0", str(batch.BINS))):
        with pytest.raises(ValueError, match="range"):
            batch.Range.parse(*bad)


EDGE_VALUES = st.one_of(st.sampled_from([i / batch.BINS for i in range(batch.BINS + 1)]),
                        st.floats(-0.5, 1.5, allow_nan=False), st.sampled_from([0.0, 1.0, 0.15, 0.3, 0.7]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_risks_ranges_and_exclusions_decide_exactly_the_reference(seeded, data):
    with pytest.raises(Rollback), seeded.session() as s:
        ids = list(s.scalars(select(Comment.id).where(Comment.status == "held").order_by(Comment.id)))
        for cid in ids:
            s.execute(update(Comment).where(Comment.id == cid).values(risk=data.draw(EDGE_VALUES)))
        low, high = data.draw(st.integers(0, batch.BINS - 1)), data.draw(st.integers(0, batch.BINS - 1))
        rng = batch.Range.parse(low, high)
        v = batch.view(s, PENDING, "risk", rng)
        assert sum(v.counts) == len(ids)
        expected = reference(s, rng)
        assert {x.id for x in v.selected} == expected
        excluded = set(data.draw(st.lists(st.sampled_from(ids), max_size=len(ids))))
        chosen = batch.included(v.selected, excluded)
        assert set(chosen) == expected - excluded
        before = statuses(s)
        if chosen:
            out = batch.apply(s, PENDING, "risk", rng, chosen, "hold", "mo")
            assert sorted(out.decided) == sorted(chosen) and out.skipped == []
            after = statuses(s)
            changed = {i for i in before if before[i] != after[i]}
            assert changed == set(chosen)  # the version moved on for exactly the chosen ones
        raise Rollback


def test_apply_needs_an_explicit_action_and_a_reason_to_reject(seeded):
    with seeded.session() as s:
        v = batch.view(s, PENDING, "risk", batch.Range.parse(None, None))
        chosen = batch.included(v.selected, set())
        for action, reason, message in ((None, None, "action"), ("", None, "action"), ("delete", None, "action"),
                                        ("reject", None, "reason"), ("reject", "", "reason")):
            with pytest.raises(DecisionError, match=message):
                batch.apply(s, PENDING, "risk", batch.Range.parse(None, None), chosen, action, "mo",
                            reason_code=reason)
        with pytest.raises(DecisionError, match="nothing selected"):
            batch.apply(s, PENDING, "risk", batch.Range.parse(None, None), {}, "approve", "mo")
        assert s.scalar(select(func.count()).select_from(Batch)) == 0


def test_apply_skips_what_changed_since_and_what_left_the_range(seeded):
    rng = batch.Range.parse(None, None)
    with seeded.session() as s:
        chosen = batch.included(batch.view(s, PENDING, "risk", rng).selected, set())
    first, second, *rest = sorted(chosen)
    with seeded.session() as s:  # another moderator approves one; another comment is re-scored out of the range
        decide_seen(s, first, "approve", "mo2", seen=chosen[first])
    narrow = batch.Range(batch.bin_of(0.5), batch.BINS - 1)
    with seeded.session() as s:
        s.execute(update(Comment).where(Comment.id == second).values(risk=0.01))
    with seeded.session() as s:
        out = batch.apply(s, PENDING, "risk", narrow, chosen, "reject", "mo", reason_code="spam")
    assert dict(out.skipped).keys() == {first, second} and "mo2 approved" in dict(out.skipped)[first]
    assert sorted(out.decided) == sorted(rest)
    with seeded.session() as s:
        assert s.get(Comment, first).status == "approved" and s.get(Comment, second).status == "held"
        assert {s.get(Comment, i).status for i in rest} == {"rejected"}
        stored = s.get(Batch, out.batch_id)
        assert (stored.action, stored.reason_code, stored.actor, sorted(stored.decision_ids)) == (
            "reject", "spam", "mo", sorted(out.decisions))
        assert {d.note for d in s.scalars(select(Decision).where(Decision.id.in_(out.decisions)))} == {
            f"batch {out.batch_id}"}


def test_undo_restores_exactly_the_batch_and_skips_comments_changed_since(seeded):
    rng = batch.Range.parse(None, None)
    with seeded.session() as s:
        chosen = batch.included(batch.view(s, PENDING, "risk", rng).selected, set())
        before = statuses(s)
    keep_out = min(chosen)
    chosen.pop(keep_out)  # excluded: must stay as it was through apply and undo
    with seeded.session() as s:
        out = batch.apply(s, PENDING, "risk", rng, chosen, "reject", "mo", reason_code="offensive")
    changed, single = out.decided[0], out.decided[1]
    with seeded.session() as s:  # someone else decides one again; the moderator undoes another on its own
        decide_seen(s, changed, "approve", "mo2", seen=s.get(Comment, changed).version)
        from moderation.store.decisions import undo as undo_one
        undo_one(s, out.decisions[1], "mo")
    with seeded.session() as s, pytest.raises(DecisionError, match="only the moderator"):
        batch.undo(s, out.batch_id, "mo2")
    with seeded.session() as s:
        done = batch.undo(s, out.batch_id, "mo")
    assert sorted(done.restored) == sorted(set(out.decided) - {changed, single})
    assert dict(done.skipped).keys() == {changed, single} and "mo2" in dict(done.skipped)[changed]
    with seeded.session() as s:
        after = statuses(s)
        assert s.get(Comment, changed).status == "approved"  # never overwritten
        for cid in set(before) - {changed}:
            assert after[cid][0] == before[cid][0], cid  # everything else is as before the batch
        assert after[keep_out] == before[keep_out]
        assert s.get(Batch, out.batch_id).undone_by == "mo"
    with seeded.session() as s, pytest.raises(BatchUndone):
        batch.undo(s, out.batch_id, "mo")


def test_undo_only_within_the_queues_window(seeded):
    rng = batch.Range.parse(None, None)
    with seeded.session() as s:
        chosen = batch.included(batch.view(s, PENDING, "risk", rng).selected, set())
        out = batch.apply(s, PENDING, "risk", rng, chosen, "approve", "mo")
        stored = s.get(Batch, out.batch_id)
        stored.created_at = stored.created_at - timedelta(seconds=batch.UNDO_SECONDS + 1)
    with seeded.session() as s, pytest.raises(DecisionError, match="too late"):
        batch.undo(s, out.batch_id, "mo")
    with seeded.session() as s:
        assert {s.get(Comment, i).status for i in chosen} == {"approved"}
        assert s.get(Batch, out.batch_id).undone_at is None
