"""The live API's request path stays lean: the SQL statements one submission sends are counted and pinned, and the
one-statement reads it uses agree with the general ones they stand in for (a differential oracle)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from moderation.assess import persist
from moderation.store.models import Comment
from tests.live import api_key, bearer, make_app
from tests.test_store import batch, load

# A new top-level comment on a known article, a reply, and a comment with a rule hit: look-up, comment insert,
# context, then the result write: on PostgreSQL one statement (result, hits and the comment's state through
# data-modifying CTEs), on SQLite the result insert, the hits insert when there are hits, the comment update.
# The held comment with a hit also reads the queue's expected wait for its answer (two statements after commit).
PINNED = {"postgresql": {"comment": 4, "reply": 4, "hit": 4 + 2},
          "sqlite": {"comment": 5, "reply": 5, "hit": 6 + 2}}


@contextmanager
def counted(engine) -> Iterator[Counter]:
    """Statements sent on `engine` while inside, by their first word (BEGIN/COMMIT are not statements here)."""
    seen: Counter = Counter()

    def count(conn, cursor, statement, params, context, executemany) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_submission_sends_the_pinned_number_of_statements(db, tmp_path):
    app = make_app(db, tmp_path)
    client, key = app.test_client(), api_key(db)

    def post(cid: str, **fields: object) -> dict:
        r = client.post("/api/v1/comments", json={"id": cid, "article_id": "a1", "author": "leserin",
                                                  "text": "Danke für den Artikel, gut recherchiert.", **fields},
                        headers=bearer(key))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    post("first")  # the article is new: the general import path; the key is read and cached
    engine = app.extensions["desk"].db.engine
    with counted(engine) as top:
        post("second")
    with counted(engine) as reply:
        post("third", parent_id="second")
    with counted(engine) as hit:
        verdict = post("fourth", text="Du bist ein Idiot.")
    assert verdict["reasons"] and verdict["decision"] == "hold", verdict  # a rule hit: its row is written too
    pinned = PINNED[engine.dialect.name]
    assert sum(top.values()) == pinned["comment"], top
    assert sum(reply.values()) == pinned["reply"], reply
    assert sum(hit.values()) == pinned["hit"], hit
    if engine.dialect.name == "postgresql":
        assert top["INSERT"] == 1 and top["WITH"] == 1  # the comment; its result with the comment's state
    else:
        assert top["INSERT"] == 2 and top["UPDATE"] == 1  # the comment, its result; the comment's state


names = st.sampled_from(["anna", "Bert", "carla", "dora", "émile", "Zoë", None])
statuses = st.sampled_from(["new", "approved", "held", "rejected"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(names, statuses, st.sampled_from(["a1", "a2"])), min_size=1, max_size=25),
       author=names)
def test_the_one_statement_thread_context_agrees_with_the_separate_reads(db, rows, author):
    with db.session() as s:
        s.query(Comment).delete()
    for article in ("a1", "a2"):
        mine = [(f"{article}-{i}", None, "Text", None) for i, row in enumerate(rows) if row[2] == article]
        if mine:
            load(db, batch([m[:3] for m in mine], article=article))
    with db.session() as s:
        for i, (name, status, article) in enumerate(rows):
            s.execute(update(Comment).where(Comment.external_id == f"{article}-{i}").values(author=name,
                                                                                          status=status))
    with db.session() as s:
        for art_id in {c.article_id for c in s.query(Comment)}:
            participants, history, heat = persist._thread_context(s, art_id, author)
            assert participants == {art_id: persist._participants(s, art_id)}
            expected = persist.author_history(s, [author]) if author else {}
            assert history == {k: dict(v) for k, v in expected.items()} or (
                author and history == {author: {}} and not expected)
            assert heat == {art_id: dict(persist._thread_statuses(s, {art_id}).get(art_id, {}))}


@pytest.fixture
def db(db):
    return db
