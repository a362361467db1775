"""The review queue: listings with live counts, the comment card, decisions, undo, claims and bulk decisions."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import format_timedelta, ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from moderation.store import queue as q
from moderation.services import review
from moderation.store import threads
from moderation.domain.comments import Action
from moderation.store import Article, Comment, TriageResult, claims
from moderation.store.counts import Counter
from moderation.store.decisions import AlreadyDecided, DecisionError
from moderation.store.waiting import WAITING_QUEUES, Waiting, WaitCache
from web.auth import _safe_next, roles
from web.desk import desk
from web.highlight import hit_spans, pieces
from web.i18n import reasons as _reasons

bp = Blueprint("queue", __name__, url_prefix="/queue")
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.|\s?\[dot\]\s?)(?:com|de|at|ch|be|org|net|tv|io|ly)\b(?:/\S*)?",
                 re.I)
APPROVED_SLOWER = 20  # the approved count (most of the table) is counted in full this many times less often
COUNTS_SECONDS = 3.0  # a reading is reused this long while no decision, comment or triage result came in


def queue_counts(article: int | None = None) -> dict[str, int]:
    """The tab counts, exact as of this request's reading (see moderation/store/counts.py)."""
    ttl = float(current_app.config.get("QUEUE_COUNTS_SECONDS", COUNTS_SECONDS))
    counter = current_app.extensions.setdefault("queue_counts", Counter())  # one per app: a test's app, its data
    counter.busy_seconds, counter.full_seconds = ttl, max(ttl, 1.0) * APPROVED_SLOWER
    db = desk().db
    return counter.get(db.session, db.url, article)


def queue_waiting(queue: str, article: int | None = None) -> Waiting | None:
    """The oldest waiting comment and median waits of a queue where comments wait for a moderator."""
    if queue not in WAITING_QUEUES:
        return None
    waits = current_app.extensions.setdefault("queue_waits", WaitCache())
    waits.seconds = float(current_app.config.get("QUEUE_WAIT_SECONDS", 30.0))
    db = desk().db
    return waits.get(db.session, db.url, queue, article)


def _max_wait() -> timedelta:
    return timedelta(hours=desk().config.queue_max_wait_hours)


def inert(text: str) -> Markup:
    """Escaped text with links shown as inert spans (never clickable: comment text is untrusted)."""
    out, last = [], 0
    for match in URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup('<span class="link" title="link (not followed)">{}</span>').format(match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


bp.add_app_template_filter(inert, "inert")


def duration(value: timedelta | None) -> str:
    """A waiting time in the page's language ("12 minutes", "3 Stunden"); a dash when there is none."""
    if value is None:
        return "–"
    return format_timedelta(value, threshold=1.5, granularity="minute")


bp.add_app_template_filter(duration, "duration")


def link_spans(text: str) -> list[dict]:
    """Links as spans labelled "link", so the card shows them inert even inside a highlighted match."""
    return [{"start": m.start(), "end": m.end(), "rule": "link", "text": m.group(0)} for m in URL.finditer(text)]


def _filters() -> q.Filters:
    try:
        return q.Filters.parse(request.args)
    except ValueError as exc:
        abort(400, str(exc))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.headers.get("HX-Request") == "true"


@bp.get("/", strict_slashes=False)
@roles("moderator")
def index():  # noqa: ANN201
    filters = _filters()
    page = max(1, request.args.get("page", 1, type=int))
    with desk().db.session() as session:
        if filters.as_of is None:
            filters = replace(filters, as_of=q.newest_id(session))
        rows = q.listing(session, filters, offset=(page - 1) * q.PAGE, max_wait=_max_wait())
        held = claims.holders(session, [r.id for r in rows])
        articles = q.articles(session)
    rules = [r.rule.id for r in desk().pipeline.ruleset.rules]
    labels = [f"{s.name}:{label}" for s in desk().pipeline.scorers for label in s.labels]
    return render_template("queue/index.html", filters=filters, rows=rows, page=page, claims=held,
                           counts=queue_counts(filters.article), arrivals=0, queues=q.QUEUES, orders=q.ORDERS,
                           reasons=_reasons(), rules=rules, labels=labels, articles=articles, page_size=q.PAGE,
                           waiting=queue_waiting(filters.queue, filters.article),
                           max_wait_hours=desk().config.queue_max_wait_hours)


@bp.get("/counts")
@roles("moderator")
def counts():  # noqa: ANN201
    """The queue tabs with live counts and the "N new comments" notice, polled by htmx."""
    filters = _filters()
    with desk().db.session() as session:
        arrivals = q.arrivals(session, filters)
    return render_template("queue/_tabs.html", filters=filters, counts=queue_counts(filters.article),
                           arrivals=arrivals, queues=q.QUEUES, waiting=queue_waiting(filters.queue, filters.article))


def _card_data(session, comment: Comment) -> dict:  # noqa: ANN001
    triage = session.get(TriageResult, comment.triage_id) if comment.triage_id else None
    hits = [h for h in (triage.hits if triage else []) if not h.get("experimental")]
    context = threads.context(session, comment)
    nodes = context.ancestors + context.siblings + context.replies
    thread_ids = [n.id for n in nodes] + [comment.id]
    return {"comment": comment, "article": session.get(Article, comment.article_id), "triage": triage,
            "hits": hits, "pieces": pieces(comment.text, hit_spans(hits) + link_spans(comment.text)),
            "context": context,
            "history": review.author_history(session, comment.author),
            "seen": {n.id: n.version for n in nodes} | {comment.id: comment.version}, "claims": claims.holders(session, thread_ids),
            "decisions": review_history(session, comment.id)}


def review_history(session, comment_id: int) -> list:  # noqa: ANN001
    from moderation.store.decisions import history  # noqa: PLC0415

    return history(session, comment_id)[-5:]


@bp.get("/comments/<int:comment_id>")
@roles("moderator")
def card(comment_id: int):  # noqa: ANN201
    """One comment with its evidence, its author's history and its thread; a fragment for the queue's pane."""
    with desk().db.session() as session:
        comment = session.get(Comment, comment_id)
        if comment is None:
            abort(404)
        data = _card_data(session, comment)
    template = "queue/_card.html" if request.args.get("fragment") else "queue/card.html"
    return render_template(template, reasons=_reasons(), undo_seconds=_undo_seconds(), **data)


def _undo_seconds() -> int:
    return int(current_app.config.get("QUEUE_UNDO_SECONDS", review.UNDO_SECONDS))


def _answer(code: int, **payload: object):  # noqa: ANN202
    """JSON for the queue's script; a flash and a redirect for a plain form post."""
    if _wants_json():
        return jsonify(payload), code
    flash(str(payload.get("message") or payload.get("error")), "error" if code >= 400 else "ok")
    return redirect(_safe_next(request.form.get("back")) or url_for("queue.index"))


@bp.post("/comments/<int:comment_id>/decide")
@roles("moderator")
def decide(comment_id: int):  # noqa: ANN201
    action = request.form.get("action", "")
    reason = (request.form.get("reason") or None) if action == "reject" else None
    seen = request.form.get("seen", type=int)
    if action not in ("approve", "reject") or seen is None:
        return _answer(400, error=_("expected action approve or reject, and seen"))
    try:
        with desk().db.session() as session:
            if action == "reject" and request.form.get("with_replies"):
                entries = review.reject_with_replies(session, comment_id, current_user.username, seen=seen,
                                                     reason_code=reason)
            else:
                entries = [review.decide_seen(session, comment_id, action, current_user.username, seen=seen,
                                              reason_code=reason)]
            status = Action(action).status.value
    except AlreadyDecided as exc:
        return _answer(409, error=str(exc), taken=True)
    except DecisionError as exc:
        return _answer(400 if "no comment" not in str(exc) else 404, error=str(exc))
    n = len(entries)
    what = (_("Approved") if action == "approve" else _("Rejected") if n == 1
            else ngettext("Rejected with %(num)d reply", "Rejected with %(num)d replies", n - 1))
    return _answer(200, ok=True, status=status, decisions=[e.id for e in entries], comment_id=comment_id,
                   replies=[e.comment_id for e in entries[1:]], message=what, undo_seconds=_undo_seconds(),
                   counts=_scoped_counts())


@bp.post("/undo")
@roles("moderator")
def undo():  # noqa: ANN201
    try:
        ids = [int(x) for x in request.form.get("decisions", "").split(",") if x.strip()]
    except ValueError:
        return _answer(400, error=_("decisions: expected comma-separated decision ids"))
    if not ids:
        return _answer(400, error=_("nothing to undo"))
    try:
        with desk().db.session() as session:
            entries = review.undo_recent(session, ids, current_user.username, seconds=_undo_seconds())
            restored = {e.comment_id: session.get(Comment, e.comment_id).status for e in entries}
            seen = review.seen_ids(session, list(restored))
    except DecisionError as exc:  # also AlreadyDecided: someone decided again meanwhile
        return _answer(409, error=str(exc))
    return _answer(200, ok=True, message=_("Undone"), restored=restored, seen=seen, counts=_scoped_counts())


def _scoped_counts() -> dict[str, int]:
    """The counts right after a decision, for the scope the page shows (its article, or all)."""
    return queue_counts(request.form.get("article", type=int))


@bp.post("/comments/<int:comment_id>/claim")
@roles("moderator")
def claim(comment_id: int):  # noqa: ANN201
    with desk().db.session() as session:
        if session.get(Comment, comment_id) is None:
            abort(404)
        holder = claims.claim(session, comment_id, current_user.username)
    return jsonify(holder=holder, mine=holder == current_user.username)


@bp.get("/claims")
@roles("moderator")
def claimed():  # noqa: ANN201
    """Who holds the listed comments now (the queue polls this to show other moderators' claims)."""
    ids = [int(x) for x in request.args.get("ids", "").split(",") if x.strip().isdigit()][:500]
    with desk().db.session() as session:
        held = claims.holders(session, ids)
        statuses = dict(session.execute(select(Comment.id, Comment.status).where(Comment.id.in_(ids))).all())
    return jsonify(claims={str(k): v for k, v in held.items() if v != current_user.username},
                   statuses={str(k): v for k, v in statuses.items()})


@bp.get("/bulk")
@roles("moderator")
def bulk():  # noqa: ANN201
    """Moved to the batch view (web/batch.py); old links and the queue's selection form land there."""
    args = request.args.to_dict(flat=False)
    args.pop("action", None)  # the batch view has no default action: the moderator chooses it there
    return redirect(url_for("batch.index", **args))
