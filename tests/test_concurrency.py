"""Several app processes and workers share PostgreSQL: row locks and SKIP LOCKED keep claims and decisions
correct. Each test holds one transaction open in a thread while another session runs into it."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, update

from moderation.assess.pipeline import Pipeline
from moderation.store import events
from moderation.assess import persist as repo
from moderation.store import webhooks as outbox
from moderation.store.decisions import AlreadyDecided, decide
from moderation.store.models import Comment, Decision, utcnow
from tests.test_store import batch, load

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db", ["postgresql"], indirect=True)]
HOLD = 0.5  # seconds the first transaction stays open


def held(db, n: int = 1) -> list[int]:  # noqa: ANN001
    load(db, batch([(f"c{i}", None, "Du Idiot") for i in range(n)], source="example-news"))
    with db.session() as s:
        comments = list(s.scalars(select(Comment).order_by(Comment.id)))
        for c in comments:
            c.status = "held"
        return [c.id for c in comments]


def in_thread(work) -> tuple[threading.Thread, dict]:  # noqa: ANN001
    out: dict = {}

    def run() -> None:
        start = time.perf_counter()
        try:
            out["value"] = work()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out["error"] = exc
        out["took"] = time.perf_counter() - start

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def hold_open(db, work, ready: threading.Event):  # noqa: ANN001, ANN201
    """Run work in a transaction that commits HOLD seconds after `ready` is set."""
    def run():  # noqa: ANN202
        with db.session() as s:
            value = work(s)
            ready.set()
            time.sleep(HOLD)
            return value
    return run


def test_two_moderators_deciding_one_comment_one_wins(db):
    [cid] = held(db)
    ready = threading.Event()
    first, first_out = in_thread(hold_open(db, lambda s: decide(s, cid, "approve", "anna", expected_status="held"),
                                           ready))
    ready.wait(5)
    second, second_out = in_thread(lambda: _decide(db, cid, "reject", "ben"))
    first.join()
    second.join()
    assert "error" not in first_out
    assert isinstance(second_out["error"], AlreadyDecided) and "anna" in str(second_out["error"])
    assert second_out["took"] > HOLD * 0.6  # it waited on the row lock, not on anything in this process
    with db.session() as s:
        assert [(d.action, d.actor) for d in s.scalars(select(Decision))] == [("approve", "anna")]


def _decide(db, cid: int, action: str, actor: str):  # noqa: ANN001, ANN202
    with db.session() as s:
        return decide(s, cid, action, actor, expected_status="held").id


def test_many_moderators_on_few_comments_decide_each_once(db):
    ids = held(db, 5)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def moderator(n: int) -> None:
        barrier.wait()
        for cid in ids:
            try:
                _decide(db, cid, "approve" if n % 2 else "reject", f"mod{n}")
                outcomes.append("won")
            except AlreadyDecided:
                outcomes.append("lost")

    threads = [threading.Thread(target=moderator, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 5 and outcomes.count("lost") == 45
    with db.session() as s:
        per_comment = dict(s.execute(select(Decision.comment_id, func.count()).group_by(Decision.comment_id)).all())
        assert per_comment == dict.fromkeys(ids, 1)
        assert sorted(e.payload["id"] for e in s.scalars(select(events.Event))) == sorted(f"c{i}" for i in range(5))


def test_a_late_assessment_never_overwrites_a_moderator(db, ruleset):
    [cid] = held(db)
    pipeline = Pipeline(ruleset)
    with db.session() as s:  # read before the moderator acts, as triage and workers do
        comment = s.get(Comment, cid)
        assessment = pipeline.assess(repo.items_for(s, [comment]))[0]
    ready = threading.Event()
    moderator, _ = in_thread(hold_open(db, lambda s: decide(s, cid, "approve", "anna"), ready))
    ready.wait(5)

    def late_triage():  # noqa: ANN202
        with db.session() as s:
            return repo.save(s, [s.get(Comment, cid)], [assessment])

    triage, out = in_thread(late_triage)
    moderator.join()
    triage.join()
    assert "error" not in out and out["took"] > HOLD * 0.6
    with db.session() as s:
        comment = s.get(Comment, cid)
        assert (comment.status, comment.decided_by_human) == ("approved", True)


def test_feed_cursors_follow_commit_order(db):
    first_id, second_id = held(db, 2)
    ready = threading.Event()
    first, _ = in_thread(hold_open(db, lambda s: decide(s, first_id, "approve", "anna"), ready))
    ready.wait(5)
    second, _ = in_thread(lambda: _decide(db, second_id, "reject", "ben"))
    time.sleep(HOLD / 2)
    with db.session() as s:  # while the first is open, no later cursor may be visible
        assert events.since(s, "example-news") == []
    first.join()
    second.join()
    with db.session() as s:
        assert [(e["cursor"], e["id"]) for e in events.since(s, "example-news")] == [(1, "c0"), (2, "c1")]


def test_a_polling_reader_sees_every_event_exactly_once(db):
    ids = held(db, 40)
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            with db.session() as s:
                page = events.since(s, "example-news", cursor)
            seen.extend(e["cursor"] for e in page)
            cursor = page[-1]["cursor"] if page else cursor
            if finished and not page:
                return

    def moderator(part: list[int]) -> None:
        for cid in part:
            _decide(db, cid, "approve", "mod")

    poll = threading.Thread(target=reader)
    poll.start()
    workers = [threading.Thread(target=moderator, args=(ids[i::4],)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    done.set()
    poll.join()
    assert seen == list(range(1, 41))


def test_webhook_workers_claim_disjoint_deliveries_without_waiting(db):
    ids = held(db, 6)
    with db.session() as s:
        outbox.add_endpoint(s, "example-news", "http://127.0.0.1:9/hook")
    with db.session() as s:
        for cid in ids:
            decide(s, cid, "approve", "mod")
    with db.session() as s:  # due now, whatever an inline attempt after the commit made of them
        s.execute(update(outbox.WebhookDelivery).values(state="pending", next_attempt_at=utcnow()))
    ready = threading.Event()
    first, first_out = in_thread(hold_open(db, lambda s: [j.delivery_id for j in outbox.claim(s, limit=4)], ready))
    ready.wait(5)

    def second_claim():  # noqa: ANN202
        with db.session() as s:
            return [j.delivery_id for j in outbox.claim(s, limit=10)]

    second, second_out = in_thread(second_claim)
    second.join()
    first.join()
    assert second_out["took"] < HOLD * 0.6  # skipped the locked rows instead of waiting for them
    assert len(first_out["value"]) == 4 and len(second_out["value"]) == 2
    assert not set(first_out["value"]) & set(second_out["value"])
    with db.session() as s:  # both leases hold: nothing is due until they run out
        assert outbox.claim(s) == []


def test_a_new_rule_set_recorded_by_several_processes_at_once(db, ruleset):
    barrier = threading.Barrier(4)

    def record() -> None:
        barrier.wait()
        with db.session() as s:
            repo.record_ruleset(s, ruleset)

    threads = [in_thread(record) for _ in range(4)]
    for t, _ in threads:
        t.join()
    assert all("error" not in out for _, out in threads)



def test_instances_starting_together_migrate_once(db):
    """Every process opening the database migrates it; on a fresh database they take turns."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    from moderation.store import Database  # noqa: PLC0415
    from tests.conftest import POSTGRES_ADMIN_URL  # noqa: PLC0415

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"moderation_test_fresh_{time.time_ns() % 10**9}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        barrier = threading.Barrier(4)

        def start() -> None:
            barrier.wait()
            Database(url).dispose()

        threads = [in_thread(start) for _ in range(4)]
        for t, _ in threads:
            t.join(60)
        assert all(not t.is_alive() and "error" not in out for t, out in threads)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_processes_starting_together_make_one_first_rule_revision(db):
    from moderation.store import revisions  # noqa: PLC0415
    from tests.conftest import RULES  # noqa: PLC0415

    barrier = threading.Barrier(4)

    def start():  # noqa: ANN202
        barrier.wait()
        with db.session() as s:
            return revisions.active_ruleset(s, RULES).version

    threads = [in_thread(start) for _ in range(4)]
    for t, _ in threads:
        t.join(60)
    assert all("error" not in out for _, out in threads), [out.get("error") for _, out in threads]
    assert len({out["value"] for _, out in threads}) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(revisions.RuleRevision)) == 1
