"""Stored aggregates: the research page reads them in a bounded number of statements; the workers refresh them."""
from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import event, insert, select

from moderation.research import aggregates
from moderation.research.commenttable import COLUMNS, DICTIONARY, pseudonymised_text
from moderation.research.pseudonyms import Pseudonymizer, for_config
from moderation.research.topics import without_links
from moderation.store.decisions import decide
from moderation.store import Comment, Decision, TriageResult
from moderation.store import aggregates as store
from moderation.worker import tasks
from tests.test_research_web import app, english, researcher  # noqa: F401
from tests.test_web_auth import login
from web import research


class Statements:
    """Counts the SQL statements an engine executes while active."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine, self.count = engine, 0

    def _seen(self, *args) -> None:  # noqa: ANN002
        self.count += 1

    def __enter__(self) -> "Statements":
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _copy_comments(db, times: int) -> None:  # noqa: ANN001
    """Bulk-copy every stored comment `times` times (new ids, same article, no parent): a bigger site."""
    with db.session() as s:
        rows = s.execute(select(Comment.article_id, Comment.text, Comment.author, Comment.created_at,
                                Comment.language)).all()
        top = s.scalar(select(Comment.id).order_by(Comment.id.desc()).limit(1))
    batch = [{"source": "copy", "external_id": f"c{k}-{i}", "article_id": a, "text": t, "author": au,
              "created_at": c, "language": lang, "kind": "comment", "meta": {}, "status": "approved", "depth": 0,
              "orphan": False, "version": 0}
             for k in range(times) for i, (a, t, au, c, lang) in enumerate(rows)]
    with db.engine.begin() as conn:
        conn.execute(insert(Comment), batch)
    assert top


def _page_statements(app, db) -> tuple[int, str]:  # noqa: ANN001, F811
    app.extensions["desk"].db  # noqa: B018 - opened before counting
    client = app.test_client()
    login(client, "re", "researcher-pass")
    with Statements(app.extensions["desk"].db.engine) as counter:
        page = client.get("/research/").get_data(as_text=True)
    return counter.count, page


def test_the_page_reads_stored_figures_in_a_bounded_number_of_statements(app, db, monkeypatch):  # noqa: F811
    """Whatever the number of comments, the page is a handful of statements and never computes the figures."""
    monkeypatch.setattr(research, "load_db", lambda *a, **k: pytest.fail("the page loaded the comments"))
    monkeypatch.setattr(tasks, "request_refresh", lambda: "asked")
    small, page = _page_statements(app, db)
    assert re.search(r'<span class="muted">comments</span><b>63</b>', page)
    _copy_comments(db, 20)  # 63 -> 1,323 comments
    aggregates.refresh(db, Pseudonymizer(b"k" * 16))
    large, page = _page_statements(app, db)
    assert re.search(r'<span class="muted">comments</span><b>1,323</b>', page)
    assert small == large <= 12, (small, large)


def test_stale_figures_are_shown_and_the_task_refreshes_them(app, db, tmp_path, monkeypatch):  # noqa: F811
    asked = []
    monkeypatch.setattr(tasks, "request_refresh", lambda: asked.append(1) or "asked")
    with db.session() as s:
        pending = s.scalars(select(Comment).where(Comment.decided_by_human.is_(False))).first()
        decide(s, pending.id, "reject", "mo", reason_code="personal-attack")
    before, state = aggregates.read(db, aggregates.ALL)
    assert state["stale"]
    researcher = app.test_client()
    login(researcher, "re", "researcher-pass")
    page = researcher.get("/research/").get_data(as_text=True)
    assert "being refreshed" in page and asked  # the stale figures are shown while the workers are asked
    tasks.configure(app.extensions["desk"].config, db=lambda: db)  # no broker: the task runs where it is called
    assert tasks.refresh_aggregates.apply().get()["refreshed"]
    after, state = aggregates.read(db, aggregates.ALL)
    assert not state["stale"]
    assert after["summary"]["human_decisions"] == before["summary"]["human_decisions"] + 1
    assert tasks.refresh_aggregates.apply().get()["refreshed"] is False  # unchanged data: nothing recomputed
    with db.session() as s:
        assert aggregates.RISK_ORDER in {row.key for row in s.scalars(select(store.Aggregate))}


def test_the_beat_refreshes_the_figures_on_a_schedule(db, tmp_path):
    from moderation.config import Config

    app = tasks.configure(Config(database_url=db.url, instance_path=tmp_path))
    entry = app.conf.beat_schedule["aggregates-refresh"]
    assert entry["task"] == "moderation.refresh_aggregates" and entry["schedule"] <= 600


def test_risk_order_auc_agrees_with_counting_pairs(db):
    """Differential oracle: the stored AUC equals the share of (rejected, approved) pairs ordered right."""
    rng = np.random.default_rng(3)
    with db.engine.begin() as conn:
        from moderation.store import Article  # noqa: PLC0415

        conn.execute(insert(Article), [{"id": 1, "source": "s", "external_id": "a", "placeholder": False}])
        risks = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], size=60)
        rejected = rng.random(60) < risks
        conn.execute(insert(Comment), [{"id": i + 1, "source": "s", "external_id": str(i), "article_id": 1,
                                        "text": "x", "status": "rejected" if r else "approved",
                                        "decided_by_human": i % 7 != 0, "triage_id": i + 1, "depth": 0,
                                        "orphan": False, "kind": "comment", "meta": {}, "version": 0}
                                       for i, r in enumerate(rejected)])
        conn.execute(insert(TriageResult), [{"id": i + 1, "comment_id": i + 1, "decision": "hold",
                                             "risk": float(risk), "ruleset_version": "rs", "scores": {},
                                             "hits": [], "scorer_versions": {}, "shadow_hits": [],
                                             "failures": [], "explanation": ""} for i, risk in enumerate(risks)])
    from moderation.learning.accuracy import risk_order

    human = np.array([i % 7 != 0 for i in range(60)])
    pos, neg = risks[human & rejected], risks[human & ~rejected]
    pairs = [(p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg)]
    result = risk_order(db)
    assert result["decided"] == human.sum() and result["rejected"] == len(pos)
    assert result["auc"] == pytest.approx(sum(pairs) / len(pairs), abs=1e-4)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["peter.k@example.org", "https://x.de/a?b=1", "www.foo.com/x"]))
def test_pseudonymised_text_never_keeps_an_address_or_link(noise, secret):
    text = f"{noise} {secret} {noise}"
    out = pseudonymised_text(text, Pseudonymizer(b"k" * 16))
    assert secret not in out


def test_pseudonymised_text_replaces_names_and_handles():
    p = Pseudonymizer(b"k" * 16)
    out = pseudonymised_text("@Lagerist_a.D. hat recht, schreibt Wahrheitssucher2026", p, ("Wahrheitssucher2026",))
    assert "Lagerist" not in out and "Wahrheitssucher2026" not in out and p("Wahrheitssucher2026") in out


def test_topic_words_carry_no_url_fragments():
    assert without_links("siehe https://www.youtube.com/watch?v=abc und www.spiegel.de/politik/x.html") \
        .split() == ["siehe", "und"]


def test_the_per_comment_download_has_every_column_and_time_to_decision(researcher, app, db):  # noqa: F811
    with db.session() as s:
        pending = s.scalars(select(Comment).where(Comment.decided_by_human.is_(False)).order_by(Comment.id)).first()
        decide(s, pending.id, "reject", "mo", reason_code="personal-attack")
        arrived, ext = pending.imported_at, pending.external_id
        decided_at = s.scalar(select(Decision.created_at).where(Decision.comment_id == pending.id))
    response = researcher.get("/research/comments.csv?text=pseudonymised")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 63
    assert "Lagerist_a.D." not in body and "Wahrheitssucher2026" not in body
    row = next(r for r in rows if r["comment_id"].endswith("/" + ext))
    assert row["human_decision"] == "rejected" and row["reason_code"] == "personal-attack"
    assert int(row["seconds_to_decision"]) == round((decided_at - arrived).total_seconds())
    assert row["model_versions"].startswith("{") and row["ruleset_version"].startswith("rs-")
    assert row["sentiment"] and row["score_toxicity"] and row["language"]
    assert all(r["seconds_to_decision"] == "" for r in rows if r["decisions"] == "1" and r is not row
               and r["human_decision"])  # imported decisions carry no waiting time
    full = list(csv.DictReader(io.StringIO(researcher.get("/research/comments.csv?text=none").get_data(as_text=True))))
    assert {r["text"] for r in full} == {""}
    assert researcher.get("/research/comments.csv?text=raw").status_code == 400
    dictionary = list(csv.DictReader(io.StringIO(researcher.get("/research/dictionary.csv").get_data(as_text=True))))
    assert [d["column"] for d in dictionary] == list(COLUMNS) and all(d["reliability"] for d in dictionary)
    assert len(DICTIONARY) == len(COLUMNS)


def test_the_download_is_for_researchers_only(app):  # noqa: F811
    client = app.test_client()
    login(client, "mo", "moderator-pass")
    assert client.get("/research/comments.csv").status_code == 403
    assert client.get("/research/dictionary.csv").status_code == 403


def test_time_to_decision_is_on_the_page(researcher, app, db):  # noqa: F811
    with db.session() as s:
        pending = s.scalars(select(Comment).where(Comment.decided_by_human.is_(False)).order_by(Comment.id)).first()
        pending.imported_at = pending.imported_at - timedelta(hours=3)
    with db.session() as s:
        decide(s, pending.id, "approve", "mo")
    aggregates.refresh(db, for_config(app.extensions["desk"].config))
    page = researcher.get("/research/").get_data(as_text=True)
    table = re.search(r'id="table-time_to_decision".*?</section>', page, re.S).group(0)
    assert re.search(r'<td[^>]*>all</td><td[^>]*class="num"[^>]*>1</td><td[^>]*class="num"[^>]*>3(\.0\d*)?</td>', table), table  # 3 hours and the test's seconds
