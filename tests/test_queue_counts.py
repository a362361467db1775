"""The queue's tab counts are exact right after every decision, over real HTTP (`moderation serve` on SQLite, gunicorn
with three worker processes on PostgreSQL, each with its own count cache): a decision's answer carries the counts
read after it, the tabs polled by another moderator agree, and eight moderators deciding at once never see a count
that misses or doubles a comment."""
from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import func, select

from moderation.store import Database
from moderation.store.models import Comment
from moderation.store.queue import QUEUES, queue_condition
from tests.test_race_http import MODS, Client, desk  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow
TOTAL = 60  # test_race_http.prepare: 20 comments with a reply and a reply to that, all held


def truth(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.session() as s:
            return {n: s.scalar(select(func.count()).select_from(Comment).where(queue_condition(n))) for n in QUEUES}
    finally:
        db.dispose()


def tabs(client: Client) -> dict[str, int]:
    """The counts the tabs show, as the htmx poll fetches them."""
    page = client.get("/queue/counts", queue="pending")
    found = dict(re.findall(r'data-queue="([\w-]+)"[^>]*>[^<]*<span class="count">([\d.,\s]+)</span>', page))
    assert set(found) == set(QUEUES), page[:500]
    return {k: int(re.sub(r"\D", "", v)) for k, v in found.items()}


def ids_in(url: str) -> list[int]:
    db = Database(url)
    try:
        with db.session() as s:
            return list(s.scalars(select(Comment.id).order_by(Comment.id)))
    finally:
        db.dispose()


def test_counts_are_exact_right_after_each_decision_and_undo(desk):  # noqa: F811
    url, base, _ = desk
    me, other = Client(base, MODS[0]), Client(base, MODS[1])
    assert tabs(other) == truth(url) and truth(url)["pending"] == TOTAL
    for k, cid in enumerate(ids_in(url)[:12]):
        view = me.card(cid)
        action = "approve" if k % 3 else "reject"
        r = me.post(f"/queue/comments/{cid}/decide", {"action": action, "seen": view["seen"],
                                                      "reason": "offensive", "csrf_token": view["csrf"]})
        assert r.status_code == 200, r.text
        now = truth(url)
        # The answer's counts and the tabs another moderator polls right after: both already count this decision.
        assert r.json()["counts"] == now, (k, r.json()["counts"], now)
        assert tabs(other) == now
        assert sum(now[n] for n in ("pending", "approved", "rejected")) == TOTAL
        if k % 4 == 3:  # one's own undo: counted back at once
            u = me.post("/queue/undo", {"decisions": ",".join(map(str, r.json()["decisions"])),
                                        "csrf_token": view["csrf"]})
            assert u.status_code == 200, u.text
            assert u.json()["counts"] == truth(url) == tabs(other)


def test_racing_moderators_never_see_a_count_that_misses_or_doubles_a_comment(desk):  # noqa: F811
    url, base, _ = desk
    ids = ids_in(url)
    clients = [Client(base, MODS[i % 2]) for i in range(8)]
    views = {cid: clients[0].card(cid) for cid in ids}
    tokens = [c.card(ids[0])["csrf"] for c in clients]  # each tab its own session's token
    log_lock = threading.Lock()
    wins: list[tuple[float, float, int]] = []  # each successful decision: sent, answered, comments decided then
    problems: list[str] = []
    barrier = threading.Barrier(len(clients) + 1)

    def work(i: int) -> None:
        client = clients[i]
        barrier.wait()
        for cid in ids:  # every client tries every comment: one wins each version
            action = "approve" if (cid + i) % 2 else "reject"
            started = time.monotonic()
            r = client.post(f"/queue/comments/{cid}/decide", {"action": action, "seen": views[cid]["seen"],
                                                              "reason": "spam", "csrf_token": tokens[i]})
            finished = time.monotonic()
            if r.status_code != 200:
                if r.status_code != 409:
                    problems.append(f"{cid}: {r.status_code} {r.text[:200]}")
                continue
            counts = r.json()["counts"]
            with log_lock:
                wins.append((started, finished, TOTAL - counts["pending"]))
            if counts["pending"] + counts["approved"] + counts["rejected"] != TOTAL:
                problems.append(f"{cid}: counts do not add up: {counts}")

    def poll() -> None:  # a ninth moderator's tabs while the others decide: always adding up
        barrier.wait()
        deadline = time.monotonic() + 120
        while len(wins) < TOTAL and time.monotonic() < deadline:
            seen = tabs(clients[0])
            if seen["pending"] + seen["approved"] + seen["rejected"] != TOTAL:
                problems.append(f"tabs do not add up: {seen}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    poller = threading.Thread(target=poll)
    for t in [*threads, poller]:
        t.start()
    for t in threads:
        t.join(120)
    poller.join(30)
    assert problems == []
    assert len(wins) == TOTAL  # each comment decided exactly once
    for started, finished, decided in wins:
        # Read after its own decision committed: it counts at least itself and every decision answered before it
        # was sent, and at most the decisions sent before its answer came back.
        low = 1 + sum(1 for _, f, _ in wins if f < started)
        high = sum(1 for s, _, _ in wins if s < finished)
        assert low <= decided <= high, (started, decided, low, high)
    final = truth(url)
    assert final["pending"] == 0 and final == tabs(clients[1]) == tabs(clients[5])
