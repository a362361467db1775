"""The desk's author drawer over HTTP: moderators only, CSRF on every form, every action logged and undoable,
a ban's preview count is exactly what it rejects, and two moderators racing over real HTTP (threads, SQLite
and PostgreSQL) never reject a comment twice."""
from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import select

from moderation.store.accounts import add_user
from moderation.store.authors import AuthorAction
from moderation.store.models import Comment, Decision
from tests.browser import csrf
from tests.live import SITE, make_app, serve
from tests.test_authors import CLEAN, hold_all, seed
from tests.test_web_auth import login

MODS = {"mo": "moderator-pass", "mo2": "moderator2-pass"}


@pytest.fixture
def app(db, tmp_path):
    seed(db, [("c1", "anna", CLEAN, {"author_email": "Anna@Example.org", "author_ip": "192.0.2.77"}),
              ("c2", "anna", CLEAN), ("c3", "anna", CLEAN), ("c4", "bert", CLEAN), ("c5", None, CLEAN)], source=SITE)
    hold_all(db)
    with db.session() as s:
        for name, password in MODS.items():
            add_user(s, name, password, "moderator")
        add_user(s, "re", "researcher-pass", "researcher")
        add_user(s, "ad", "admin-pass-1", "admin")
    return make_app(db, tmp_path)


def ids(db) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(Comment.external_id, Comment.id)).all())


def client_for(app, user: str, password: str | None = None):
    client = app.test_client()
    login(client, user, password or MODS.get(user) or {"re": "researcher-pass", "ad": "admin-pass-1"}[user])
    return client


def drawer(client, comment_id: int) -> str:
    page = client.get(f"/authors/comments/{comment_id}?fragment=1")
    assert page.status_code == 200, page.status_code
    return page.get_data(as_text=True)


def field(page: str, action: str, name: str) -> str:
    """A hidden field of one action's form in the drawer."""
    form = re.search(rf'name="action" value="{re.escape(action)}".*?</form>', page, re.DOTALL).group(0)
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


def form(page: str, action: str, **extra: object) -> dict:
    base = {"csrf_token": csrf(page), "source": SITE, "author": "anna", "action": action,
            "seen": field(page, action, "seen"), "fragment": "1"}
    return {**base, **{k: str(v) for k, v in extra.items()}}


def rejections(db) -> Counter:
    with db.session() as s:
        return Counter(s.scalars(select(Decision.comment_id).where(Decision.action == "reject",
                                                                    Decision.undoes_id.is_(None))))


def test_the_drawer_shows_the_profile_to_moderators_and_admins_only(app, db):
    c = ids(db)
    page = drawer(client_for(app, "mo"), c["c1"])
    assert 'data-pending="3"' in page and "anna@example.org" in page and "192.0.2.0/24" in page
    assert page.count('class="st-held"') == 3 and "SITE" not in page
    assert drawer(client_for(app, "ad"), c["c1"]).count('class="st-held"') == 3
    researcher = client_for(app, "re")
    assert researcher.get(f"/authors/comments/{c['c1']}").status_code == 403
    token = csrf(researcher.get("/account").get_data(as_text=True))
    refused = researcher.post("/authors/act", data={"csrf_token": token, "source": SITE, "author": "anna",
                                                     "action": "ban", "reason": "x"})
    assert refused.status_code == 403
    assert app.test_client().get(f"/authors/comments/{c['c1']}").status_code in (302, 401)
    assert client_for(app, "mo").get(f"/authors/comments/{c['c5']}?fragment=1").status_code == 404  # anonymous
    full = client_for(app, "mo").get(f"/authors/comments/{c['c1']}").get_data(as_text=True)
    assert "<html" in full and "authors.js" in full


def test_every_form_needs_the_csrf_token_and_writes_nothing_without_it(app, db):
    mo = client_for(app, "mo")
    page = drawer(mo, ids(db)["c1"])
    for action in ("ban", "reject-pending", "note", "trust"):
        data = form(page, action, reason="x", confirm_count=3, reject_pending=1)
        del data["csrf_token"]
        assert mo.post("/authors/act", data=data).status_code == 400
    assert mo.post("/authors/undo", data={"action_id": 1}).status_code == 400
    with db.session() as s:
        assert s.scalar(select(AuthorAction.id)) is None and s.scalar(select(Decision.id)) is None


def test_ban_with_the_preview_count_rejects_exactly_that_many_and_undo_brings_them_back(app, db):
    mo = client_for(app, "mo")
    c = ids(db)
    page = drawer(mo, c["c1"])
    preview = int(field(page, "ban", "confirm_count"))
    assert preview == 3 and "3 pending comments" in page
    banned = mo.post("/authors/act", data=form(page, "ban", reason="spam wave", reject_pending=1,
                                               confirm_count=preview, reason_code="spam"))
    assert banned.status_code == 201, banned.get_data(as_text=True)
    answer = banned.get_data(as_text=True)
    rejected = set(re.search(r'data-rejected="([^"]*)"', answer).group(1).split(","))
    assert rejected == {str(c[k]) for k in ("c1", "c2", "c3")} and len(rejected) == preview
    assert rejections(db) == Counter({c["c1"]: 1, c["c2"]: 1, c["c3"]: 1})
    with db.session() as s:
        entry = s.scalar(select(AuthorAction))
        assert (entry.action, entry.actor, entry.reason, entry.state_after) == ("ban", "mo", "spam wave", "banned")
        assert s.get(Comment, c["c4"]).status == "held"  # bert is untouched
    assert 'data-state="banned"' in answer
    undone = mo.post("/authors/undo", data={"csrf_token": csrf(answer), "action_id": entry.id, "fragment": "1"})
    assert undone.status_code == 201 and 'data-state="normal"' in undone.get_data(as_text=True)
    with db.session() as s:
        assert {s.get(Comment, c[k]).status for k in ("c1", "c2", "c3")} == {"held"}
        log = [(a.action, a.actor, a.undoes_id) for a in s.scalars(select(AuthorAction).order_by(AuthorAction.id))]
    assert log == [("ban", "mo", None), ("undo", "mo", entry.id)]
    again = mo.post("/authors/undo", data={"csrf_token": csrf(answer), "action_id": entry.id, "fragment": "1"})
    assert again.status_code == 409 and "already undone" in again.get_data(as_text=True)


def test_a_stale_preview_count_is_refused_and_writes_nothing(app, db):
    mo = client_for(app, "mo")
    c = ids(db)
    page = drawer(mo, c["c1"])
    with db.session() as s:  # one of anna's comments is decided after the drawer was shown
        s.get(Comment, c["c2"]).status = "approved"
    for action in ("ban", "reject-pending"):
        stale = mo.post("/authors/act", data=form(page, action, reason="x", reject_pending=1, confirm_count=3))
        body = stale.get_data(as_text=True)
        assert stale.status_code == 409 and "2" in body and 'data-pending="2"' in body, body
    missing = mo.post("/authors/act", data=form(page, "reject-pending", reason="x"))
    assert missing.status_code == 400
    with db.session() as s:
        assert s.scalar(select(AuthorAction.id)) is None and s.scalar(select(Decision.id)) is None


def test_each_action_is_logged_with_actor_and_reason_and_undoable_from_the_drawer(app, db):
    mo = client_for(app, "mo")
    c = ids(db)
    steps = [("suspend", {"hours": 24}, "suspended"), ("premoderate", {}, "premoderated"),
             ("trust", {}, "trusted"), ("note", {}, None)]
    for action, extra, state in steps:
        page = drawer(mo, c["c1"])
        done = mo.post("/authors/act", data=form(page, action, reason=f"because {action}", **extra))
        assert done.status_code == 201, (action, done.get_data(as_text=True))
        if state:
            assert f'data-state="{state}"' in done.get_data(as_text=True)
    page = drawer(mo, c["c1"])
    assert "because note" in page.split('class="anotes"')[1].split("</section>")[0]
    with db.session() as s:
        log = list(s.scalars(select(AuthorAction).order_by(AuthorAction.id)))
    assert [(a.action, a.actor, a.reason) for a in log] == [(a, "mo", f"because {a}") for a, _, _ in steps]
    # Undo from the newest back: each brings the state before it back.
    for entry, before in zip(reversed(log), ("trusted", "premoderated", "suspended", "normal")):
        page = drawer(mo, c["c1"])
        assert f'data-action-id="{entry.id}"' in page
        undone = mo.post("/authors/undo", data={"csrf_token": csrf(page), "action_id": entry.id, "fragment": "1"})
        assert undone.status_code == 201 and f'data-state="{before}"' in undone.get_data(as_text=True)
    assert "because note" not in drawer(mo, c["c1"]).split('class="anotes"')[1].split("</section>")[0]


def test_bad_input_is_refused_with_the_reason_and_writes_nothing(app, db):
    mo = client_for(app, "mo")
    page = drawer(mo, ids(db)["c1"])
    assert mo.post("/authors/act", data=form(page, "ban", reason="")).status_code == 400  # no reason
    assert mo.post("/authors/act", data=form(page, "suspend", reason="x", hours=5)).status_code == 400
    assert mo.post("/authors/act", data={**form(page, "trust", reason="x"), "action": "explode"}).status_code == 400
    assert mo.post("/authors/act", data=form(page, "trust", reason="x", seen=7)).status_code == 409
    assert mo.post("/authors/undo", data={"csrf_token": csrf(page), "action_id": 99}).status_code == 404
    with db.session() as s:
        assert s.scalar(select(AuthorAction.id)) is None


def test_without_script_an_action_redirects_to_the_author_page_with_the_outcome(app, db):
    mo = client_for(app, "mo")
    page = drawer(mo, ids(db)["c1"])
    data = form(page, "note", reason="watch the links")
    del data["fragment"]
    done = mo.post("/authors/act", data=data)
    assert done.status_code == 302 and "/authors/?source=" in done.headers["Location"]
    shown = mo.get(done.headers["Location"]).get_data(as_text=True)
    assert "watch the links" in shown


class Http:
    """A moderator's browser session over real HTTP."""

    def __init__(self, base: str, user: str) -> None:
        self.base, self.http = base, requests.Session()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          self.http.get(base + "/login", timeout=10).text).group(1)
        self.http.post(base + "/login", data={"username": user, "password": MODS[user], "csrf_token": token},
                       timeout=10)

    def get(self, path: str) -> str:
        return self.http.get(self.base + path, timeout=10).text

    def post(self, path: str, data: dict) -> requests.Response:
        return self.http.post(self.base + path, data=data, timeout=20)


@pytest.mark.parametrize("mix", ["ban", "reject-pending", "both"])
def test_moderators_racing_over_http_reject_each_comment_once(app, db, mix):
    c = ids(db)
    with serve(app) as base:
        clients = [Http(base, ("mo", "mo2")[i % 2]) for i in range(6)]
        pages = [cl.get(f"/authors/comments/{c['c1']}?fragment=1") for cl in clients]
        barrier, answers = threading.Barrier(len(clients)), [None] * len(clients)

        def run(i: int) -> None:
            action = ("ban", "reject-pending")[i % 2] if mix == "both" else mix
            data = form(pages[i], action, reason=f"race {i}", reject_pending=1, reason_code="spam",
                        confirm_count=field(pages[i], action, "confirm_count"))
            barrier.wait()
            answers[i] = clients[i].post("/authors/act", data)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (len(clients) - 1), statuses
    assert rejections(db) == Counter({c["c1"]: 1, c["c2"]: 1, c["c3"]: 1})
    with db.session() as s:
        entries = list(s.scalars(select(AuthorAction)))
    assert len(entries) == 1 and len(entries[0].decision_ids) == 3
