"""The live API for a site's CMS: submit a comment and get its verdict, read its status, sync decisions.

Every view is @public for the login guard and checks the site's bearer key itself; errors are JSON
{"error": {"code", "message"}}. The contract is web/openapi.yaml, served at /api/v1/openapi.json.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from functools import lru_cache, wraps
from pathlib import Path
from typing import Callable

from flask import Blueprint, Response, g, jsonify, make_response, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from ruamel.yaml import YAML
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from wtforms import ValidationError

from moderation.services import authors, ingest
from moderation.store import apikeys, events
from moderation.store.authors import AuthorAction
from moderation.store.decisions import DecisionError
from moderation.store.models import Decision
from web import clients, csrf
from web.auth import public
from web.desk import desk

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # keys, not cookies: there is no session to ride on
bp.record_once(lambda state: clients.setup(state.app))

SPEC = Path(__file__).with_name("openapi.yaml")
FEED_LIMIT = 500
MAX_CURSOR = 2**31 - 1  # cursors are 32-bit integers in the database


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def keyed(scope: str) -> Callable[[Callable], Callable]:
    """The view needs a site's key with this scope, within the key's rate limit."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> Response:
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                return error(401, "unauthorized", "send the site's API key as 'Authorization: Bearer <key>'",
                             {"WWW-Authenticate": 'Bearer realm="moderation"'})
            client = clients.authenticate(key.strip())
            if client is None:
                return error(401, "unauthorized", "unknown or revoked API key",
                             {"WWW-Authenticate": 'Bearer realm="moderation", error="invalid_token"'})
            if scope not in client.scopes:
                return error(403, "forbidden", f"this key may not {scope} (scopes: {', '.join(client.scopes)})")
            allowed = clients.allowance(client)
            if not allowed.allowed:
                return error(429, "rate_limited", f"more than {allowed.limit} requests in the last minute; retry in "
                                                  f"{allowed.reset} s", clients.rate_headers(allowed))
            g.client = client
            response = make_response(view(*args, **kwargs))
            response.headers.update(clients.rate_headers(allowed))
            return response
        return public(wrapper)
    return decorate


def author_access(scope: str) -> Callable[[Callable], Callable]:
    """A site's key with this scope, or a desk moderator's session (a write also needs the page's CSRF token,
    this blueprint being exempt from the cookie-based check): g.actor and g.site say who acts where."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def by_session(*args: object, **kwargs: object) -> Response:
            if not current_user.is_authenticated:
                return error(401, "unauthorized", "send a key with the moderate scope, or log in at the desk",
                             {"WWW-Authenticate": 'Bearer realm="moderation"'})
            if current_user.role not in ("moderator", "admin"):
                return error(403, "forbidden", f"a {current_user.role} may not act on authors")
            if request.method != "GET":
                try:
                    validate_csrf(request.headers.get("X-CSRFToken", ""))
                except (ValidationError, CSRFError) as exc:
                    return error(403, "csrf", f"send the page's CSRF token as X-CSRFToken ({exc})")
            g.site, g.actor = request.args.get("site") or "default", current_user.username
            return view(*args, **kwargs)

        keyed_view = keyed(scope)(view)

        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> Response:
            if request.headers.get("Authorization"):
                return keyed_view(*args, **kwargs)
            return by_session(*args, **kwargs)
        return public(refuse_nul(wrapper))
    return decorate


def refuse_nul(view: Callable) -> Callable:
    """No stored name or text holds a NUL (imports refuse them, PostgreSQL cannot store one): a request with one,
    in the query or as a JSON escape, is refused before any lookup."""
    @wraps(view)
    def wrapper(*args: object, **kwargs: object) -> Response:
        if any("\x00" in v for v in request.args.values()) or b"\\u0000" in request.get_data():
            return error(400, "invalid", "a NUL character is not allowed in names or texts")
        return view(*args, **kwargs)
    return wrapper


def _keyed_actor(body: dict) -> None:
    """Who acts, for a key: the CMS may name its own moderator; the key is always recorded."""
    if "client" in g:
        named = str(body.get("actor") or "")[:100]
        g.site, g.actor = g.client.site, f"api:{g.client.site}:key-{g.client.key_id}" + (f":{named}" if named else "")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise authors.AuthorError("send a JSON object")
    return body


def _when(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise authors.AuthorError(f"until: {value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@bp.get("/authors")
@author_access("read")
def author() -> Response:
    """An author's profile on the key's site: comments, rejection rate, notes, identities, state and log."""
    name = request.args.get("name", "")
    if "client" in g:
        g.site = g.client.site
    with desk().db.session() as session:
        profile = authors.profile(session, g.site, name)
    if not name or (not profile.comments and not profile.actions):
        return error(404, "not_found", f"no author {name!r} on site {g.site!r}")
    return jsonify(profile.to_dict())


@bp.post("/authors/actions")
@author_access("moderate")
def author_act() -> Response:
    """Ban (optionally rejecting the pending comments), suspend, pre-moderate, trust, clear, note, reject-pending."""
    try:
        body = _json_body()
        _keyed_actor(body)
        seen = body.get("seen")
        if seen is not None and not isinstance(seen, int):
            raise authors.AuthorError("seen is the author's state version, an integer")
        with desk().db.session() as session:
            result = authors.act(session, g.site, str(body.get("author") or ""), str(body.get("action") or ""),
                                 g.actor, reason=str(body.get("reason") or ""), until=_when(body.get("until")),
                                 seen=seen, reject_pending=body.get("reject_pending") is True,
                                 reason_code=str(body.get("reason_code") or "other"))
    except authors.AuthorChanged as exc:
        return error(409, "conflict", str(exc))
    except (authors.AuthorError, DecisionError) as exc:
        return error(422, "invalid_action", str(exc))
    return make_response(jsonify(result.to_dict()), 201)


@bp.post("/authors/undo")
@author_access("moderate")
def author_undo() -> Response:
    """Undo an author action: the state before it and the comments it rejected come back."""
    try:
        body = _json_body()
        _keyed_actor(body)
        action_id = body.get("action_id")
        if not isinstance(action_id, int) or not 0 < action_id <= MAX_CURSOR:
            raise authors.AuthorError("action_id is the id of an author action")
        with desk().db.session() as session:
            source = session.scalar(select(AuthorAction.source).where(AuthorAction.id == action_id))
            if source != g.site:
                return error(404, "not_found", f"no author action {action_id} on site {g.site!r}")
            result = authors.undo(session, action_id, g.actor, reason=str(body.get("reason") or ""))
    except authors.AuthorChanged as exc:
        return error(409, "conflict", str(exc))
    except (authors.AuthorError, DecisionError) as exc:
        return error(422, "invalid_action", str(exc))
    return make_response(jsonify(result.to_dict()), 201)


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        raise ingest.Refused(400, "bad_idempotency_key", "Idempotency-Key is 1 to 200 printable ASCII characters")
    return key


@bp.post("/comments")
@keyed("submit")
def submit() -> Response:
    """Store a comment and answer the fast path's verdict: 201 when new, 200 when known already."""
    if request.mimetype not in ("application/json", ""):
        return error(415, "unsupported_media_type", "send the comment as application/json")
    request.max_content_length = clients.MAX_BODY  # before the body is read, however it is sent
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return error(413, "too_large", f"a comment request is at most {clients.MAX_BODY} bytes")
    try:
        idempotency = _idempotency_key()
        batch = ingest.parse(body, g.client.site, historic="import" in g.client.scopes)
        request_hash = hashlib.sha256(body).hexdigest()
        store = clients.submitter(batch)

        def work(session):  # noqa: ANN001, ANN202
            row = apikeys.replay(session, g.client.key_id, idempotency, request_hash) if idempotency else None
            if row is not None and row.status_code is not None:
                return None, row.status_code, row.response
            verdict = store(session)
            status, answer = (201 if verdict.created else 200), verdict.to_dict()
            if row is not None:
                row.status_code, row.response = status, answer
            return verdict, status, answer

        verdict, status, answer = clients.transaction(work)
    except ingest.Refused as exc:
        return error(exc.status, exc.code, exc.message)
    except apikeys.IdempotencyMismatch as exc:
        return error(422, "idempotency_mismatch", str(exc))
    response = make_response(jsonify(answer), status)
    response.headers["Location"] = url_for("api.comment", external_id=answer["id"])
    if verdict is None:
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return clients.after_response(response, verdict)


@bp.get("/comments/<path:external_id>")
@keyed("read")
def comment(external_id: str) -> Response:
    """The comment's current state, its reasons, and the decisions taken on it."""
    with desk().db.session() as session:
        stored = ingest.find(session, g.client.site, external_id)
        if stored is None:
            return error(404, "not_found", f"no comment {external_id!r} for site {g.client.site!r}")
        answer = ingest.stored_verdict(session, stored).to_dict()
        answer["decisions"] = [
            {"action": d.action, "origin": d.origin, "reason_code": d.reason_code, "at": d.created_at.isoformat()}
            for d in session.scalars(select(Decision).where(Decision.comment_id == stored.id)
                                     .order_by(Decision.id))]
    return jsonify(answer)


@bp.get("/decisions")
@keyed("read")
def decisions() -> Response:
    """Changes after a cursor (moderator decisions, flags after publication, re-triage), oldest first."""
    try:
        cursor = int(request.args.get("cursor", "0"))
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        return error(400, "bad_request", "cursor and limit are integers")
    if not 0 <= cursor <= MAX_CURSOR or not 1 <= limit <= FEED_LIMIT:
        return error(400, "bad_request", f"cursor is 0 to {MAX_CURSOR}; limit is 1 to {FEED_LIMIT}")
    with desk().db.session() as session:
        items = events.since(session, g.client.site, cursor, limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return jsonify({"decisions": items, "next_cursor": items[-1]["cursor"] if items else cursor, "has_more": more})


@lru_cache(maxsize=1)
def _spec() -> str:
    return json.dumps(YAML(typ="safe").load(SPEC.read_text(encoding="utf-8")))


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    return Response(_spec(), mimetype="application/json")


@bp.app_errorhandler(HTTPException)
def _json_errors(exc: HTTPException):  # noqa: ANN202
    """Errors under /api/ are JSON (unknown paths, wrong methods, oversized bodies); others keep their pages."""
    if not request.path.startswith("/api/"):
        return exc
    methods = getattr(exc, "valid_methods", None)  # a 405 says which methods would do
    allow = {"Allow": ", ".join(methods)} if methods else {}
    return error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or exc.name,
                 allow)
