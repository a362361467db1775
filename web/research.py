"""The research page: the workers' stored figures (by language), interactive charts, the per-comment download."""
from __future__ import annotations

import io
import threading
import time
from datetime import date, datetime, time as clock, timezone

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import format_decimal, gettext as _
from sqlalchemy import func, select

from moderation.research import MissingExtra, aggregates
from moderation.research.commenttable import DICTIONARY, TEXT_MODES, csv_chunks, dictionary_csv, rows
from moderation.research.frame import pseudonymize
from moderation.research.pseudonyms import for_config
from moderation.research.report import CARDS, HEADERS, ROW_LIMIT, SECTIONS, write_table
from moderation.research.results import compute
from moderation.research.sources import load_db
from moderation.worker import tasks
from web import charts
from web.auth import roles
from web.desk import desk

bp = Blueprint("research", __name__, url_prefix="/research")
FILTER_LIMIT = 50_000  # comments an article or period filter may select: computed on request, so bounded
CACHE_SECONDS = 60.0
_filtered: dict[tuple, tuple[float, dict | None]] = {}
_lock = threading.Lock()


@bp.errorhandler(MissingExtra)
def _missing_extra(error: MissingExtra):  # noqa: ANN202
    """A web node installed without [research]: say what to install instead of failing with a traceback."""
    return render_template("errors/extra.html", message=str(error)), 503


def fmt(value: object) -> str:
    """Numbers in the page's locale ("1.234,5" in German), at most three decimals; a dash for none."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return format_decimal(value, format="#,##0.###")
    return str(value)


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name} must be a date like 2026-10-28")


def _chosen() -> dict:
    start, end = _day("from"), _day("to")
    return {"from": start.isoformat() if start else "", "to": end.isoformat() if end else "",
            "article": request.args.get("article", "").strip(), "language": request.args.get("language", "").strip()}


def _where(chosen: dict) -> list:
    """SQL conditions for the article and period filters (the language comes from the stored figures)."""
    from moderation.store import Article, Comment  # noqa: PLC0415

    where = []
    if chosen["from"]:
        where.append(Comment.created_at >= datetime.combine(date.fromisoformat(chosen["from"]), clock.min,
                                                            timezone.utc))
    if chosen["to"]:
        where.append(Comment.created_at <= datetime.combine(date.fromisoformat(chosen["to"]), clock.max,
                                                            timezone.utc))
    if chosen["article"]:
        where.append(Comment.article_id.in_(select(Article.id).where(Article.external_id == chosen["article"])))
    if chosen["language"]:
        where.append(Comment.language.is_(None) if chosen["language"] == "unknown"
                     else Comment.language == chosen["language"])
    return where


def _narrowed(chosen: dict) -> tuple[dict | None, str | None]:
    """Figures for an article or period: computed on request from the matching rows only, at most FILTER_LIMIT."""
    from moderation.store import Comment  # noqa: PLC0415

    where = _where(chosen)
    key = (desk().config.effective_database_url, tuple(sorted(chosen.items())))
    with _lock:
        hit = _filtered.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1], None
    with desk().db.session() as session:
        count = session.scalar(select(func.count()).select_from(Comment).where(*where))
    if count > FILTER_LIMIT:
        return None, _("%(num)s comments match: narrow the period or choose an article (at most %(limit)s), or use "
                       "the per-comment download.", num=format_decimal(count), limit=format_decimal(FILTER_LIMIT))
    data = None
    if count:
        frame = load_db(desk().db, where)
        pseudonymize(frame, for_config(desk().config))
        data = aggregates.hydrate(aggregates.page_data(compute(frame)))
    with _lock:
        if len(_filtered) > 32:
            _filtered.clear()
        _filtered[key] = (time.monotonic(), data)
    return data, None


def _stored(chosen: dict) -> tuple[dict | None, dict, list[str]]:
    """The workers' figures for all comments or one language; a stale or missing set asks for a refresh."""
    whole, state = aggregates.read(desk().db, aggregates.ALL)
    languages = (whole or {}).get("languages", [])
    data = whole
    if chosen["language"] and whole is not None:
        data = whole if languages == [chosen["language"]] else \
            aggregates.read(desk().db, aggregates.language_key(chosen["language"]))[0]
    if state["stale"]:
        state["refresh"] = tasks.request_refresh()
    return data, state, languages


@bp.get("/")
@roles("researcher", "admin")
def index():  # noqa: ANN201
    chosen = _chosen()
    data, state, languages = _stored(chosen)
    problem = None
    if chosen["article"] or chosen["from"] or chosen["to"]:
        data, problem = _narrowed(chosen)
    return render_template("research/index.html", data=data, state=state, chosen=chosen, languages=languages,
                           problem=problem, charts=charts, cards=CARDS, sections=SECTIONS, limit=ROW_LIMIT, fmt=fmt,
                           dictionary=DICTIONARY, text_modes=TEXT_MODES, query=request.query_string.decode())


def _data() -> dict | None:
    chosen = _chosen()
    if chosen["article"] or chosen["from"] or chosen["to"]:
        return _narrowed(chosen)[0]
    return _stored(chosen)[0]


@bp.get("/tables/<name>.csv")
@roles("researcher", "admin")
def table(name: str):  # noqa: ANN201
    if name not in HEADERS:
        abort(404)
    data = _data()
    buffer = io.StringIO()
    write_table(data["tables"].get(name, []) if data else [], name, buffer)
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/comments.csv")
@roles("researcher", "admin")
def comments():  # noqa: ANN201
    """Every comment, streamed: text as chosen, pseudonymous authors, scores, versions, decisions, waiting time."""
    mode = request.args.get("text", "pseudonymised")
    if mode not in TEXT_MODES:
        abort(400, f"text must be one of {', '.join(TEXT_MODES)}")
    records = rows(desk().db, for_config(desk().config), text=mode)
    return Response(stream_with_context(csv_chunks(records)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="comments-{mode}.csv"'})


@bp.get("/dictionary.csv")
@roles("researcher", "admin")
def dictionary():  # noqa: ANN201
    return Response(dictionary_csv(_), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="comments-dictionary.csv"'})
