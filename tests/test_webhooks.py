"""Webhooks: the outbox is written with the decision, deliveries are signed, retried with backoff, and logged."""
from __future__ import annotations

import base64
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from moderation.worker import tasks
from moderation.integrations import webhooks
from moderation.config import Config
from web import create_app
from moderation.store import webhooks as outbox
from moderation.store.decisions import decide
from moderation.store.events import Event
from moderation.store.models import Comment, utcnow
from moderation.store.webhooks import WebhookAttempt, WebhookDelivery, add_endpoint
from tests.conftest import RULES, requires
from tests.live import SITE, Receiver, api_key, bearer, config, make_app, serve
from tests.test_web_auth import login

SECRET = "whsec_" + base64.b64encode(b"a test key of 24 bytes..").decode()
OTHER = "whsec_" + base64.b64encode(b"another key, 24 bytes...").decode()


@pytest.fixture
def inline(db, tmp_path):
    """Tasks run inline (no broker) against the test database, which sends its deliveries after each commit."""
    cfg = config(db, tmp_path, webhook_retry_seconds=30.0)
    tasks.configure(cfg)
    return webhooks.bind(db, cfg)


def held_comment(db, external_id: str = "c1", site: str = SITE) -> int:  # noqa: ANN001
    from tests.test_store import batch, load  # noqa: PLC0415

    load(db, batch([(external_id, None, "Du bist ein Idiot")], source=site))
    with db.session() as s:
        comment = s.scalars(select(Comment).where(Comment.external_id == external_id, Comment.source == site)).one()
        comment.status = "held"
        return comment.id


def approve_with_a_hook(db, url: str) -> None:  # noqa: ANN001
    """A held comment, an endpoint at url, then a moderator's approval, each committed on its own."""
    cid = held_comment(db)
    with db.session() as s:
        add_endpoint(s, SITE, f"{url}/hook", secret=SECRET)
    with db.session() as s:
        decide(s, cid, "approve", "mod")


def test_deliveries_go_from_the_database_written_to_not_the_task_runtimes(db, tmp_path):
    """Two desks in one process: the task runtime points at the one set up last; each still delivers its own."""
    app = make_app(db, tmp_path / "b")
    other = tmp_path / "a"
    create_app(Config(database_url=f"sqlite:///{other / 'a.db'}", instance_path=other, rules_path=RULES),
               TESTING=True)
    written_to = app.extensions["desk"].db
    receiver = Receiver()
    with serve(receiver) as url:
        approve_with_a_hook(written_to, url)
        [call] = receiver.delivered()
    assert (call["id"], call["decision"]) == ("c1", "approve")
    with written_to.session() as s:
        assert s.scalars(select(WebhookDelivery.state)).all() == ["delivered"]


def test_without_a_dispatcher_deliveries_wait_in_the_outbox(db, tmp_path):
    tasks.configure(config(db, tmp_path))
    receiver = Receiver()
    with serve(receiver) as url:
        approve_with_a_hook(db, url)
        assert receiver.received == []
        assert [state for _, state in webhooks.deliver(db)] == ["delivered"]  # the sweep sends it
    assert len(receiver.delivered()) == 1


def signed(secret: str, body: bytes, msg_id: str = "7", timestamp: int = 1_700_000_000) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.sign(secret, msg_id, timestamp, body)}


def test_signatures_are_standard_webhooks_and_resist_tampering_and_replay():
    body = b'{"id": "c1"}'
    headers = signed(SECRET, body)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    assert webhooks.verify(SECRET, headers, body, now=1_700_000_100)
    assert not webhooks.verify(SECRET, headers, b'{"id": "c2"}', now=1_700_000_100)  # body tampered
    assert not webhooks.verify(SECRET, {**headers, "webhook-id": "8"}, body, now=1_700_000_100)  # another delivery
    assert not webhooks.verify(SECRET, {**headers, "webhook-timestamp": "1700000100"}, body, now=1_700_000_100)
    assert not webhooks.verify(OTHER, headers, body, now=1_700_000_100)
    assert not webhooks.verify(SECRET, headers, body, now=1_700_000_000 + 3600)  # too old: a replay
    assert not webhooks.verify(SECRET, headers, body, now=1_700_000_000 - 3600)  # from the future
    assert webhooks.verify(SECRET, headers, body, tolerance=7200, now=1_700_000_000 + 3600)
    old_key = signed(OTHER, body)["webhook-signature"]
    rotated = {**headers, "webhook-signature": f"{old_key} {headers['webhook-signature']}"}
    assert webhooks.verify(SECRET, rotated, body, now=1_700_000_100)  # any one of the listed signatures
    for broken in ({}, {**headers, "webhook-signature": "garbage"}, {**headers, "webhook-timestamp": "soon"},
                   {**headers, "webhook-signature": "v1a," + headers["webhook-signature"][3:]}):
        assert not webhooks.verify(SECRET, broken, body, now=1_700_000_100)


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=1, max_size=64), body=st.text(max_size=200),
       msg_id=st.from_regex(r"[A-Za-z0-9_]{1,30}", fullmatch=True), age=st.integers(-250, 250))
def test_the_reference_verifier_agrees_with_ours(key, body, msg_id, age):
    """Differential: the Standard Webhooks package and verify() accept each other's signatures, refuse tampering."""
    reference = requires("standardwebhooks")
    secret = "whsec_" + base64.b64encode(key).decode()
    timestamp, raw = int(time.time()) + age, body.encode()
    headers = signed(secret, raw, msg_id, timestamp)
    assert reference.Webhook(secret).verify(raw, headers, json_parse=False) is None
    theirs = reference.Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, timezone.utc), body)
    assert theirs == headers["webhook-signature"]
    assert webhooks.verify(secret, {**headers, "webhook-signature": theirs}, raw)
    with pytest.raises(reference.WebhookVerificationError):
        reference.Webhook(secret).verify(raw + b" ", headers, json_parse=False)
    assert not webhooks.verify(secret, headers, raw + b" ")


def test_secrets_from_before_the_standard_keep_working(db, tmp_path):
    """Stored secrets stay valid: whsec_ + base64 is decoded as the standard says (old whsec_ + hex ones are base64
    too); anything else is the raw key, which receivers use in its standard form."""
    reference = requires("standardwebhooks")
    old_generated, raw = "whsec_" + "0123456789abcdef" * 3, "my cms secret"
    assert outbox.signing_key(old_generated) == base64.b64decode(old_generated[6:])  # 36 bytes, as receivers read it
    assert outbox.signing_key(raw) == raw.encode()
    assert outbox.standard_secret(raw) == "whsec_" + base64.b64encode(raw.encode()).decode()
    assert outbox.standard_secret(SECRET) == SECRET
    body = b'{"id": "c1"}'
    for secret, theirs in ((old_generated, old_generated), (raw, outbox.standard_secret(raw)),
                           ("whsec_not base64!", outbox.standard_secret("whsec_not base64!"))):
        headers = signed(secret, body, timestamp=int(time.time()))
        assert reference.Webhook(theirs).verify(body, headers) == {"id": "c1"}
        assert webhooks.verify(secret, headers, body) and webhooks.verify(theirs, headers, body)
    with db.session() as s:  # a new secret must be unambiguous
        with pytest.raises(outbox.WebhookError, match="base64"):
            add_endpoint(s, SITE, "https://cms.example.org/hook", secret="whsec_not base64!")
        generated = add_endpoint(s, SITE, "https://cms.example.org/hook").secret
    assert len(outbox.signing_key(generated)) == 32 and outbox.standard_secret(generated) == generated


def test_a_decision_is_delivered_signed_once_committed(inline):
    db = inline
    receiver = Receiver()
    cid = held_comment(db)
    with serve(receiver) as url, db.session() as s:
        add_endpoint(s, SITE, f"{url}/hook", secret=SECRET)
        s.commit()
        decide(s, cid, "reject", "mod", reason_code="personal-attack")
        assert receiver.received == []  # nothing leaves before the commit
        s.commit()
    [call] = receiver.received
    payload = call["json"]
    assert webhooks.verify(SECRET, call["headers"], call["body"])
    assert requires("standardwebhooks").Webhook(SECRET).verify(call["body"], call["headers"]) == payload
    assert call["headers"]["Moderation-Event"] == "comment.decided"
    assert (payload["event"], payload["id"], payload["decision"], payload["cursor"], payload["origin"],
            payload["reason_code"]) == ("comment.decided", "c1", "reject", 1, "moderator", "personal-attack")
    with db.session() as s:
        delivery = s.scalars(select(WebhookDelivery)).one()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
        assert call["headers"]["Webhook-Id"] == call["headers"]["Moderation-Delivery"] == str(delivery.id)


def test_a_rolled_back_decision_sends_nothing_and_leaves_no_event(inline):
    db = inline
    receiver = Receiver()
    cid = held_comment(db)
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, f"{url}/hook")
        with pytest.raises(RuntimeError), db.session() as s:
            decide(s, cid, "approve", "mod")
            raise RuntimeError("the request failed after deciding")
    assert receiver.received == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_failures_are_retried_with_backoff_then_given_up(inline):
    db = inline
    receiver = Receiver(statuses=(500, 503, 200))
    cid = held_comment(db)
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, f"{url}/hook", secret=SECRET)
        with db.session() as s:
            decide(s, cid, "approve", "mod")
        with db.session() as s:
            delivery = s.scalars(select(WebhookDelivery)).one()
            delivery_id = delivery.id
            wait = delivery.next_attempt_at - s.scalar(select(WebhookAttempt.attempted_at))
            assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
            assert timedelta(seconds=29) < wait < timedelta(seconds=31)  # the first backoff step
        assert webhooks.deliver(db) == []  # not due yet
        for expected in ("pending", "delivered"):
            with db.session() as s:
                s.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            assert [state for _, state in webhooks.deliver(db)] == [expected]
    with db.session() as s:
        assert [a.status_code for a in s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))] == [
            500, 503, 200]
    assert len(receiver.delivered()) == 1 and len({r["json"]["cursor"] for r in receiver.received}) == 1
    assert {r["headers"]["Webhook-Id"] for r in receiver.received} == {str(delivery_id)}  # receivers dedupe on it
    assert all(webhooks.verify(SECRET, r["headers"], r["body"]) for r in receiver.received)  # each attempt re-signed
    assert outbox.backoff(4, 30) == timedelta(seconds=240) and outbox.backoff(30, 30) == outbox.MAX_DELAY


def test_an_endpoint_that_never_answers_is_given_up_after_max_attempts(inline):
    db = inline
    cid = held_comment(db)
    with db.session() as s:
        add_endpoint(s, SITE, "http://127.0.0.1:9/closed")  # discard port: connection refused
    with db.session() as s:
        decide(s, cid, "approve", "mod")
    for _ in range(outbox.MAX_ATTEMPTS):
        with db.session() as s:
            s.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        webhooks.deliver(db)
    with db.session() as s:
        delivery = s.scalars(select(WebhookDelivery)).one()
        assert (delivery.state, delivery.attempts) == ("failed", outbox.MAX_ATTEMPTS)
        assert "ConnectError" in delivery.last_error


def test_endpoints_get_their_site_and_event_types_only(inline):
    db = inline
    receiver = Receiver()
    mine, theirs = held_comment(db, "c1"), held_comment(db, "c1", site="other-site")
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, f"{url}/all")
            add_endpoint(s, SITE, f"{url}/flags", event_types=("comment.flagged",))
            add_endpoint(s, "other-site", f"{url}/other")
        with db.session() as s:
            decide(s, mine, "approve", "mod")
            decide(s, theirs, "reject", "mod")
    # The flags-only endpoint heard nothing; each site's cursor counts on its own.
    assert sorted((r["path"], r["json"]["site"], r["json"]["cursor"]) for r in receiver.received) == [
        ("/all", SITE, 1), ("/other", "other-site", 1)]
    with pytest.raises(outbox.WebhookError):
        with db.session() as s:
            add_endpoint(s, SITE, "ftp://example.org/")


def test_admins_manage_keys_and_webhooks_on_the_integrations_page(db, tmp_path):
    from moderation.store.accounts import add_user  # noqa: PLC0415

    app = make_app(db, tmp_path)
    with db.session() as s:
        add_user(s, "ad", "admin-pass-1", "admin")
        add_user(s, "mo", "moderator-pass", "moderator")
    moderator = app.test_client()
    login(moderator, "mo", "moderator-pass")
    assert moderator.get("/integrations/").status_code == 403
    admin = app.test_client()
    login(admin, "ad", "admin-pass-1")
    page = admin.get("/integrations/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert admin.post("/integrations/keys", data={"site": SITE}).status_code == 400  # no CSRF token
    created = admin.post("/integrations/keys", data={"site": SITE, "label": "cms", "scopes": ["submit", "read"],
                                                     "csrf_token": token}).get_data(as_text=True)
    key = re.search(r'<code class="secret">([0-9a-f]{40})</code>', created).group(1)
    client = app.test_client()
    assert client.get("/api/v1/decisions", headers=bearer(key)).status_code == 200
    assert key not in admin.get("/integrations/").get_data(as_text=True)  # shown once
    assert admin.post("/integrations/keys/1/revoke", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/v1/decisions", headers=bearer(key)).status_code == 401
    hook = admin.post("/integrations/webhooks", data={"site": SITE, "url": "https://cms.example.org/hook",
                                                      "csrf_token": token}).get_data(as_text=True)
    assert re.search(r'<code class="secret">whsec_[A-Za-z0-9+/]{43}=</code>', hook)
    assert admin.post("/integrations/webhooks", data={"site": SITE, "url": "not a url",
                                                      "csrf_token": token}).status_code == 400
    assert admin.post("/integrations/webhooks/1/remove", data={"csrf_token": token}).status_code == 302
    with db.session() as s:
        assert [e.active for e in outbox.endpoints(s)] == [False]


def test_cli_keys_and_webhooks(db, tmp_path):
    from click.testing import CliRunner  # noqa: PLC0415

    from moderation.cli import main  # noqa: PLC0415

    run = CliRunner().invoke
    args = ["--database", db.url]
    added = run(main, [*args, "apikeys", "add", SITE, "--label", "cms", "--rate-limit", "120"])
    assert added.exit_code == 0, added.output
    key = added.output.splitlines()[0]
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    listed = run(main, [*args, "apikeys", "list"]).output
    assert key[:8] in listed and key not in listed and "120/min" in listed
    assert run(main, [*args, "apikeys", "add", SITE, "--scope", "nope"]).exit_code == 2
    assert run(main, [*args, "apikeys", "revoke", key[:8]]).exit_code == 0
    assert "revoked" in run(main, [*args, "apikeys", "list"]).output
    hook = run(main, [*args, "webhooks", "add", SITE, "https://cms.example.org/hook", "--secret", SECRET])
    assert hook.exit_code == 0 and SECRET in hook.output and "as a Standard Webhooks secret" not in hook.output
    raw = run(main, [*args, "webhooks", "add", SITE, "https://cms.example.org/raw", "--secret", "my cms secret"])
    assert raw.exit_code == 0 and outbox.standard_secret("my cms secret") in raw.output
    ambiguous = run(main, [*args, "webhooks", "add", SITE, "https://cms.example.org/x", "--secret", "whsec_no!"])
    assert ambiguous.exit_code == 2 and "base64" in ambiguous.output
    assert "cms.example.org" in run(main, [*args, "webhooks", "list"]).output
    assert run(main, [*args, "webhooks", "add", SITE, "mailto:x"]).exit_code == 2
    assert run(main, [*args, "webhooks", "log"]).output.strip() == "no deliveries"
    assert run(main, [*args, "worker"]).exit_code == 2  # no broker configured: says so


def test_the_api_and_webhooks_tell_the_same_story(db, tmp_path):
    app = make_app(db, tmp_path)
    webhooks.bind(db, config(db, tmp_path))  # the moderator's decision below comes from a process like the app
    key = api_key(db)
    receiver = Receiver()
    with serve(receiver) as url:
        with db.session() as s:
            add_endpoint(s, SITE, f"{url}/hook")
        client = app.test_client()
        client.post("/api/v1/comments", json={"id": "c1", "article_id": "a", "text": "Du Idiot"},
                    headers=bearer(key))
        with db.session() as s:
            decide(s, s.scalars(select(Comment.id)).one(), "reject", "mod")
        feed = client.get("/api/v1/decisions", headers=bearer(key)).get_json()["decisions"]
    assert [r["json"] for r in receiver.received] == feed
