"""The author routes of the API: a key's scope (read for the profile, moderate for actions), its site only,
desk sessions by role and with CSRF; conflicts are 409s (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.store.accounts import add_user
from moderation.store.models import Comment, Decision
from tests.browser import csrf
from tests.live import SITE, api_key, bearer, make_app
from tests.test_authors import CLEAN, hold_all, seed
from tests.test_web_auth import login


@pytest.fixture
def app(db, tmp_path):
    seed(db, [("c1", "anna", CLEAN, {"author_email": "anna@example.org"}), ("c2", "anna", CLEAN),
              ("c3", "bert", CLEAN)], source=SITE)
    hold_all(db)
    return make_app(db, tmp_path)


def act(client, key, **body):  # noqa: ANN001, ANN201
    return client.post("/api/v1/authors/actions", json=body, headers=bearer(key))


def test_a_read_key_sees_the_profile_and_may_not_act(app, db):
    client, key = app.test_client(), api_key(db)
    profile = client.get("/api/v1/authors?name=anna", headers=bearer(key))
    assert profile.status_code == 200
    body = profile.get_json()
    assert body["pending"] == 2 and body["emails"] == ["anna@example.org"] and body["state"] == "normal"
    assert client.get("/api/v1/authors?name=nobody", headers=bearer(key)).status_code == 404
    refused = act(client, key, author="anna", action="ban")
    assert refused.status_code == 403 and "moderate" in refused.get_json()["error"]["message"]
    assert client.post("/api/v1/authors/undo", json={"action_id": 1}, headers=bearer(key)).status_code == 403
    assert client.get("/api/v1/authors?name=anna").status_code == 401
    with db.session() as s:
        assert s.scalar(select(Decision.id)) is None


def test_a_moderate_key_bans_rejects_pending_and_undoes_on_its_site_only(app, db):
    client = app.test_client()
    key = api_key(db, scopes=("read", "moderate"))
    other = api_key(db, site="other-site", scopes=("read", "moderate"))
    banned = act(client, key, author="anna", action="ban", reason="spam", reject_pending=True, reason_code="spam",
                 actor="chefin")
    assert banned.status_code == 201, banned.get_json()
    result = banned.get_json()
    assert len(result["rejected"]) == 2 and result["action"]["actor"].endswith(":chefin")
    assert result["action"]["actor"].startswith(f"api:{SITE}:key-")
    submitted = client.post("/api/v1/comments", headers=bearer(api_key(db)),
                            json={"id": "c9", "article_id": "a1", "text": CLEAN, "author": "anna"}).get_json()
    assert submitted["decision"] == "reject" and submitted["reasons"][0]["code"] == "author-banned"
    assert "spam" in submitted["explanation"]
    again = act(client, key, author="anna", action="ban")
    assert again.status_code == 409 and "banned already" in again.get_json()["error"]["message"]
    assert act(client, key, author="anna", action="explode").status_code == 422
    assert act(client, key, author="anna", action="suspend", until="soon").status_code == 422
    assert act(client, key, author="anna", action="ban", reject_pending=True, reason_code="nope").status_code == 422
    stale = act(client, key, author="bert", action="trust", seen=5)
    assert stale.status_code == 409
    assert client.get("/api/v1/authors?name=anna", headers=bearer(other)).status_code == 404
    undo = {"action_id": result["action"]["id"]}
    assert client.post("/api/v1/authors/undo", json=undo, headers=bearer(other)).status_code == 404
    undone = client.post("/api/v1/authors/undo", json=undo, headers=bearer(key))
    assert undone.status_code == 201 and sorted(undone.get_json()["rejected"]) == sorted(result["rejected"])
    assert client.post("/api/v1/authors/undo", json=undo, headers=bearer(key)).status_code == 409
    with db.session() as s:
        assert set(s.scalars(select(Comment.status).where(Comment.external_id != "c9"))) == {"held"}
    profile = client.get("/api/v1/authors?name=anna", headers=bearer(key)).get_json()
    assert [a["action"] for a in profile["actions"]] == ["ban", "undo"] and profile["state"] == "normal"


def test_desk_sessions_need_the_moderator_role_and_csrf(app, db):
    with db.session() as s:
        add_user(s, "mo", "moderator-pass", "moderator")
        add_user(s, "re", "researcher-pass", "researcher")
    researcher = app.test_client()
    login(researcher, "re", "researcher-pass")
    assert researcher.get(f"/api/v1/authors?name=anna&site={SITE}").status_code == 403
    mo = app.test_client()
    login(mo, "mo", "moderator-pass")
    assert mo.get(f"/api/v1/authors?name=anna&site={SITE}").get_json()["pending"] == 2
    body = {"author": "anna", "action": "premoderate", "reason": "watch"}
    assert mo.post(f"/api/v1/authors/actions?site={SITE}", json=body).status_code == 403
    token = csrf(mo.get("/queue").get_data(as_text=True))
    done = mo.post(f"/api/v1/authors/actions?site={SITE}", json=body, headers={"X-CSRFToken": token})
    assert done.status_code == 201 and done.get_json()["action"]["actor"] == "mo"


def test_a_nul_in_a_name_or_text_is_refused_before_any_lookup(app, db):
    """PostgreSQL cannot hold a NUL in text, so no author has one: a 400, never a 500 from the database."""
    client, key = app.test_client(), api_key(db, scopes=("read", "moderate"))
    assert client.get("/api/v1/authors?name=%00", headers=bearer(key)).status_code == 400
    assert client.get("/api/v1/authors?name=an%00na", headers=bearer(key)).status_code == 400
    assert act(client, key, author="anna\u0000", action="ban").status_code == 400
    assert act(client, key, author="anna", action="note", reason="a\u0000b").status_code == 400
    assert client.post("/api/v1/authors/undo", json={"action_id": 1, "reason": "\u0000"},
                       headers=bearer(key)).status_code == 400
    assert client.get("/api/v1/authors?name=anna", headers=bearer(key)).get_json()["state"] == "normal"
