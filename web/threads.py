"""The public thread view: an article's comments as readers see them."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from moderation.store import threads
from moderation.store.waiting import held_in_article
from web.auth import public
from web.desk import desk
from web.i18n import page_language
from web.queue import queue_waiting

bp = Blueprint("threads", __name__, url_prefix="/threads")


@bp.get("/<article>")
@public
def show(article: str):  # noqa: ANN201
    """Published comments with their replies; removed ones stay as placeholders so replies keep their context."""
    with desk().db.session() as session:
        found = threads.find_article(session, article)
        if found is None or found.placeholder:
            abort(404)
        tree = threads.public_thread(session, found.id)
        title, url, language = found.title or found.external_id, found.url, threads.article_language(session, found)
        # Held comments are shown to nobody here; readers learn only how many await review and how long that
        # usually takes (the pending queue's median over the last day, else the last week).
        held = held_in_article(session, found.id)
    wait = None
    if held:
        median = queue_waiting("pending").median
        wait = median.get("day") or median.get("week")
    page_language(language)  # readers of a German article read the placeholders in German
    return render_template("threads/show.html", title=title, url=url, tree=tree, held=held, wait=wait)
