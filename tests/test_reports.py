"""Reader reports: one per reporter and comment, weighed by the reporters' records, into Reported at the threshold
or from a trusted reporter; the public form (CSRF, throttling, escaping), the API, floods over HTTP, Akismet."""
from __future__ import annotations

import re
import threading
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from moderation.services import reports
from moderation.store import queue
from moderation.store import reports as store
from moderation.store.decisions import decide
from moderation.store.models import Comment, TriageResult
from tests.live import api_key, bearer, make_app

CLEAN = "Danke für die gründliche Recherche, das hat mir geholfen."
CLEAN_2 = "Ein guter Artikel, ich stimme dem Autor in fast allem zu."


@pytest.fixture
def app(db, tmp_path):
    return make_app(db, tmp_path, report_limit_per_address="1000 per minute")


@pytest.fixture
def key(db):
    return api_key(db, scopes=("submit", "read", "feedback"))


def submit(client, key, cid: str, text: str = CLEAN, article: str = "a1") -> int:
    answer = client.post("/api/v1/comments", json={"id": cid, "article_id": article, "text": text, "author": "x"},
                         headers=bearer(key))
    assert answer.status_code == 201 and answer.get_json()["status"] == "approved", answer.get_json()
    return answer.get_json()


def comment_id(db, cid: str) -> int:
    with db.session() as s:
        return s.scalar(select(Comment.id).where(Comment.external_id == cid))


def in_reported(db) -> set[int]:
    with db.session() as s:
        return {r.id for r in queue.listing(s, queue.Filters(queue="reported"))}


def report(db, cid: int, reporter: str, reason: str = "offensive", **kw):
    with db.session() as s:
        return reports.report(s, cid, reporter, reason, **kw)


# -- core

def test_the_threshold_moves_a_published_comment_into_reported_and_repeats_count_once(app, key, db):
    submit(app.test_client(), key, "c1")
    cid = comment_id(db, "c1")
    with db.session() as s:
        risk_before = s.get(Comment, cid).risk
    first = report(db, cid, "r1", threshold=3)
    assert (first.created, first.reports, first.queued) == (True, 1, False)
    again = report(db, cid, "r1", "spam", threshold=3)  # the same reader again: the first report stands
    assert (again.created, again.reports, again.report_id) == (False, 1, first.report_id)
    assert report(db, cid, "r2", threshold=3).queued is False and cid not in in_reported(db)
    third = report(db, cid, "r3", "personal-attack", note="  greift Leute an  ", threshold=3)
    assert third.queued and third.reports == 3 and cid in in_reported(db)
    with db.session() as s:
        assert s.get(Comment, cid).risk > risk_before  # reports raise the risk (assess/risk.report_part)
        summary = reports.summary(s, cid)
    assert summary.total == 3 and dict(summary.by_reason) == {"offensive": 2, "personal-attack": 1}
    assert summary.notes == ["greift Leute an"]


def test_one_trusted_report_is_enough_and_bad_input_writes_nothing(app, key, db):
    submit(app.test_client(), key, "c1")
    cid = comment_id(db, "c1")
    for reason, note in (("nonsense", None), ("other", "x" * 501), ("other", "a\x00b")):
        with pytest.raises(reports.ReportError):
            report(db, cid, "r1", reason, note=note)
    with pytest.raises(reports.ReportError):
        report(db, 10**6, "r1")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(store.Report)) == 0
    assert report(db, cid, "staff", trusted=True, threshold=3).queued and cid in in_reported(db)


def test_reporters_always_overturned_weigh_less_and_upheld_ones_earn_trust(app, key, db):
    client = app.test_client()
    for i in range(6):
        submit(client, key, f"o{i}", CLEAN)
        cid = comment_id(db, f"o{i}")
        report(db, cid, "grumpy", threshold=1)  # a newcomer's single report reaches a threshold of 1
        report(db, cid, "good", threshold=1)
        with db.session() as s:
            decide(s, cid, "approve", "mod")  # the moderator overturns both
    with db.session() as s:
        rec = store.records(s, ["grumpy", "fresh"])
    assert rec["grumpy"].overturned == 6 and rec["grumpy"].upheld == 0
    assert store.weight(rec["grumpy"]) < 0.5 < store.weight(rec["fresh"]) == 1.0
    submit(client, key, "n1", CLEAN_2)
    cid = comment_id(db, "n1")
    assert report(db, cid, "grumpy", threshold=1).queued is False  # one overturned reporter no longer suffices
    # A reporter whose reports moderators reject often enough is trusted by their record.
    for i in range(store.TRUSTED_UPHELD):
        submit(client, key, f"u{i}", CLEAN + f" {i}")
        uid = comment_id(db, f"u{i}")
        report(db, uid, "sharp", threshold=99)
        with db.session() as s:
            decide(s, uid, "reject", "mod", reason_code="offensive")
    submit(client, key, "n2", CLEAN_2 + " 2")
    assert report(db, comment_id(db, "n2"), "sharp", threshold=99).queued


def test_the_risk_a_report_leaves_is_the_risk_a_fresh_triage_gives(app, key, db, ruleset):
    """Differential: the risk updated in place by each report equals the risk re-triage computes from scratch
    with the reports in the comment's context (assess/persist.items_for), and it rises with each report."""
    from moderation.assess.attribution import risk_of
    from moderation.assess.pipeline import Pipeline
    from moderation.services.jobs import triage_stored
    from tests.live import config

    submit(app.test_client(), key, "c1", "Ich finde den Artikel einseitig, aber gut recherchiert.")
    cid = comment_id(db, "c1")
    pipeline = Pipeline.from_config(config(db, "/tmp"), ruleset)
    triage_stored(db, pipeline, rescore=True)  # the same scorers for both ways
    risks = []
    for n, reporter in enumerate(("r1", "r2", "r3")):
        report(db, cid, reporter, threshold=99)
        with db.session() as s:
            incremental = s.get(Comment, cid).risk
            shown = s.get(TriageResult, s.get(Comment, cid).triage_id).evidence["risk"]
        assert risk_of(shown) == pytest.approx(incremental, abs=1e-3)  # the card's parts add up to the risk
        triage_stored(db, pipeline, rescore=True)
        with db.session() as s:
            fresh = s.get(Comment, cid)
            parts = s.get(TriageResult, fresh.triage_id).evidence["risk"]
        # The in-place update starts from the parts the triage result stored, rounded to 4 places.
        assert fresh.risk == pytest.approx(incremental, abs=1e-4)
        assert parts["reports"] == pytest.approx((n + 1) / (n + 1 + 2.0), abs=1e-4)
        risks.append(fresh.risk)
    assert risks == sorted(risks) and len(set(risks)) == 3


def test_a_decision_before_the_report_is_no_verdict_on_it(app, key, db):
    submit(app.test_client(), key, "c1")
    cid = comment_id(db, "c1")
    with db.session() as s:
        decide(s, cid, "approve", "mod")
    outcome = report(db, cid, "r1", threshold=1)
    assert outcome.queued is False  # a moderator approved it already: counted, shown, not queued again
    with db.session() as s:
        assert store.records(s, ["r1"])["r1"] == store.Record(0, 0)


# -- the public thread

def _thread(client, article: str = "a1") -> str:
    page = client.get(f"/threads/{article}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_reader_reports_without_an_account_and_needs_the_pages_csrf_token(app, key, db):
    client = app.test_client()
    submit(client, key, "c1")
    cid = comment_id(db, "c1")
    reader = app.test_client()
    page = _thread(reader)
    assert f'action="/threads/a1/report/{cid}"' in page and "<summary>" in page
    forged = app.test_client().post(f"/threads/a1/report/{cid}", data={"reason": "spam"})
    assert forged.status_code == 400  # no session token: a cross-site form cannot report in a reader's name
    stolen = app.test_client().post(f"/threads/a1/report/{cid}", data={"reason": "spam", "csrf_token": _token(page)})
    assert stolen.status_code == 400  # a token from someone else's session does not do
    sent = reader.post(f"/threads/a1/report/{cid}", data={"reason": "spam", "csrf_token": _token(page)})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/threads/a1#c{cid}")
    assert "Thank you" in _thread(reader) or "Danke" in _thread(reader)
    again = reader.post(f"/threads/a1/report/{cid}", data={"reason": "offensive", "csrf_token": _token(page)})
    assert again.status_code == 302
    with db.session() as s:
        rows = store.of_comment(s, cid)
    assert [(r.origin, r.reason) for r in rows] == [("public", "spam")] and rows[0].reporter.startswith("web:")
    assert "127.0.0.1" not in rows[0].reporter  # the address is kept only as a keyed hash


def test_only_published_comments_of_that_article_can_be_reported(app, key, db):
    client = app.test_client()
    submit(client, key, "c1")
    submit(client, key, "c9", CLEAN_2, article="a2")
    held = client.post("/api/v1/comments", json={"id": "h1", "article_id": "a1", "text": "Du bist ein Idiot.",
                                                  "author": "y"}, headers=bearer(key)).get_json()
    assert held["status"] == "held"
    page = _thread(client)
    for cid in (comment_id(db, "h1"), comment_id(db, "c9")):
        answer = client.post(f"/threads/a1/report/{cid}", data={"reason": "spam", "csrf_token": _token(page)})
        assert answer.status_code == 404


def test_reports_are_throttled_per_address(db, tmp_path, key):
    app = make_app(db, tmp_path, report_limit_per_address="3 per minute")
    client = app.test_client()
    for i in range(5):
        submit(client, key, f"c{i}", CLEAN + f" {i}")
    page = _thread(client)
    codes = []
    for i in range(5):
        cid = comment_id(db, f"c{i}")
        codes.append(client.post(f"/threads/a1/report/{cid}", data={"reason": "spam", "csrf_token": _token(page)},
                                 environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code)
    assert codes == [302, 302, 302, 429, 429]
    other = client.post(f"/threads/a1/report/{comment_id(db, 'c4')}",
                        data={"reason": "spam", "csrf_token": _token(page)}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 302  # another address is not held back
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(store.Report)) == 4


def _acceptable(note: str) -> bool:
    try:
        return reports.validate("other", note) is not None
    except reports.ReportError:
        return False


HOSTILE = st.text(alphabet=st.one_of(st.sampled_from('<>&"\'/='), st.characters()), min_size=1, max_size=200)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=HOSTILE.filter(_acceptable))
def test_fuzzed_notes_are_stored_as_written_and_shown_escaped(app, key, db, note):
    from flask import render_template_string
    from markupsafe import escape

    if comment_id(db, "c1") is None:
        submit(app.test_client(), key, "c1")
    cid = comment_id(db, "c1")
    with db.session() as s:
        s.query(store.Report).delete()
    report(db, cid, "fuzzer", "other", note=note)
    with db.session() as s:
        assert s.scalar(select(store.Report.note).where(store.Report.reporter == "fuzzer")) == note.strip()
    with app.test_request_context():
        html = render_template_string('{% include "queue/_reports.html" %}', comment={"id": cid})
    assert str(escape(note.strip())) in html
    if any(ch in note for ch in "<>&\""):
        assert f"“{note.strip()}”" not in html  # never as raw markup


# -- the API

def test_the_cms_forwards_reports_with_its_reader_ids(app, key, db):
    client = app.test_client()
    submit(client, key, "c1")
    body = {"comment_id": "c1", "reporter": "reader-17", "reason": "defamation", "note": "unbelegte Behauptung"}
    first = client.post("/api/v1/reports", json=body, headers=bearer(key))
    again = client.post("/api/v1/reports", json=body, headers=bearer(key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["reports"] == 1 and first.get_json()["queued"] is False
    assert client.post("/api/v1/reports", json={**body, "reason": "bogus", "reporter": "r2"},
                       headers=bearer(key)).status_code == 422
    assert client.post("/api/v1/reports", json={**body, "comment_id": "nope"}, headers=bearer(key)).status_code == 404
    vouched = client.post("/api/v1/reports", json={**body, "reporter": "r3", "trusted": True}, headers=bearer(key))
    assert vouched.status_code == 403  # only a moderate key may vouch
    moderate = api_key(db, scopes=("feedback", "moderate"))
    assert client.post("/api/v1/reports", json={**body, "reporter": "r3", "trusted": True},
                       headers=bearer(moderate)).get_json()["queued"] is True
    feed = client.get("/api/v1/decisions", headers=bearer(key)).get_json()["decisions"]
    flagged = [e for e in feed if e["event"] == "comment.flagged" and e["id"] == "c1"]
    assert len(flagged) == 1 and flagged[0]["reasons"][0]["code"] == "reader-reports"  # the CMS hears of it once
    assert flagged[0]["reasons"][0]["by_reason"] == {"defamation": 2} and flagged[0]["flagged"] is True
    seen = client.get("/api/v1/reports?comment_id=c1", headers=bearer(key)).get_json()
    assert seen["reports"] == 2 and seen["by_reason"] == {"defamation": 2} and seen["queued"] is True
    other_site = api_key(db, site="other-site")
    assert client.post("/api/v1/reports", json=body, headers=bearer(other_site)).status_code == 404


def test_akismet_spam_feedback_upholds_the_reports_and_ham_overturns_them(app, key, db):
    client = app.test_client()
    submit(client, key, "c1")
    client.post("/api/v1/reports", json={"comment_id": "c1", "reporter": "rA", "reason": "spam"}, headers=bearer(key))
    form = {"api_key": key, "blog": "https://example.org", "user_ip": "1.2.3.4", "guid": "c1",
            "comment_content": CLEAN, "comment_author": "x", "permalink": "a1"}
    assert client.post("/1.1/submit-spam", data=form).get_data(as_text=True).startswith("Thanks")
    with db.session() as s:
        assert store.records(s, ["api:example-news:rA"])["api:example-news:rA"] == store.Record(1, 0)


# -- floods over HTTP

def _serve_in_process(url: str, instance: str, port: int, ready) -> None:
    """A desk of its own in a child process (its own engine and pool), on a fixed loopback port."""
    from werkzeug.serving import make_server

    from tests.live import config
    from web import create_app

    # The threshold is every reader: only if each report counts all the others does a comment cross it.
    app = create_app(config(type("Db", (), {"url": url})(), instance, report_threshold=40), TESTING=True)
    server = make_server("127.0.0.1", port, app, threaded=True)
    ready.set()
    server.serve_forever()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_flood_of_reports_over_http_counts_exactly(key, db, tmp_path):
    """Two server processes on one database; 40 readers (a thread each, alternating servers, released together)
    report f3 once, then f1 and f2 three times each: every reader counts once per comment, nothing is lost, no
    request fails, and all three cross into Reported at a threshold of exactly 40 weighted reports. f3 crosses
    only if the 40 simultaneous reports each counted all the others (without the write lock, on PostgreSQL,
    reports that do not see each other leave it out)."""
    import multiprocessing

    app = make_app(db, tmp_path)
    for cid, text in (("f1", CLEAN), ("f2", CLEAN_2), ("f3", CLEAN + " Wirklich.")):
        submit(app.test_client(), key, cid, text)
    context = multiprocessing.get_context("fork")
    ports, servers = [_free_port(), _free_port()], []
    for i, port in enumerate(ports):
        ready = context.Event()
        servers.append(context.Process(target=_serve_in_process, args=(db.url, str(tmp_path / f"i{i}"), port, ready),
                                       daemon=True))
        servers[-1].start()
        assert ready.wait(60)
    readers = [f"reader-{i}" for i in range(40)]
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(readers))

    def worker(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[n % 2]}", headers=bearer(key), timeout=60) as http:
            http.get("/api/v1/openapi.json")  # connected before the start, so the reports leave together
            barrier.wait()
            for cid in ("f3", "f1", "f2", "f1", "f2", "f1", "f2"):
                answer = http.post("/api/v1/reports", json={"comment_id": cid, "reporter": readers[n],
                                                            "reason": "offensive"})
                with lock:
                    statuses[(cid, answer.status_code)] += 1
    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(readers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for process in servers:
            process.terminate()
            process.join(10)
    assert statuses == Counter({("f3", 201): 40, ("f1", 201): 40, ("f2", 201): 40, ("f1", 200): 80, ("f2", 200): 80})
    ids = {cid: comment_id(db, cid) for cid in ("f1", "f2", "f3")}
    with db.session() as s:
        per = dict(s.execute(select(store.Report.comment_id, func.count()).group_by(store.Report.comment_id)).all())
    assert per == {ids["f1"]: 40, ids["f2"]: 40, ids["f3"]: 40}
    assert set(ids.values()) <= in_reported(db)


# -- rule statistics and what-if learn from reports

def test_rule_statistics_and_whatif_count_hits_on_reported_comments(db, tmp_path, ruleset):
    from moderation.assess.pipeline import Pipeline
    from moderation.scoring.lexicon import LexiconScorer
    from moderation.services.jobs import triage_stored
    from moderation.services.whatif import replay
    from moderation.store.rulestats import rule_stats
    from tests.test_store import batch, load
    from tests.test_whatif import draft_without_video_rule, lexicon

    load(db, batch([("v1", None, "Schaut mal https://youtu.be/abc"), ("v2", None, "Hier: https://youtu.be/xyz"),
                    ("k1", None, "Sehr guter Artikel, danke.")]))
    triage_stored(db, Pipeline(ruleset, [LexiconScorer(ruleset)]))
    before = {s.rule_id: s.reported for s in rule_stats(db)}
    assert before.get("no-video-links") == 0
    for cid in ("v1", "k1"):
        report(db, comment_id(db, cid), "reader-1", "video-link")
    stats = {s.rule_id: s for s in rule_stats(db)}
    assert stats["no-video-links"].hits == 2 and stats["no-video-links"].reported == 1
    assert stats["no-video-links"].to_dict()["reported"] == 1
    result = replay(db, lexicon(load_ruleset_from(draft_without_video_rule(tmp_path))), lexicon(ruleset)).to_dict()
    assert result["reports"] == {"reported": 2, "flagged": {"active": 1, "draft": 0}}
    assert result["rules"]["no-video-links"]["reported"] == {"draft": 0, "active": 1}


def load_ruleset_from(path):
    from moderation.rules import load_ruleset

    return load_ruleset(path)
