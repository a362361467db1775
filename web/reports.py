"""Reader reports from the public thread: a plain form per comment (no account, CSRF token in the session),
throttled per address; and the card's summary of a comment's reports for moderators."""
from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm

from moderation.services import reports
from moderation.store import threads
from moderation.store.models import Comment
from web.auth import public
from web.desk import desk
from web.i18n import page_language

bp = Blueprint("reports", __name__, url_prefix="/threads")


class ReportForm(FlaskForm):
    """The reason and note are read from the form by the service (which names a bad one); the form checks CSRF."""


def reporter_id() -> str:
    """A reader on the public thread is known by a keyed hash of their address: one report per address and
    comment, and no address is stored."""
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    digest = hmac.new(secret, get_remote_address().encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    return f"web:{digest}"


def _limit(state) -> None:
    """Reports per address in the login limiter's storage (Redis when the desk has it), moving window; every
    POST counts, accepted or not, so a flood of malformed reports is stopped too."""
    limiter = state.app.extensions["login_limiter"]
    limiter.limit(lambda: desk().config.report_limit_per_address, key_func=lambda: "report:" + get_remote_address(),
                  methods=["POST"], error_message=lazy_gettext("Too many reports from this address."))(bp)


bp.record_once(_limit)


@bp.errorhandler(RateLimitExceeded)
def _throttled(exc: RateLimitExceeded):
    limit = current_app.extensions["login_limiter"].current_limit
    minutes = math.ceil(max(limit.reset_at - time.time(), 1) / 60) if limit else 1
    message = f"{exc.description} " + ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.",
                                                minutes)
    return render_template("threads/report_done.html", message=message, back=request.referrer), 429


@bp.post("/<article>/report/<int:comment_id>")
@public
def report(article: str, comment_id: int):
    """Record a reader's report of a published comment of this article, then back to the thread."""
    form = ReportForm()
    with desk().db.session() as session:
        found = threads.find_article(session, article)
        comment = session.get(Comment, comment_id)
        if found is None or comment is None or comment.article_id != found.id or comment.status != "approved":
            abort(404)  # readers can report only what they can read
        page_language(threads.article_language(session, found))
        if not form.validate_on_submit():
            abort(400)
    reason = request.form.get("reason", "")
    try:
        with desk().db.session() as session:
            outcome = reports.report(session, comment_id, reporter_id(), reason, note=request.form.get("note"),
                                     origin="public", threshold=desk().config.report_threshold)
    except reports.ReportError:
        flash(_("Please choose a reason (and keep the note under %(num)d characters).", num=reports.MAX_NOTE),
              "error")
        return redirect(url_for("threads.show", article=article, report=comment_id) + f"#c{comment_id}")
    flash(_("Thank you: the moderators will look at this comment.") if outcome.created else
          _("You have reported this comment already."), "ok")
    return redirect(url_for("threads.show", article=article) + f"#c{comment_id}")


@bp.app_context_processor
def _summaries() -> dict:
    def report_summary(comment_id: int) -> reports.Summary | None:
        """A comment's reports for the card (templates/queue/_reports.html)."""
        with desk().db.session() as session:
            return reports.summary(session, comment_id)
    return {"report_summary": report_summary, "report_reasons": lambda: [
        (code, _(label)) for code, label in reports.REASONS.items()]}
