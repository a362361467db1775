"""Akismet's verbs at Akismet's paths, so an Akismet client or CMS plugin works once its host points here.

Keys are the desk's API keys (`moderation apikeys add SITE`), sent as Akismet sends them: the `api_key`
(or `key`) form field, or the first label of the host name (`<key>.rest.akismet.com`).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from moderation.integrations import akismet
from moderation.services import ingest
from moderation.assess.pipeline import Item
from moderation.store import apikeys, decisions
from moderation.store.models import Comment
from moderation.store.database import lock_for_write
from web import clients, csrf
from web.auth import public
from web.desk import desk

bp = Blueprint("akismet", __name__, url_prefix="/1.1")
csrf.exempt(bp)
bp.record_once(lambda state: clients.setup(state.app))

INVALID_HELP = "The API key is unknown or revoked; create one with `moderation apikeys add SITE`."


def _text(body: str, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/plain")
    response.headers.update(headers or {})
    return response


def _form() -> dict[str, str]:
    request.max_content_length = clients.MAX_BODY
    return request.form.to_dict()


def _client(form: dict[str, str], scope: str) -> apikeys.Client | Response:
    """The form's key as an allowed client, or Akismet's answer to a bad key (or our 429)."""
    key = form.get("api_key") or form.get("key") or ""
    if not key:
        label = request.host.split(".", 1)[0]
        key = label if "." in request.host and all(c in "0123456789abcdef" for c in label.lower()) else ""
    client = clients.authenticate(key.strip()) if key else None
    if client is None or scope not in client.scopes:
        return _text("invalid", {"X-akismet-debug-help": INVALID_HELP if client is None else
                                 f"This key may not {scope}."})
    allowed = clients.allowance(client)
    if not allowed.allowed:
        return _text(f"Rate limit of {allowed.limit} requests per minute exceeded.", clients.rate_headers(allowed),
                     429)
    return client


def _stored(form: dict[str, str], client: apikeys.Client) -> tuple[ingest.Verdict | None, Response | None]:
    """The form's comment, stored and assessed (or known already), or the error to answer with."""
    message = akismet.missing(form)
    if message:
        return None, _text(message, {"X-akismet-debug-help": message})
    try:
        batch = ingest.parse_row(akismet.to_row(form), client.site)
        return clients.transaction(clients.submitter(batch)), None
    except ingest.Refused as exc:
        return None, _text(exc.message, {"X-akismet-debug-help": exc.message}, 400)


@bp.post("/verify-key")
@public
def verify_key() -> Response:
    form = _form()
    client = _client({"api_key": form.get("key") or form.get("api_key", "")}, "submit")
    return client if isinstance(client, Response) else _text("valid")


@bp.post("/comment-check")
@public
def comment_check() -> Response:
    """"true" keeps the comment unpublished (held or rejected here), "false" publishes it."""
    form = _form()
    client = _client(form, "submit")
    if isinstance(client, Response):
        return client
    if akismet.is_test(form):  # assessed, never stored: tests must not teach the site model
        if message := akismet.missing(form):
            return _text(message, {"X-akismet-debug-help": message})
        decision = desk().pipeline.assess_one(Item(form.get("comment_content", ""))).decision.value
        body, headers = akismet.answer(decision)
        return _text(body, headers)
    verdict, failure = _stored(form, client)
    if failure is not None:
        return failure
    body, headers = akismet.answer("approve" if akismet.trusted(form) else verdict.decision)
    return clients.after_response(_text(body, {**headers, "X-akismet-guid": verdict.external_id}), verdict)


def _feedback(action: str) -> Response:
    """A correction from the site: recorded as a decision of origin "feedback", which the site model learns."""
    form = _form()
    client = _client(form, "feedback")
    if isinstance(client, Response):
        return client
    if akismet.is_test(form):
        message = akismet.missing(form)
        return _text(message, {"X-akismet-debug-help": message}) if message else _text(akismet.THANKS)
    verdict, failure = _stored(form, client)
    if failure is not None:
        return failure

    def decide(session):  # noqa: ANN001, ANN202
        lock_for_write(session)  # one report at a time per comment: SQLite's write lock, PostgreSQL's row lock
        session.get(Comment, verdict.comment_id, with_for_update=True)
        last = decisions.latest(session, verdict.comment_id)
        if last is None or last.action != action:  # a repeated report adds nothing
            decisions.decide(session, verdict.comment_id, action, f"akismet:{client.site}",
                             reason_code="spam" if action == "reject" else None, origin="feedback")
    clients.transaction(decide)
    return clients.after_response(_text(akismet.THANKS), verdict)


@bp.post("/submit-spam")
@public
def submit_spam() -> Response:
    return _feedback("reject")


@bp.post("/submit-ham")
@public
def submit_ham() -> Response:
    return _feedback("approve")
