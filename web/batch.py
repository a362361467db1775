"""The batch view: a histogram of a queue by risk or a label, a dragged range, the rows it takes, apply, undo."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from moderation.services import batch as core
from moderation.services.review import BULK_LIMIT, UNDO_SECONDS
from moderation.store import Article, Comment, batches
from moderation.store import queue as q
from moderation.store.decisions import DecisionError
from web.auth import roles
from web.desk import desk
from web.i18n import reasons as _reasons
from web.i18n import word

bp = Blueprint("batch", __name__, url_prefix="/batch")
EXCERPT = 220  # characters of each comment in the list; the card has the rest


def _undo_seconds() -> int:
    return int(current_app.config.get("QUEUE_UNDO_SECONDS", UNDO_SECONDS))


def _request() -> tuple[q.Filters, str, core.Range, set[int] | None]:
    """Slice, measure, range and optional id restriction from the query string or the form; 400 naming the field."""
    values = request.values
    try:
        filters = q.Filters.parse(values)
        rng = core.Range.parse(values.get("lo"), values.get("hi"))
        measure = values.get("measure") or batches.RISK
        batches.measure_column(measure)
    except ValueError as exc:
        abort(400, str(exc))
    ids = [int(x) for x in values.getlist("ids") if str(x).isdigit()]
    return filters, measure, rng, (set(ids) if ids else None)


def _measures() -> list[tuple[str, str]]:
    labels = [f"{s.name}:{label}" for s in desk().pipeline.scorers for label in s.labels]
    return [(batches.RISK, word(batches.RISK))] + [(label, label) for label in labels]


def _rows(session, selected: list[batches.Value]) -> list[dict]:  # noqa: ANN001
    """The selected comments as the list shows them, in the histogram's order (highest value first)."""
    ids = [v.id for v in selected]
    found: dict[int, object] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in session.execute(select(Comment.id, Comment.author, Comment.text, Comment.created_at,
                                          Comment.language, Article.title).join(Article, Article.id ==
                                          Comment.article_id).where(Comment.id.in_(chunk))):
            found[row.id] = row
    ordered = sorted(selected, key=lambda v: (-(v.value or 0.0), v.id))
    return [{"id": v.id, "seen": v.version, "value": v.value, "author": found[v.id].author,
             "text": found[v.id].text[:EXCERPT] + ("…" if len(found[v.id].text) > EXCERPT else ""),
             "title": found[v.id].title, "language": found[v.id].language}
            for v in ordered if v.id in found]


@bp.get("/", strict_slashes=False)
@roles("moderator")
def index():  # noqa: ANN201
    """The histogram and the selection; with fragment=1 only the selection (the script swaps it in)."""
    filters, measure, rng, among = _request()
    with desk().db.session() as session:
        if filters.as_of is None:  # a snapshot: later arrivals do not join the histogram under the pointer
            filters = replace(filters, as_of=q.newest_id(session))
        view = core.view(session, filters, measure, rng, among)
        rows = _rows(session, view.selected[:BULK_LIMIT])
    context = {"filters": filters, "measure": measure, "rng": rng, "among": sorted(among or ()), "view": view,
               "rows": rows, "reasons": _reasons(), "limit": BULK_LIMIT, "edges": core.edges(rng.bins),
               "queues": q.QUEUES, "measures": _measures()}
    if request.args.get("fragment"):
        return render_template("batch/_selection.html", **context)
    return render_template("batch/index.html", **context)


@bp.post("/apply")
@roles("moderator")
def apply():  # noqa: ANN201
    """Decide the rows left included, on the versions the list showed; then the result with its undo."""
    filters, measure, rng, among = _request()
    try:
        chosen = {int(i): int(v) for i, v in (pair.split(":") for pair in request.form.getlist("include"))}
    except ValueError:
        abort(400, "include: expected id:version pairs")
    action = request.form.get("action", "")
    try:
        with desk().db.session() as session:
            out = core.apply(session, filters, measure, rng, chosen, action, current_user.username,
                             reason_code=request.form.get("reason") or None, among=among)
    except DecisionError as exc:
        flash(_("Nothing was decided: %(error)s", error=str(exc)), "error")
        return redirect(url_for("batch.index", **filters.args(), measure=measure, lo=rng.low, hi=rng.high,
                                ids=sorted(among or ())), 303)
    return redirect(url_for("batch.done", batch_id=out.batch_id), 303)


def _message(action: str, done: int, skipped: int) -> str:
    message = {"approve": ngettext("Approved %(num)d comment", "Approved %(num)d comments", done),
               "reject": ngettext("Rejected %(num)d comment", "Rejected %(num)d comments", done),
               "hold": ngettext("Held %(num)d comment", "Held %(num)d comments", done)}[action]
    if skipped:
        message += "; " + ngettext("%(num)d skipped (decided by someone else meanwhile)",
                                   "%(num)d skipped (decided by someone else meanwhile)", skipped)
    return message + "."


@bp.get("/<int:batch_id>")
@roles("moderator")
def done(batch_id: int):  # noqa: ANN201
    """What a batch did, what it skipped and why, and its undo while the window is open."""
    with desk().db.session() as session:
        stored = batches.get(session, batch_id)
        if stored is None:
            abort(404)
        session.expunge(stored)
    return render_template("batch/done.html", batch=stored, message=_message(stored.action, len(stored.decision_ids),
                                                                             len(stored.skipped)),
                           undo_seconds=_undo_seconds(), mine=stored.actor == current_user.username)


@bp.post("/<int:batch_id>/undo")
@roles("moderator")
def undo(batch_id: int):  # noqa: ANN201
    """Undo the whole batch; comments decided since by anyone are left alone and listed."""
    try:
        with desk().db.session() as session:
            out = core.undo(session, batch_id, current_user.username, seconds=_undo_seconds())
    except DecisionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("batch.done", batch_id=batch_id), 303)
    message = ngettext("Undone: %(num)d comment restored", "Undone: %(num)d comments restored", len(out.restored))
    if out.skipped:
        message += "; " + ngettext("%(num)d left as it is (changed since)", "%(num)d left as they are (changed since)",
                                   len(out.skipped))
    flash(message + ".", "ok")
    return redirect(url_for("batch.done", batch_id=batch_id), 303)
