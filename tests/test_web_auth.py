"""The web app's skeleton: login with CSRF, roles checked on every route, safe headers."""
from __future__ import annotations

import http.client
import os
import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from flask_login import login_user

from moderation.config import Config
from moderation.store import Database
from moderation.store.accounts import add_user
from tests.conftest import need
from tests.live import serve
from web import create_app
from web.auth import Account


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


TOKEN = re.compile(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"')
REDIS_URL = os.environ.get("MODERATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def accounts(tmp_path):
    """A SQLite desk with two accounts (the limits do not depend on the database)."""
    database = Database(f"sqlite:///{tmp_path / 'accounts.db'}")
    with database.session() as s:
        add_user(s, "mo", "moderator-pass", "moderator")
        add_user(s, "re", "researcher-pass", "researcher")
    yield database
    database.dispose()


@pytest.fixture
def on_redis(accounts, tmp_path):
    """Apps on one desk with small login limits counted in Redis, under a key prefix of this test's own."""
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        need(False, f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"moderation-test-{uuid.uuid4().hex}"

    def make():  # noqa: ANN202
        return create_app(Config(database_url=accounts.url, instance_path=tmp_path), TESTING=True,
                          RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix,
                          LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="5 per minute")
    yield make, client, prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


def http_login(base: str, username: str, password: str, address: str = "127.0.0.1") -> httpx.Response:
    """A fresh browser session from `address` (any 127.x is this machine) logging in over real HTTP."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base, transport=transport, timeout=20) as client:
        token = TOKEN.search(client.get("/login").text).group(1)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_wrong_passwords_lock_the_account_even_for_the_right_password(on_redis):
    make, redis_client, prefix = on_redis
    with serve(make()) as base:
        assert [http_login(base, "mo", f"guess-{i}").status_code for i in range(3)] == [401] * 3
        locked = http_login(base, "mo", "moderator-pass")
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert "Too many failed logins for this account" in locked.text and 'name="password"' in locked.text
        assert http_login(base, " mo ", "moderator-pass").status_code == 429  # the name as the login reads it
        assert http_login(base, "re", "researcher-pass").status_code == 302  # other accounts log in
    assert any(redis_client.scan_iter(f"*{prefix}*"))
    with serve(make()) as other:  # another process of the same desk counts in the same Redis
        assert http_login(other, "mo", "moderator-pass").status_code == 429


def test_many_accounts_tried_from_one_address_lock_that_address(on_redis):
    make, _, _ = on_redis
    with serve(make()) as base:
        assert [http_login(base, f"user{i}", "guess").status_code for i in range(5)] == [401] * 5
        blocked = http_login(base, "mo", "moderator-pass")
        assert blocked.status_code == 429 and "Too many failed logins from this address" in blocked.text
        assert http_login(base, "mo", "moderator-pass", address="127.0.0.2").status_code == 302


def test_the_shipped_limit_refuses_the_eleventh_login_after_ten_failures(accounts, tmp_path):
    client = create_app(Config(database_url=accounts.url, instance_path=tmp_path), TESTING=True).test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"username": "mo", "password": "nope", "csrf_token": token}
    assert [client.post("/login", data=form).status_code for _ in range(10)] == [401] * 10
    locked = client.post("/login", data={**form, "password": "moderator-pass"})
    assert locked.status_code == 429 and "Try again in 15 minutes" in locked.get_data(as_text=True)


def test_login_limits_fall_back_to_memory_without_redis(accounts, tmp_path):
    config = Config(database_url=accounts.url, instance_path=tmp_path)
    assert create_app(config, TESTING=True).config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert create_app(Config(database_url=accounts.url, instance_path=tmp_path, redis_url=REDIS_URL),
                      TESTING=True).config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    for storage in ("memory://", "redis://127.0.0.1:1/0"):  # none, and a Redis that is down
        app = create_app(config, TESTING=True, RATELIMIT_STORAGE_URI=storage, LOGIN_LIMIT_PER_ACCOUNT="2/minute")
        client = app.test_client()
        assert login(client, "re", "researcher-pass").status_code == 302
        assert [login(app.test_client(), "mo", "nope").status_code for _ in range(2)] == [401, 401]
        assert login(app.test_client(), "mo", "moderator-pass").status_code == 429


def test_a_form_body_over_the_limit_is_refused_when_chunked(accounts, tmp_path):
    app = create_app(Config(database_url=accounts.url, instance_path=tmp_path), TESTING=True)
    body = b"username=mo&password=" + b"x" * (2**20 + 10)
    with serve(app) as base:
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        conn.request("POST", "/login", body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                     headers={"Content-Type": "application/x-www-form-urlencoded"}, encode_chunked=True)
        assert conn.getresponse().status == 413
        conn.close()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_production_cookies_are_secure_httponly_and_same_site(db, tmp_path):
    app = create_app(Config(database_url=db.url, instance_path=tmp_path))
    assert not app.debug and not app.testing
    cookie = app.test_client().get("/login").headers["Set-Cookie"]  # the session, which holds the CSRF token
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    with app.test_request_context("/"):
        login_user(Account(1, "mo", "moderator"), remember=True)
        response = app.process_response(app.make_response("ok"))
    remember = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert remember and all(flag in remember[0] for flag in ("; Secure", "; HttpOnly", "; SameSite=Lax"))
    testing = create_app(Config(database_url=db.url, instance_path=tmp_path), TESTING=True)
    assert "Secure" not in testing.test_client().get("/login").headers["Set-Cookie"]  # tests speak plain HTTP
    plain = create_app(Config(database_url=db.url, instance_path=tmp_path), SESSION_COOKIE_SECURE=False)
    assert "Secure" not in plain.test_client().get("/login").headers["Set-Cookie"]  # a site's explicit choice


@pytest.mark.parametrize("host, secure", [("127.0.0.1", False), ("localhost", False), ("0.0.0.0", True)])
def test_serve_keeps_secure_cookies_unless_only_this_machine_can_connect(monkeypatch, tmp_path, host, secure):
    from click.testing import CliRunner  # noqa: PLC0415
    from flask import Flask  # noqa: PLC0415

    from moderation.cli import main  # noqa: PLC0415

    served = {}
    monkeypatch.setattr(Flask, "run", lambda app, **kw: served.update(app=app, **kw))
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'x.db'}", "serve", "--host", host],
                                env={"MODERATION_INSTANCE_PATH": str(tmp_path)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert served["app"].config["SESSION_COOKIE_SECURE"] is secure
    assert served["app"].config["REMEMBER_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_address_behind_a_reverse_proxy_is_the_forwarded_one_only_when_trusted(accounts, tmp_path, proxies):
    """Behind the proxy every login comes from its address: one visitor must not lock out all of them, and
    without a trusted proxy a forged X-Forwarded-For must not buy fresh attempts."""
    app = create_app(Config(database_url=accounts.url, instance_path=tmp_path), TESTING=True,
                     TRUSTED_PROXIES=proxies, LOGIN_LIMIT_PER_ADDRESS="3/minute")

    def attempt(forwarded: str, username: str, password: str) -> int:
        client = app.test_client()
        headers = {"X-Forwarded-For": forwarded}
        token = TOKEN.search(client.get("/login", headers=headers).get_data(as_text=True)).group(1)
        return client.post("/login", headers=headers, data={"username": username, "password": password,
                                                            "csrf_token": token}).status_code

    assert [attempt(f"203.0.113.{i}" if not proxies else "203.0.113.7", f"u{i}", "x") for i in range(3)] == \
        [401] * 3
    assert attempt("198.51.100.1", "mo", "moderator-pass") == (302 if proxies else 429)


def _secret_after(instance, barrier, out) -> None:  # noqa: ANN001
    barrier.wait(10)
    out.put(Config(instance_path=instance, secret_key="").session_secret())


def test_workers_starting_together_share_one_instance_secret(tmp_path):
    """Without MODERATION_SECRET_KEY, gunicorn workers starting at once must all sign sessions with one key."""
    import multiprocessing  # noqa: PLC0415

    ctx = multiprocessing.get_context("fork")
    for attempt in range(30):
        instance = tmp_path / f"instance-{attempt}"
        barrier, out = ctx.Barrier(8), ctx.Queue()
        workers = [ctx.Process(target=_secret_after, args=(instance, barrier, out)) for _ in range(8)]
        for w in workers:
            w.start()
        keys = [out.get(timeout=20) for _ in workers]
        for w in workers:
            w.join(10)
        assert len(set(keys)) == 1 and len(keys[0]) == 64
        assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no drafts left behind
        assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
