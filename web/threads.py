"""The public thread view: an article's comments as readers see them."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from moderation.store import threads
from web.auth import public
from web.desk import desk
from web.i18n import page_language

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
    page_language(language)  # readers of a German article read the placeholders in German
    return render_template("threads/show.html", title=title, url=url, tree=tree)
