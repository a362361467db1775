"""The Akismet verbs, driven by the `akismet` client library from PyPI against a real loopback server."""
from __future__ import annotations

import httpx
import pytest

from tests.conftest import requires
from sqlalchemy import select

from moderation.store.models import Comment, Decision
from tests.live import api_key, make_app, serve

akismet = requires("akismet")

BLOG = "https://example-news.test"
CLEAN = "Danke für die gründliche Recherche, das hat mir geholfen."
INSULT = "Du bist ein Idiot, halt die Klappe."
SEVERE = "Halt die Klappe, du Hurensohn."


class PointedHere(httpx.HTTPTransport):
    """What pointing rest.akismet.com at the desk (DNS, hosts file, proxy) does: same requests, our server."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = httpx.URL(base)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "rest.akismet.com"
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        return super().handle_request(request)


@pytest.fixture
def app(db, tmp_path):
    return make_app(db, tmp_path)


@pytest.fixture
def server(app):
    with serve(app) as base:
        yield base


def client_for(server: str, key: str):  # noqa: ANN201
    http = httpx.Client(transport=PointedHere(server), timeout=10)
    return akismet.SyncClient.validated_client(config=akismet.Config(key=key, url=BLOG), http_client=http)


def check(client, text: str, **extra: str):  # noqa: ANN001, ANN201
    return client.comment_check(user_ip="203.0.113.7", comment_content=text, comment_type="comment",
                                comment_author="leserin", permalink=f"{BLOG}/artikel-1", **extra)


def test_an_akismet_client_works_unchanged(server, db):
    key = api_key(db)
    client = client_for(server, key)
    assert client.verify_key(key, BLOG) is True
    assert client.verify_key("0" * 40, BLOG) is False
    assert check(client, CLEAN) == akismet.CheckResponse.HAM
    assert check(client, INSULT) == akismet.CheckResponse.SPAM  # held: kept unpublished for a moderator
    assert check(client, SEVERE) == akismet.CheckResponse.DISCARD  # rejected with confident evidence
    with db.session() as s:
        stored = {c.text: c for c in s.scalars(select(Comment))}
    assert {t: c.status for t, c in stored.items()} == {CLEAN: "approved", INSULT: "held", SEVERE: "rejected"}
    comment = stored[INSULT]
    assert comment.meta["akismet"]["user_ip"] == "203.0.113.7" and comment.source == "example-news"
    assert check(client, INSULT, recheck_reason="edit") == akismet.CheckResponse.SPAM
    with db.session() as s:
        assert len(list(s.scalars(select(Comment)))) == 3  # a recheck finds the stored comment


def test_an_invalid_key_is_refused_as_akismet_does(server):
    with pytest.raises(akismet.APIKeyError):
        client_for(server, "0" * 40)


def test_spam_and_ham_reports_become_feedback_decisions(server, db):
    key = api_key(db)
    client = client_for(server, key)
    assert check(client, CLEAN) == akismet.CheckResponse.HAM
    args = {"user_ip": "203.0.113.7", "comment_type": "comment", "comment_author": "leserin",
            "permalink": f"{BLOG}/artikel-1"}
    assert client.submit_spam(comment_content=CLEAN, **args) is True
    assert client.submit_spam(comment_content=CLEAN, **args) is True  # a repeated report adds nothing
    assert client.submit_ham(comment_content="Ein Kommentar, den wir nie geprüft haben.", **args) is True
    with db.session() as s:
        rows = s.execute(select(Comment.text, Comment.status, Decision.action, Decision.origin, Decision.actor,
                                Decision.reason_code).join(Decision, Decision.comment_id == Comment.id)
                         .order_by(Decision.id)).all()
    assert [tuple(r) for r in rows] == [
        (CLEAN, "rejected", "reject", "feedback", "akismet:example-news", "spam"),
        ("Ein Kommentar, den wir nie geprüft haben.", "approved", "approve", "feedback", "akismet:example-news",
         None)]
    assert check(client, CLEAN) == akismet.CheckResponse.DISCARD  # the report stands: rejected on a recheck


def test_test_requests_and_administrators(server, db):
    client = client_for(server, api_key(db))
    assert check(client, INSULT, is_test=True) == akismet.CheckResponse.SPAM
    assert check(client, INSULT, user_role="administrator") == akismet.CheckResponse.HAM
    with db.session() as s:
        assert [c.status for c in s.scalars(select(Comment))] == ["held"]  # only the administrator's is stored


def test_form_errors_and_key_placement(app, db):
    key = api_key(db)
    web = app.test_client()
    missing = web.post("/1.1/comment-check", data={"api_key": key, "blog": BLOG})
    assert missing.data == b"Missing required field: user_ip."
    assert missing.headers["X-akismet-debug-help"] == "Missing required field: user_ip."
    bad = web.post("/1.1/comment-check", data={"api_key": "f" * 40, "blog": BLOG, "user_ip": "1.2.3.4"})
    assert bad.data == b"invalid" and "apikeys add" in bad.headers["X-akismet-debug-help"]
    # Old clients put the key in the host name: <key>.rest.akismet.com
    subdomain = web.post("/1.1/comment-check", data={"blog": BLOG, "user_ip": "1.2.3.4", "comment_content": CLEAN},
                         base_url=f"http://{key}.rest.akismet.com")
    assert subdomain.data == b"false" and subdomain.headers["X-akismet-guid"].startswith("ak-")
    reader = api_key(db, scopes=("read",))
    assert web.post("/1.1/submit-spam", data={"api_key": reader, "blog": BLOG, "user_ip": "1.2.3.4"}).data == \
        b"invalid"
