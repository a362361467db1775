"""The research and model pages' figures, computed once per change of the data and stored (never per request)."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

from sqlalchemy.exc import IntegrityError

from moderation.learning import accuracy
from moderation.research.frame import pseudonymize
from moderation.research.report import HEADERS
from moderation.research.results import Results, compute
from moderation.research.sources import load_db
from moderation.store import aggregates as store

if TYPE_CHECKING:
    from moderation.store import Database

log = logging.getLogger(__name__)
ALL = "research:all"
PREFIX = "research:"
RISK_ORDER = "desk:risk-order"
MODELS = "desk:models"
TABLE_CAP = 1000  # rows kept per table: the page shows 25, its CSV this many (the full tables: `moderation analyze`)


def language_key(language: str) -> str:
    return f"{PREFIX}lang:{language}"


def page_data(results: Results) -> dict:
    """What the research page shows, as JSON: figures, tables (capped, with their full length), provenance.

    Tables are stored as column names plus value lists: PostgreSQL's JSONB does not keep the order of keys.
    """
    return {"summary": results.summary, "agreement": results.agreement, "network": results.network,
            "provenance": {k: v if isinstance(v, (dict, list, str, int, float, bool)) or v is None else str(v)
                           for k, v in results.provenance.items()},
            "columns": {name: list(rows[0]) if rows else HEADERS.get(name, "").split()
                        for name, rows in results.tables.items()},
            "tables": {name: [list(r.values()) for r in rows[:TABLE_CAP]] for name, rows in results.tables.items()},
            "rows": {name: len(rows) for name, rows in results.tables.items()}}


def hydrate(data: dict | None) -> dict | None:
    """Stored page data with its tables as lists of dicts again, in their columns' order."""
    if data is None or "columns" not in data:
        return data
    columns = data["columns"]
    tables = {name: [dict(zip(columns.get(name, []), row)) for row in rows] for name, rows in data["tables"].items()}
    return {**data, "tables": tables}


SENTIMENT_CHUNK = 5000
SENTIMENT_CACHE = 200_000  # distinct (text, language) pairs remembered within one refresh


def score_sentiments(db: "Database") -> int:
    """Score and store the sentiment of every comment that has none yet (each distinct text once); returns how many."""
    from moderation.research.sentimentmodel import default  # noqa: PLC0415 - loads lexicons and the classifier

    scorer, after, done, moods = None, 0, 0, {}
    while True:
        with db.session() as session:
            page = store.unscored(session, after, SENTIMENT_CHUNK)
        if not page:
            return done
        scorer = scorer or default()
        keys = [(text or "", lang) for _, text, lang in page]
        if len(moods) > SENTIMENT_CACHE:
            moods.clear()
        new = [k for k in dict.fromkeys(keys) if k not in moods]  # repeated texts (copy-paste, spam): scored once
        moods.update(zip(new, scorer.score([t for t, _ in new], [lang for _, lang in new])))
        versions = scorer.versions
        with db.session() as session:
            store.store_sentiments(session, [{"comment_id": cid, "model": versions.get(lang or "", "")[:200],
                                              "value": None if moods[k] != moods[k] else float(moods[k])}
                                             for (cid, _, lang), k in zip(page, keys)])
        after, done = page[-1][0], done + len(page)


def _research(db: "Database", pseudonym: Callable[[str], str]) -> dict[str, dict]:
    """All comments, then each language that is not the whole corpus."""
    frame = load_db(db)
    pseudonymize(frame, pseudonym)  # researchers study patterns, not people: names never reach the page
    if not len(frame):
        return {}
    out = {ALL: page_data(compute(frame))}  # fills the sentiment column, which the subsets then reuse
    names, idx = frame.codes("language")
    for i, name in enumerate(names):
        mask = idx == i
        if 0 < mask.sum() < len(frame):
            out[language_key(name or "unknown")] = page_data(compute(frame.subset(mask)))
    out[ALL]["languages"] = sorted(name or "unknown" for name in names)
    return out


def _desk(db: "Database") -> dict[str, dict]:
    return {RISK_ORDER: accuracy.risk_order(db),
            MODELS: {"versions": accuracy.versions(db), "heldout": accuracy.heldout_size(db)}}


def refresh(db: "Database", pseudonym: Callable[[str], str], *, force: bool = False) -> dict:
    """Recompute every aggregate when the data changed since the last refresh (or when forced); returns a summary."""
    with db.session() as session:
        stamp = store.fingerprint(session)
        if not force and not any(store.stale(session, key, stamp) for key in (ALL, RISK_ORDER, MODELS)):
            return {"refreshed": False, "fingerprint": stamp}
    started = time.perf_counter()
    score_sentiments(db)
    figures = {**_desk(db), **_research(db, pseudonym)}
    seconds = round(time.perf_counter() - started, 2)
    try:
        with db.session() as session:
            for key, data in figures.items():
                store.put(session, key, data, stamp, seconds)
            store.drop_other(session, PREFIX, set(figures))
    except IntegrityError:  # a refresh running at the same time stored the same figures first
        log.info("aggregates: a concurrent refresh stored them first")
        return {"refreshed": False, "fingerprint": stamp, "seconds": seconds}
    return {"refreshed": True, "fingerprint": stamp, "seconds": seconds, "keys": sorted(figures)}


def read(db: "Database", key: str) -> tuple[dict | None, dict]:
    """One stored aggregate and its state (computed when, how long it took, stale or not): four indexed reads."""
    with db.session() as session:
        row = store.get(session, key)
        if row is None:
            return None, {"stale": True, "computed_at": None}
        stamp = store.fingerprint(session)
        data = hydrate(row.data) if key.startswith(PREFIX) else row.data
        return data, {"stale": row.fingerprint != stamp, "computed_at": row.computed_at,
                      "seconds": row.seconds, "fingerprint": row.fingerprint}
