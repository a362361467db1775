"""The web app's skeleton: login with CSRF, roles checked on every route, safe headers."""
from __future__ import annotations

import re

import pytest

from moderation.config import Config
from moderation.store.accounts import add_user
from web import create_app


@pytest.fixture
def app(db, tmp_path):
    app = create_app(Config(database_url=db.url, instance_path=tmp_path), TESTING=True)
    with db.session() as s:
        add_user(s, "mo", "moderator-pass", "moderator")
        add_user(s, "ad", "admin-pass-1", "admin")
        add_user(s, "re", "researcher-pass", "researcher")
    return app


def login(client, username: str, password: str):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_login_form_has_the_contract_fields(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    for name in ('name="username"', 'name="password"', 'name="csrf_token" type="hidden"'):
        assert name in page


def test_login_needs_csrf_and_the_right_password(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "mo", "password": "moderator-pass"}).status_code == 400
    assert login(client, "mo", "wrong-password").status_code == 401
    ok = login(client, "mo", "moderator-pass")
    assert ok.status_code == 302


def test_pages_redirect_to_login_when_logged_out(app):
    response = app.test_client().get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_open_redirects_are_refused(app):
    client = app.test_client()
    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login?next=https://evil.example/",
                           data={"username": "mo", "password": "moderator-pass", "csrf_token": token})
    assert "evil.example" not in response.headers["Location"]


def test_every_route_is_public_or_names_its_roles(app):
    undeclared = [rule.endpoint for rule in app.url_map.iter_rules()
                  if rule.endpoint != "static" and not rule.endpoint.endswith(".static")
                  and not getattr(app.view_functions[rule.endpoint], "public", False)
                  and not getattr(app.view_functions[rule.endpoint], "roles", None)]
    assert undeclared == []


def test_a_view_without_declared_roles_is_denied_even_to_admins(app):
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    client = app.test_client()
    login(client, "ad", "admin-pass-1")
    assert client.get("/forgotten").status_code == 403


def test_logout_is_a_post_with_csrf(app):
    client = app.test_client()
    login(client, "mo", "moderator-pass")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_security_headers(app):
    response = app.test_client().get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
