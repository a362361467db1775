"""The live API: verdicts from the fast path, idempotency, validation, keys, limits, the feed, the contract."""
from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import requires
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from moderation.store.apikeys import revoke
from moderation.store.decisions import decide
from moderation.store.models import Comment, Decision, TriageResult
from tests.live import SITE, api_key, bearer, make_app, serve

CLEAN = "Danke für die gründliche Recherche, das hat mir geholfen."
INSULT = "Du bist ein Idiot, halt die Klappe."
SEVERE = "Halt die Klappe, du Hurensohn."


@pytest.fixture
def app(db, tmp_path):
    return make_app(db, tmp_path)


@pytest.fixture
def key(db):
    return api_key(db)


def post(client, key, body, **headers):  # noqa: ANN001, ANN201
    return client.post("/api/v1/comments", json=body, headers={**bearer(key), **headers})


def comment(cid: str, text: str = CLEAN, **fields: object) -> dict:
    return {"id": cid, "article_id": "a1", "text": text, "author": "leserin", **fields}


def test_submit_answers_the_verdict_with_reasons(app, key, db):
    client = app.test_client()
    ok = post(client, key, comment("c1"))
    assert ok.status_code == 201
    assert ok.get_json()["id"] == "c1" and ok.get_json()["decision"] == "approve" and ok.get_json()["reasons"] == []
    assert ok.headers["Location"] == "/api/v1/comments/c1"
    held = post(client, key, comment("c2", INSULT)).get_json()
    assert held["decision"] == "hold" and held["status"] == "held"
    assert {r["code"] for r in held["reasons"]} >= {"personal-attack"}
    span = held["reasons"][0]["spans"][-1]
    assert INSULT[span["start"]:span["end"]] == span["text"]
    rejected = post(client, key, comment("c3", SEVERE)).get_json()
    assert rejected["decision"] == "reject"
    with db.session() as s:
        stored = {c.external_id: c for c in s.scalars(select(Comment))}
        assert {k: c.status for k, c in stored.items()} == {"c1": "approved", "c2": "held", "c3": "rejected"}
        assert all(c.source == SITE and c.triage_id is not None for c in stored.values())


def test_a_reply_is_linked_to_its_parent_and_assessed_as_a_reply(app, key, db):
    client = app.test_client()
    post(client, key, comment("p1", "Der Artikel übersieht die Kosten.", author="Sabine"))
    reply = post(client, key, comment("r1", "Sabine, Sie haben völlig recht.", parent_id="p1", author="Tom"))
    assert reply.status_code == 201
    with db.session() as s:
        child = s.scalars(select(Comment).where(Comment.external_id == "r1")).one()
        parent = s.scalars(select(Comment).where(Comment.external_id == "p1")).one()
        assert child.parent_id == parent.id and child.depth == 1 and not child.orphan


def test_the_same_comment_twice_is_stored_once_and_answered_alike(app, key, db):
    client = app.test_client()
    first = post(client, key, comment("c1", INSULT))
    again = post(client, key, comment("c1", INSULT))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    changed = post(client, key, comment("c1", "Etwas ganz anderes."))
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "conflict"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 1
        assert s.scalar(select(func.count()).select_from(TriageResult)) == 1


def test_a_decision_sent_with_the_comment_stands_for_an_import_key(app, db):
    importer = api_key(db, scopes=("submit", "import"))
    answer = post(app.test_client(), importer, comment("c1", CLEAN, decision="rejected")).get_json()
    assert answer["decision"] == "reject" and answer["status"] == "rejected"
    with db.session() as s:
        assert [(d.action, d.origin) for d in s.scalars(select(Decision))] == [("reject", "import")]


@pytest.mark.parametrize("field, value", [("decision", "approved"), ("decision", "rejected"),
                                          ("status", "spam"), ("status", "approved")])
def test_a_submit_key_cannot_decide_its_own_comment(app, key, db, field, value):
    """Live submissions are always judged: a historic decision or source status needs the import scope."""
    client = app.test_client()
    refused = post(client, key, comment("c1", "Du Idiot!", **{field: value}), **{"Idempotency-Key": "k1"})
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "import_scope_required" and f"'{field}'" in error["message"]
    assert "import" in error["message"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 0
        assert s.scalar(select(func.count()).select_from(Decision)) == 0
    judged = post(client, key, comment("c1", "Du Idiot!"), **{"Idempotency-Key": "k2"}).get_json()
    assert judged["decision"] == "hold"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 0


def test_new_keys_never_get_the_import_scope_unasked(db):
    from moderation.store.apikeys import DEFAULT_SCOPES, SCOPES, create  # noqa: PLC0415

    from click.testing import CliRunner  # noqa: PLC0415

    from moderation.cli import main  # noqa: PLC0415

    assert "import" in SCOPES and "import" not in DEFAULT_SCOPES
    with db.session() as s:
        assert "import" not in create(s, SITE)[0].scopes
    args = ["--database", db.url, "apikeys", "add", SITE, "--json"]
    plain = json.loads(CliRunner().invoke(main, args, catch_exceptions=False).output)
    asked = json.loads(CliRunner().invoke(main, [*args, "--scope", "submit", "--scope", "import"],
                                          catch_exceptions=False).output)
    assert "import" not in plain["scopes"] and sorted(asked["scopes"]) == ["import", "submit"]


@pytest.mark.parametrize("body, status, code, words", [
    (b"{", 400, "invalid_json", "invalid JSON"),
    (b'{"id": "c1", "id": "c2", "article_id": "a", "text": ""}', 400, "invalid_json", "duplicate key"),
    (b"[1, 2]", 400, "invalid_json", "expected a JSON object"),
    (b'{"id": "c1", "text": "x"}', 422, "invalid_comment", "missing required field 'article_id'"),
    (b'{"id": "c1", "article_id": "a", "text": 5}', 422, "invalid_comment", "'text' must be a string"),
    (json.dumps({"id": "x" * 201, "article_id": "a", "text": "t"}).encode(), 422, "invalid_comment",
     "longer than 200"),
    (b'{"id": "c1", "article_id": "a", "text": "t", "created_at": "yesterday"}', 422, "invalid_comment",
     "invalid date"),
    (b'{"id": "c1", "article_id": "a", "text": "t", "source": "other-site"}', 403, "wrong_site", "other-site"),
])
def test_bad_bodies_get_clear_json_errors_and_store_nothing(app, key, db, body, status, code, words):
    response = app.test_client().post("/api/v1/comments", data=body, content_type="application/json",
                                      headers=bearer(key))
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and words in error["message"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 0


def test_size_and_media_type_limits(app, key):
    client = app.test_client()
    huge = client.post("/api/v1/comments", json=comment("c1", "x" * 70_000), headers=bearer(key))
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "too_large"
    form = client.post("/api/v1/comments", data={"id": "c1"}, headers=bearer(key))
    assert form.status_code == 415 and form.get_json()["error"]["code"] == "unsupported_media_type"


def _raw_post(base: str, key: str, chunks: list[bytes], chunked: bool) -> tuple[int, dict]:
    """POST with http.client: the body as chunks (Transfer-Encoding: chunked, no Content-Length) or whole."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    headers = {**bearer(key), "Content-Type": "application/json"}
    try:
        if chunked:
            conn.request("POST", "/api/v1/comments", body=iter(chunks), headers=headers, encode_chunked=True)
        else:
            conn.request("POST", "/api/v1/comments", body=b"".join(chunks), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_over_the_limit_is_refused_however_it_is_sent(app, key, db, chunked):
    """Over 64 KiB is a 413 with or without Content-Length; the server must not read a cut body as whole."""
    from web.clients import MAX_BODY  # noqa: PLC0415

    small = json.dumps(comment("c1", INSULT)).encode()
    padded = small + b" " * (MAX_BODY + 10 - len(small))  # valid JSON: cut at the limit it still parses
    fits = small + b" " * (MAX_BODY - len(small))
    with serve(app) as base:
        status, answer = _raw_post(base, key, [padded[i:i + 4096] for i in range(0, len(padded), 4096)], chunked)
        assert status == 413 and answer["error"]["code"] == "too_large"
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Comment)) == 0
        status, answer = _raw_post(base, key, [fits[i:i + 4096] for i in range(0, len(fits), 4096)], chunked)
        assert status == 201 and answer["decision"] == "hold"


@pytest.mark.parametrize("opener, closer", [("[", "]"), ('{"a": ', "}")])
def test_deeply_nested_json_is_a_clear_400(app, key, db, opener, closer):
    client = app.test_client()
    for depth in (65, 2000, 5000):
        nested = opener * depth + "1" + closer * depth
        body = '{"id": "c1", "article_id": "a1", "text": "t", "meta": {"x": ' + nested + "}}"
        response = client.post("/api/v1/comments", data=body, content_type="application/json",
                               headers=bearer(key))
        assert response.status_code == 400, depth
        error = response.get_json()["error"]
        assert error["code"] == "invalid_json" and "nested deeper than 64" in error["message"]
    shallow = '{"id": "c1", "article_id": "a1", "text": "t", "meta": {"x": ' + "[" * 60 + "]" * 60 + \
              ', "s": "[[[[{{{{' + "[" * 100 + '"}}'
    assert client.post("/api/v1/comments", data=shallow, content_type="application/json",
                       headers=bearer(key)).status_code == 201
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 1


def test_escaped_quotes_cannot_make_the_nesting_check_slow(app, key):
    """A long unterminated string of escaped quotes made a regular-expression scan quadratic (21 s)."""
    body = '{"id": "c1", "article_id": "a1", "text": "' + '\\"' * 21_000
    started = time.monotonic()
    response = app.test_client().post("/api/v1/comments", data=body, content_type="application/json",
                                      headers=bearer(key))
    assert response.status_code == 400 and time.monotonic() - started < 2


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_JSON_TEXT = st.text(alphabet='[]{}"\\ax,:', max_size=8)
_JSON = st.recursive(st.none() | st.integers() | _JSON_TEXT,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_TEXT, inner, max_size=3),
                     max_leaves=12)


@settings(max_examples=300, deadline=None, database=None)
@given(value=_JSON, wraps=st.integers(min_value=0, max_value=70), indent=st.sampled_from([None, 1]))
def test_the_nesting_check_agrees_with_the_parsed_depth(value, wraps, indent):
    from moderation.importers import ImportFormatError  # noqa: PLC0415
    from moderation.importers.jsonl import MAX_DEPTH, check_depth  # noqa: PLC0415

    for _ in range(wraps):
        value = [value] if wraps % 2 else {"k]": value}
    text = json.dumps(value, indent=indent)
    try:
        check_depth(text, "body", 1)
        refused = False
    except ImportFormatError:
        refused = True
    assert refused == (_depth(json.loads(text)) > MAX_DEPTH)


def test_keys_are_checked_scoped_and_revocable(app, db):
    client = app.test_client()
    missing = client.post("/api/v1/comments", json=comment("c1"))
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.get_json()["error"]["code"] == "unauthorized"
    assert post(client, "0" * 40, comment("c1")).status_code == 401
    reader = api_key(db, scopes=("read",))
    denied = post(client, reader, comment("c1"))
    assert denied.status_code == 403 and "submit" in denied.get_json()["error"]["message"]
    writer = api_key(db)
    assert post(client, writer, comment("c1")).status_code == 201
    with db.session() as s:
        revoke(s, writer[:8])
    assert post(client, writer, comment("c2")).status_code == 201  # known to this process for a few seconds
    app.config["API_KEY_CACHE_SECONDS"] = 0.01
    app.extensions["api_keys"].clear()
    assert post(client, writer, comment("c3")).status_code == 401


def test_rate_limit_answers_429_with_retry_after(app, db):
    client = app.test_client()
    key = api_key(db, rate_limit=3)
    answers = [post(client, key, comment(f"c{i}")) for i in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[2].headers["RateLimit-Remaining"] == "0"
    limited = answers[3]
    assert limited.get_json()["error"]["code"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    other = api_key(db, rate_limit=3)  # limits are per key
    assert post(client, other, comment("c9")).status_code == 201


def test_idempotency_keys_replay_the_first_answer(app, key, db):
    client = app.test_client()
    first = post(client, key, comment("c1", INSULT), **{"Idempotency-Key": "req-1"})
    with db.session() as s:  # a moderator decides meanwhile: the replay is still the first answer
        decide(s, s.scalars(select(Comment.id)).one(), "approve", "mod")
    replay = post(client, key, comment("c1", INSULT), **{"Idempotency-Key": "req-1"})
    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == first.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    assert post(client, key, comment("c1", INSULT), **{"Idempotency-Key": "req-2"}).get_json()["decision"] == \
        "approve"
    reused = post(client, key, comment("c2"), **{"Idempotency-Key": "req-1"})
    assert reused.status_code == 422 and reused.get_json()["error"]["code"] == "idempotency_mismatch"
    bad = post(client, key, comment("c3"), **{"Idempotency-Key": "x" * 201})
    assert bad.status_code == 400


def test_status_of_a_comment_with_its_decisions(app, key, db):
    client = app.test_client()
    assert client.get("/api/v1/comments/nope", headers=bearer(key)).status_code == 404
    post(client, key, comment("c/1", INSULT))
    with db.session() as s:
        decide(s, s.scalars(select(Comment.id)).one(), "reject", "mod", reason_code="personal-attack")
    status = client.get("/api/v1/comments/c/1", headers=bearer(key)).get_json()
    assert status["decision"] == "reject" and status["status"] == "rejected"
    assert [(d["action"], d["origin"], d["reason_code"]) for d in status["decisions"]] == [
        ("reject", "moderator", "personal-attack")]
    other = api_key(db, site="other-site")
    assert client.get("/api/v1/comments/c/1", headers=bearer(other)).status_code == 404


def test_decision_feed_pages_by_cursor_and_keeps_sites_apart(app, key, db):
    client = app.test_client()
    for i in range(3):
        post(client, key, comment(f"c{i}", INSULT))
    with db.session() as s:
        ids = dict(s.execute(select(Comment.external_id, Comment.id)).all())
        decide(s, ids["c0"], "approve", "mod")
        decide(s, ids["c2"], "reject", "mod", reason_code="personal-attack")
        entry = decide(s, ids["c1"], "approve", "mod")
    with db.session() as s:
        from moderation.store.decisions import undo  # noqa: PLC0415

        undo(s, entry.id, "mod")
    page = client.get("/api/v1/decisions?limit=2", headers=bearer(key)).get_json()
    assert [(d["id"], d["decision"]) for d in page["decisions"]] == [("c0", "approve"), ("c2", "reject")]
    assert page["has_more"] and page["next_cursor"] == 2
    rest = client.get(f"/api/v1/decisions?cursor={page['next_cursor']}", headers=bearer(key)).get_json()
    assert [(d["id"], d["decision"], d["action"]) for d in rest["decisions"]] == [
        ("c1", "approve", "approve"), ("c1", "hold", "undo")]
    assert not rest["has_more"] and rest["next_cursor"] == 4
    assert client.get("/api/v1/decisions?cursor=x", headers=bearer(key)).status_code == 400
    other = api_key(db, site="other-site")
    assert client.get("/api/v1/decisions", headers=bearer(other)).get_json()["decisions"] == []


def test_a_scorer_outage_holds_instead_of_approving(db, tmp_path, key):
    app = make_app(db, tmp_path, scorers=("lexicon", "fake-deep"))  # a fast-path model that fails on "deepfail"
    answer = post(app.test_client(), key, comment("c1", "Ein freundlicher Kommentar, deepfail.")).get_json()
    assert answer["decision"] == "hold"
    assert any(r["code"] == "incomplete-evidence" and "unreachable" in r["detail"] for r in answer["reasons"])


def test_unknown_paths_and_methods_answer_json(app, key):
    client = app.test_client()
    missing = client.get("/api/v1/nothing", headers=bearer(key))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/comments", headers=bearer(key))
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert client.get("/no-api-here").mimetype == "text/html"


def test_concurrent_twins_store_one_comment(app, key, db):
    barrier = threading.Barrier(4)
    answers = []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(post(client, key, comment("twin", INSULT)))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({json.dumps(a.get_json(), sort_keys=True) for a in answers}) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 1
        assert s.scalar(select(func.count()).select_from(Decision)) == 0


def test_a_twin_committed_between_lookup_and_store_is_answered_as_known(app, key, db, monkeypatch):
    """The interleaving behind the twins race: the twin commits after this request's lookup found nothing but
    before its store; the general path then finds the comment present and must not answer 201 for it."""
    from moderation.services import ingest  # noqa: PLC0415

    real = ingest.load_batch

    def twin_first(session, batch):  # noqa: ANN001, ANN202
        with db.session() as other:
            real(other, batch)
        return real(session, batch)

    monkeypatch.setattr(ingest, "load_batch", twin_first)
    answer = post(app.test_client(), key, comment("twin", INSULT))
    assert answer.status_code == 200
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Comment)) == 1


def test_openapi_document_is_valid_and_covers_every_route(app):
    from openapi_spec_validator import validate  # noqa: PLC0415

    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(spec)
    documented = {path.replace("{id}", "<path:external_id>") for path in spec["paths"]}
    routed = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/1.1/"))}
    assert routed == documented


def test_answers_conform_to_the_openapi_document(app, key):
    """Schemathesis sends generated requests (valid and odd ones): no 500s, every answer as documented."""
    schemathesis = requires("schemathesis")
    from hypothesis import HealthCheck, given, settings  # noqa: PLC0415
    from schemathesis.specs.openapi import checks  # noqa: PLC0415

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="^/api/v1/")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=schema.as_strategy())
    def run(case) -> None:  # noqa: ANN001
        case.call_and_validate(headers=bearer(key), checks=[
            schemathesis.checks.not_a_server_error, checks.status_code_conformance,
            checks.content_type_conformance, checks.response_schema_conformance])

    run()


@pytest.mark.parametrize("field", ["id", "article_id", "parent_id", "text", "author", "article_title"])
def test_a_nul_character_is_refused_before_any_query(app, key, field):
    """PostgreSQL cannot hold NUL, even in a lookup: the submission is refused as invalid on both backends."""
    client = app.test_client()
    body = {"id": "c2", "article_id": "a1", "text": "Hallo", "parent_id": "c1", field: "x\x00y"}
    response = client.post("/api/v1/comments", json=body, headers=bearer(key))
    assert response.status_code == 422 and "NUL" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/comments/x%00y", headers=bearer(key)).status_code == 404
