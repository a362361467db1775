"""The batch view over HTTP on SQLite and PostgreSQL: roles and CSRF, the old /queue/bulk URL, "N of M", apply with
exclusions and an explicit action, whole-batch undo, and two moderators racing overlapping batches with real threads
against a threaded server."""
from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import func, select

from moderation.services import batch as core
from moderation.store import Comment, Decision
from moderation.store.batches import Batch
from tests.browser import ACCOUNTS, csrf, make_app, seed
from tests.live import serve
from tests.test_queue import client_for, decide, token


@pytest.fixture
def app(db, tmp_path):
    seed(db)
    return make_app(db, tmp_path, TESTING=True)


@pytest.fixture
def mo(app):
    return client_for(app, "mo")


@pytest.fixture
def mo2(app):
    return client_for(app, "mo2")


def held(db) -> dict[int, tuple[float, int]]:
    with db.session() as s:
        return {i: (r, v) for i, r, v in s.execute(select(Comment.id, Comment.risk, Comment.version)
                                                 .where(Comment.status == "held"))}


def form_of(page: str) -> dict:
    """The batch form as the browser would post it: hidden fields and every included row."""
    part = page[page.index('id="batch-form"'):]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', part))
    fields.pop("csrf_token")  # each test posts the token it means to (or none)
    return {**fields, "include": re.findall(r'name="include" value="([\d:]+)"', part)}


def test_batch_view_needs_the_moderator_role_and_csrf(app, mo, db):
    anonymous = app.test_client().get("/batch/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    researcher = client_for(app, "re")
    page = researcher.get("/account").get_data(as_text=True)
    for path in ("/batch/", "/batch/1", "/queue/bulk"):
        assert researcher.get(path).status_code == 403, path
    for path in ("/batch/apply", "/batch/1/undo"):
        assert researcher.post(path, data={"csrf_token": csrf(page)}).status_code == 403, path
    form = form_of(mo.get("/batch/").get_data(as_text=True))
    no_token = mo.post("/batch/apply", data={**form, "action": "approve"})
    assert no_token.status_code == 400 and "csrf_token" not in form
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
        assert set(s.scalars(select(Comment.status).where(Comment.id.in_(held(db))))) == {"held"}


def test_the_old_bulk_url_leads_to_the_batch_view_without_a_default_action(mo):
    r = mo.get("/queue/bulk?queue=pending&rule=personal-attack&ids=3&ids=4&action=approve")
    assert r.status_code == 302
    target = r.headers["Location"]
    assert target.startswith("/batch/") and "rule=personal-attack" in target and "ids=3" in target
    assert "ids=4" in target and "action" not in target


def test_the_page_shows_n_of_m_and_the_rows_of_the_range(mo, db):
    pending = held(db)
    page = mo.get("/batch/").get_data(as_text=True)
    assert re.search(rf'<b id="n-selected">{len(pending)}</b> of <b id="m-total">{len(pending)}</b>', page)
    assert len(re.findall(r'class="bin[ "]', page)) == core.BINS and "<svg" in page
    assert 'checked' not in page[page.index('name="action"') - 80:page.index("choose a reason")]  # no default
    lo, hi = core.bin_of(0.8), core.BINS - 1
    fragment = mo.get(f"/batch/?lo={lo}&hi={hi}&fragment=1").get_data(as_text=True)
    expected = {i for i, (risk, _) in pending.items() if risk >= core.edges()[lo]}
    listed = {int(i) for i in re.findall(r'name="include" value="(\d+):', fragment)}
    assert listed == expected and 0 < len(expected) < len(pending)
    assert f'<b id="n-selected">{len(expected)}</b>' in fragment and "<svg" not in fragment
    by_label = mo.get("/batch/?measure=lexicon:insult").get_data(as_text=True)  # a model label's scores
    assert re.search(rf'<b id="n-selected">{len(pending)}</b> of <b id="m-total">{len(pending)}</b>', by_label)
    assert mo.get("/batch/?lo=x").status_code == 400 and mo.get("/batch/?measure=nolabel").status_code == 400


def test_apply_decides_the_included_rows_only_with_an_explicit_action(mo, db):
    form = {**form_of(mo.get("/batch/").get_data(as_text=True)), "csrf_token": token(mo)}
    excluded, *kept = form["include"]
    form["include"] = kept
    for missing in ({}, {"action": ""}, {"action": "reject"}):  # no action, or a rejection without a reason
        r = mo.post("/batch/apply", data={**form, **missing}, follow_redirects=True)
        assert "Nothing was decided" in r.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Batch)) == 0
    r = mo.post("/batch/apply", data={**form, "action": "reject", "reason": "spam"})
    assert r.status_code == 303
    done = mo.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Rejected {len(kept)} comments." in done
    with db.session() as s:
        ids = [int(p.split(":")[0]) for p in kept]
        assert {s.get(Comment, i).status for i in ids} == {"rejected"}
        assert s.get(Comment, int(excluded.split(":")[0])).status == "held"
        assert {(d.reason_code, d.actor) for d in s.scalars(select(Decision).where(Decision.comment_id.in_(ids)))} == {
            ("spam", "mo")}


def test_undo_of_the_whole_batch_over_http_skips_what_changed_since(mo, mo2, db):
    form = {**form_of(mo.get("/batch/").get_data(as_text=True)), "csrf_token": token(mo), "action": "approve"}
    done_url = mo.post("/batch/apply", data=form).headers["Location"]
    batch_id = int(done_url.rstrip("/").rsplit("/", 1)[1])
    page = mo.get(done_url).get_data(as_text=True)
    first = int(form["include"][0].split(":")[0])
    with db.session() as s:
        seen = s.get(Comment, first).version
    assert decide(mo2, first, "reject", seen, reason="offensive").status_code == 200
    other = mo2.post(f"/batch/{batch_id}/undo", data={"csrf_token": token(mo2)}, follow_redirects=True)
    assert "only the moderator who applied" in other.get_data(as_text=True)
    assert 'id="undo-form"' in page
    undone = mo.post(f"/batch/{batch_id}/undo", data={"csrf_token": token(mo)}, follow_redirects=True)
    text = undone.get_data(as_text=True)
    n = len(form["include"])
    assert f"Undone: {n - 1} comments restored; 1 left as it is (changed since)." in text
    assert f"#{first}</a>: comment {first} was decided again since (by mo2)" in text
    with db.session() as s:
        assert s.get(Comment, first).status == "rejected"
        rest = [int(p.split(":")[0]) for p in form["include"][1:]]
        assert {s.get(Comment, i).status for i in rest} == {"held"}
    again = mo.post(f"/batch/{batch_id}/undo", data={"csrf_token": token(mo)}, follow_redirects=True)
    assert "already undone" in again.get_data(as_text=True)


def test_a_batch_skips_what_someone_else_decided_after_the_page_was_shown(mo, mo2, db):
    form = {**form_of(mo.get("/batch/").get_data(as_text=True)), "csrf_token": token(mo)}
    first, seen = map(int, form["include"][0].split(":"))
    decide(mo2, first, "approve", seen)
    undo = decide(mo2, int(form["include"][1].split(":")[0]), "approve", int(form["include"][1].split(":")[1]))
    assert mo2.post("/queue/undo", data={"decisions": undo.get_json()["decisions"][0], "csrf_token": token(mo2)},
                    headers={"Accept": "application/json"}).status_code == 200  # back in the queue, a new version
    r = mo.post("/batch/apply", data={**form, "action": "reject", "reason": "spam"}, follow_redirects=True)
    n = len(form["include"])
    assert f"Rejected {n - 2} comments; 2 skipped (decided by someone else meanwhile)." in r.get_data(as_text=True)
    with db.session() as s:
        assert s.get(Comment, first).status == "approved"
        assert s.get(Comment, int(form["include"][1].split(":")[0])).status == "held"


class Tab:
    """A logged-in moderator's browser tab over real HTTP."""

    def __init__(self, base: str, user: str) -> None:
        self.base, self.http = base, requests.Session()
        self.http.trust_env = False
        page = self.http.get(base + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        r = self.http.post(base + "/login", data={"username": user, "password": ACCOUNTS[user][0],
                                                  "csrf_token": token}, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "/login" not in r.headers["Location"]

    def form(self, lo: int, hi: int) -> dict:
        page = self.http.get(self.base + "/batch/", params={"lo": lo, "hi": hi}, timeout=10).text
        return {**form_of(page), "csrf_token": csrf(page)}

    def post(self, path: str, data: dict) -> str:
        r = self.http.post(self.base + path, data=data, timeout=20)
        assert r.status_code == 200, r.text[-500:]
        return r.text


def counted(page: str) -> tuple[int, int, list[int]]:
    message = re.search(r'id="batch-result"[^>]*>([^<]*)<', page).group(1)
    done = int(re.search(r"(?:Approved|Rejected) (\d+) comments?", message).group(1))
    skipped = re.search(r"; (\d+) skipped", message)
    batch_id = int(re.search(r'data-batch="(\d+)"', page).group(1))
    return done, int(skipped.group(1)) if skipped else 0, [batch_id]


def test_two_moderators_racing_overlapping_batches_decide_each_comment_once(app, db):
    pending = held(db)
    app.config["DB"] = db
    risks = sorted(r for r, _ in pending.values())
    middle = core.bin_of(risks[len(risks) // 2])
    with serve(app) as base:
        a, b = Tab(base, "mo"), Tab(base, "mo2")
        for round_ in range(4):
            forms = [{**a.form(0, middle), "action": "approve"},
                     {**b.form(max(0, middle - 1 - round_ % 2), core.BINS - 1), "action": "reject", "reason": "spam"}]
            chosen = [{int(p.split(":")[0]) for p in f["include"]} for f in forms]
            assert chosen[0] & chosen[1] and chosen[0] ^ chosen[1]  # overlapping, each with comments of its own
            with db.session() as s:
                logged = s.scalar(select(func.count()).select_from(Decision))
            barrier, pages = threading.Barrier(2), [None, None]

            def fire(i: int, tab: Tab) -> None:
                barrier.wait()
                pages[i] = tab.post("/batch/apply", forms[i])

            threads = [threading.Thread(target=fire, args=(i, t)) for i, t in enumerate((a, b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            (done_a, skip_a, (id_a,)), (done_b, skip_b, (id_b,)) = counted(pages[0]), counted(pages[1])
            union = chosen[0] | chosen[1]
            assert done_a + done_b == len(union)  # every comment once, none twice
            assert done_a + skip_a == len(chosen[0]) and done_b + skip_b == len(chosen[1])
            assert skip_a + skip_b == len(chosen[0] & chosen[1])
            with db.session() as s:
                assert s.scalar(select(func.count()).select_from(Decision)) == logged + len(union)
                per_comment = dict(s.execute(select(Decision.comment_id, func.count()).where(
                    Decision.note.in_([f"batch {id_a}", f"batch {id_b}"]))
                    .group_by(Decision.comment_id)).all())
                assert per_comment == dict.fromkeys(union, 1)
            # Both undo at once: their batches are disjoint, so everything is held again.
            barrier = threading.Barrier(2)
            undo_pages = [None, None]

            def undo(i: int, tab: Tab, batch_id: int) -> None:
                barrier.wait()
                undo_pages[i] = tab.post(f"/batch/{batch_id}/undo", {"csrf_token": forms[i]["csrf_token"]})

            threads = [threading.Thread(target=undo, args=(0, a, id_a)), threading.Thread(target=undo, args=(1, b, id_b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert all("left as" not in p for p in undo_pages)
            assert set(held(db)) == set(pending), round_
