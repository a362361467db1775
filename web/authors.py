"""The author drawer: an author's comments, rates, notes and identities, and the actions on them, with undo."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from moderation.domain.messages import N_
from moderation.services import authors
from moderation.store.authors import AuthorAction
from moderation.store.decisions import DecisionError
from moderation.store.models import Comment, utcnow
from web.auth import roles
from web.desk import desk
from web.i18n import reasons as _reasons
from web.i18n import word

bp = Blueprint("authors", __name__, url_prefix="/authors")

# The actions the drawer offers, in its order; "clear" only when the author is in a state.
ACTIONS = {"ban": N_("Ban"), "suspend": N_("Suspend"), "premoderate": N_("Always pre-moderate"),
           "trust": N_("Trust"), "reject-pending": N_("Reject all pending"), "note": N_("Add a note"),
           "clear": N_("Back to normal"), "undo": N_("Undo")}
STATES = {"normal": N_("normal"), "banned": N_("banned"), "suspended": N_("suspended"),
          "premoderated": N_("always pre-moderated"), "trusted": N_("trusted")}
SUSPEND_HOURS = (1, 24, 72, 168, 720)  # the choices of the suspend form: an hour to thirty days
NEEDS_REASON = ("ban", "suspend", "premoderate", "trust", "reject-pending", "clear")  # a note is its own reason


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _view(profile: authors.Profile) -> dict:
    """The profile with its times as datetimes, for the locale's date format."""
    data = profile.to_dict()
    data["first_seen"], data["last_seen"] = _when(data["first_seen"]), _when(data["last_seen"])
    data["until"] = _when(data["until"])
    for row in data["comments"]:
        row["created_at"] = _when(row["created_at"])
    for entry in data["actions"] + data["notes"]:
        entry["at"], entry["until"] = _when(entry["at"]), _when(entry["until"])
    data["actions"].reverse()  # newest first: the one to undo is on top
    return data


def _fragment() -> bool:
    return bool(request.values.get("fragment"))


def _render(source: str, author: str, status: int = 200, message: str = "", kind: str = "ok",
            rejected: list[int] = (), restored: list[int] = ()):
    """The drawer (a fragment for authors.js, a page without it) with the outcome of an action on top; the
    comments it rejected or an undo restored, with their status now, so the queue's rows follow at once."""
    with desk().db.session() as session:
        profile = authors.profile(session, source, author)
        back = session.execute(select(Comment.id, Comment.status).where(Comment.id.in_(restored))).all() \
            if restored else []
    if not _fragment():
        if message:
            flash(message, "error" if kind == "error" else "ok")
            return redirect(url_for("authors.show", source=source, name=author))
        template = "authors/page.html"
    else:
        template = "authors/_drawer.html"
    return render_template(template, p=_view(profile), message=message, kind=kind, rejected=list(rejected),
                           restored=[[cid, st, word(st)] for cid, st in back],
                           actions=ACTIONS, states=STATES, hours=SUSPEND_HOURS, reasons=_reasons()), status


@bp.get("/comments/<int:comment_id>")
@roles("moderator")
def for_comment(comment_id: int):
    """The drawer of a comment's author: what the card's and the list row's button open."""
    with desk().db.session() as session:
        comment = session.get(Comment, comment_id)
        if comment is None:
            abort(404)
        source, author = comment.source, comment.author
    if not author:
        return render_template("authors/_anonymous.html" if _fragment() else "authors/page.html", p=None), 404
    return _render(source, author)


@bp.get("/", strict_slashes=False)
@roles("moderator")
def show():
    """The drawer of an author by site and name (where an action's answer leads)."""
    source, name = request.args.get("source", ""), request.args.get("name", "")
    if not source or not name:
        abort(400, "source and name are required")
    return _render(source, name)


def _until() -> datetime | None:
    hours = request.form.get("hours", type=int)
    if request.form.get("action") != "suspend":
        return None
    if hours not in SUSPEND_HOURS:
        raise authors.AuthorError(_("Choose how long the suspension lasts."))
    return utcnow() + timedelta(hours=hours)


@bp.post("/act")
@roles("moderator")
def act():
    """One action on an author, logged with the moderator and the reason; a rejecting one only with the
    pending count the moderator saw in the preview (else 409 and the new count, nothing written)."""
    source, author = request.form.get("source", ""), request.form.get("author", "")
    action, reason = request.form.get("action", ""), request.form.get("reason", "").strip()
    if not source or not author or action not in ACTIONS or action == "undo":
        abort(400, "source, author and a known action are required")
    if action in NEEDS_REASON and not reason:
        return _render(source, author, 400, _("Say why: the reason goes into the log."), "error")
    rejecting = action == "reject-pending" or (action == "ban" and bool(request.form.get("reject_pending")))
    expect = request.form.get("confirm_count", type=int)
    if rejecting and expect is None:
        return _render(source, author, 400, _("Confirm the number of pending comments."), "error")
    try:
        with desk().db.session() as session:
            result = authors.act(session, source, author, action, current_user.username, reason=reason,
                                 until=_until(), seen=request.form.get("seen", type=int), reject_pending=rejecting,
                                 reason_code=request.form.get("reason_code") or "other",
                                 expect_pending=expect if rejecting else None)
    except authors.PreviewChanged as exc:
        message = _("The author has %(now)s pending comments now, not %(expected)s: check and confirm again.",
                    now=exc.now, expected=exc.expected)
        return _render(source, author, 409, message, "error")
    except authors.AuthorChanged as exc:
        return _render(source, author, 409, str(exc), "error")
    except (authors.AuthorError, DecisionError) as exc:
        return _render(source, author, 400, str(exc), "error")
    message = _("%(action)s: done.", action=_(ACTIONS[action]))
    if rejecting:
        message += " " + ngettext("%(num)d comment rejected.", "%(num)d comments rejected.", len(result.rejected))
    return _render(source, author, 201, message, rejected=result.rejected)


@bp.post("/undo")
@roles("moderator")
def undo():
    """Undo an action from the drawer's log: its state and the comments it rejected come back."""
    action_id = request.form.get("action_id", type=int)
    with desk().db.session() as session:
        entry = session.get(AuthorAction, action_id) if action_id else None
        if entry is None:
            abort(404)
        source, author = entry.source, entry.author
    try:
        with desk().db.session() as session:
            result = authors.undo(session, action_id, current_user.username,
                                  reason=request.form.get("reason", "").strip())
    except authors.AuthorChanged as exc:
        return _render(source, author, 409, str(exc), "error")
    except (authors.AuthorError, DecisionError) as exc:
        return _render(source, author, 400, str(exc), "error")
    message = _("Undone.")
    if result.rejected:
        message += " " + ngettext("%(num)d comment is pending again.", "%(num)d comments are pending again.",
                                  len(result.rejected))
    if result.skipped:
        message += " " + ngettext("%(num)d was decided again since and left alone.",
                                  "%(num)d were decided again since and left alone.", len(result.skipped))
    return _render(source, author, 201, message, restored=result.rejected)
