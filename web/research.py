"""The research page: the report's charts and tables over the stored comments, filtered by period, article, language."""
from __future__ import annotations

import io
import threading
import time
from datetime import date, datetime, time as clock, timezone

import numpy as np
from flask import Blueprint, Response, abort, render_template, request

from moderation.research import MissingExtra
from moderation.research.frame import Frame, pseudonymize
from moderation.research.pseudonyms import for_config
from moderation.research.report import HEADERS, context, write_table
from moderation.research.results import Results, compute
from moderation.research.sources import load_db
from web.auth import roles
from web.desk import desk

bp = Blueprint("research", __name__, url_prefix="/research")
CACHE_SECONDS = 60.0  # the stored comments are read again at most once a minute
_cache: dict[str, tuple[float, Frame]] = {}
_results_cache: dict[tuple, tuple[float, Results | None]] = {}
_lock = threading.Lock()


@bp.errorhandler(MissingExtra)
def _missing_extra(error: MissingExtra):  # noqa: ANN202
    """A web node installed without [research]: say what to install instead of failing with a traceback."""
    return render_template("errors/extra.html", message=str(error)), 503


def _frame() -> Frame:
    """All stored comments as a frame with pseudonymous authors, cached briefly per database."""
    url = desk().config.effective_database_url
    with _lock:
        hit = _cache.get(url)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            frame = load_db(desk().db)
            # Researchers study patterns, not people: names never reach the page or its downloads.
            pseudonymize(frame, for_config(desk().config))
            hit = _cache[url] = (time.monotonic(), frame)
        return hit[1]


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name} must be a date like 2026-10-28")


def _filters(frame: Frame) -> tuple[np.ndarray, dict]:
    """The rows the query string selects: from/to (inclusive days, UTC), article, language."""
    start, end = _day("from"), _day("to")
    article, language = request.args.get("article", ""), request.args.get("language", "")
    mask = np.ones(len(frame), dtype=bool)
    created = frame["created"]
    with np.errstate(invalid="ignore"):
        if start:
            mask &= created >= datetime.combine(start, clock.min, timezone.utc).timestamp()
        if end:
            mask &= created <= datetime.combine(end, clock.max, timezone.utc).timestamp()
    if article:
        mask &= frame["article"] == article
    if language:
        mask &= frame["language"] == ("" if language == "unknown" else language)
    chosen = {"from": start.isoformat() if start else "", "to": end.isoformat() if end else "", "article": article,
              "language": language}
    return mask, chosen


def _results() -> tuple[Results | None, dict, Frame]:
    """The analysis of the selected rows; the same selection within the cache time is not computed again."""
    frame = _frame()
    mask, chosen = _filters(frame)
    key = (desk().config.effective_database_url, id(frame), tuple(sorted(chosen.items())))
    hit = _results_cache.get(key)
    if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
        if len(_results_cache) > 32:
            _results_cache.clear()
        hit = _results_cache[key] = (time.monotonic(), compute(frame.subset(mask)) if mask.any() else None)
    return hit[1], chosen, frame


@bp.get("/")
@roles("researcher", "admin")
def index():  # noqa: ANN201
    results, chosen, frame = _results()
    articles = sorted(set(frame["article"].tolist()))
    languages = sorted({lang or "unknown" for lang in frame["language"].tolist()})
    described = ", ".join(f"{k} {v}" for k, v in chosen.items() if v)
    page = context(results, "Research", described) if results else None
    return render_template("research/index.html", page=page, chosen=chosen, articles=articles,
                           languages=languages, query=request.query_string.decode())


@bp.get("/tables/<name>.csv")
@roles("researcher", "admin")
def table(name: str):  # noqa: ANN201
    results, _, _ = _results()
    if name not in HEADERS:
        abort(404)
    rows = results.tables[name] if results else []
    buffer = io.StringIO()
    write_table(rows, name, buffer)
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
