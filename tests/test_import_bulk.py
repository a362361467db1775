"""The fast import path against what it replaced: the same batches give the same rows on SQLite and PostgreSQL.

Oracles: SQLAlchemy's ORM bulk INSERT (the writes as they were before store/bulk.py), the generic TypeDecorator
chain for dates, RowReader's general per-field check and the old duplicate-key hook for the parser's fast paths.
"""
from __future__ import annotations

import copy
import threading
import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from moderation.domain.comments import ArticleRecord, CommentRecord, ImportBatch, Kind
from moderation.importers import ImportFormatError, jsonl, rows
from moderation.store import Article, Comment, Decision, bulk, loading
from moderation.store.loading import ImportConflict, load_batch

T_IMPORT = datetime(2026, 12, 3, 17, 0, 0, 123456, tzinfo=timezone.utc)
MODELS = {Article.__table__: Article, Comment.__table__: Comment, Decision.__table__: Decision}
TABLES = ("articles", "comments", "decisions")


def orm_insert_rows(session, table, rows, returning=()):
    """The writes as they were: SQLAlchemy's ORM bulk INSERT (… RETURNING), 2,000 rows a statement."""
    model = MODELS[table]
    out = []
    for start in range(0, len(rows), 2000):
        part = rows[start:start + 2000]
        if returning:
            out += session.execute(insert(model).returning(*(getattr(model, c) for c in returning)), part).all()
        else:
            session.execute(insert(model), part)
    return out


def _reset_ids(session) -> None:
    # PostgreSQL sequences ignore rollbacks; SQLite numbers from the highest row, gone with the rollback.
    if session.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))


def _run(db, batches: list[ImportBatch], writer) -> tuple:
    """Load the batches in one transaction with `writer` as insert_rows: reports (or the error), then every row
    of the three tables as the database holds them; rolled back."""
    original = loading.insert_rows
    loading.insert_rows = writer
    try:
        with db.sessions() as session:
            _reset_ids(session)
            outcome = []
            try:
                for batch in copy.deepcopy(batches):
                    outcome.append(load_batch(session, batch).to_dict())
            except ImportConflict as exc:
                outcome.append(str(exc))
            dump = {t: session.execute(text(f"SELECT * FROM {t} ORDER BY id")).all() for t in TABLES}
            session.rollback()
    finally:
        loading.insert_rows = original
    return outcome, {t: [tuple(r) for r in rs] for t, rs in dump.items()}


IDS = [f"c{i}" for i in range(10)]
OFFSETS = st.sampled_from([timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
DATES = st.none() | st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                                  timezones=st.none() | OFFSETS)
SHORT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
META = st.dictionaries(SHORT, st.none() | st.integers(-10**6, 10**6) | SHORT | st.lists(st.integers(0, 9), max_size=2),
                       max_size=3)


@st.composite
def comment(draw) -> CommentRecord:
    ext = draw(st.sampled_from(IDS))
    return CommentRecord(
        ext, draw(st.sampled_from(["a1", "a2", "a3"])), draw(SHORT),
        parent_id=draw(st.none() | st.sampled_from([*IDS, "gone"]).filter(lambda p: p != ext)),
        author=draw(st.none() | st.sampled_from(["anna", "bob"])), created_at=draw(DATES),
        article_title=draw(st.none() | st.just("Titel")), article_url=draw(st.none() | st.just("https://x.example/a")),
        decision=draw(st.none() | st.sampled_from(["approved", "rejected"])), kind=draw(st.sampled_from(list(Kind))),
        source_status=draw(st.none() | st.sampled_from(["approved", "pending", "spam", "trash"])),
        language=draw(st.none() | st.sampled_from(["de", "en"])), meta=draw(META), location=f"f.jsonl:{ext}")


@st.composite
def import_batch(draw) -> ImportBatch:
    b = ImportBatch(draw(st.sampled_from(["s1", "s2"])), "f.jsonl")
    b.comments = draw(st.lists(comment(), max_size=10, unique_by=lambda c: c.external_id))
    for ext in draw(st.lists(st.sampled_from(["a1", "a2", "a4"]), unique=True, max_size=2)):
        b.articles[ext] = ArticleRecord(ext, draw(st.none() | st.just("Artikel")), None, draw(DATES),
                                        draw(st.none() | st.just("de")))
    return b


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(loading, "utcnow", lambda: T_IMPORT)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(import_batch(), min_size=1, max_size=3), per=st.sampled_from([1, 2, 1000]))
def test_load_batch_writes_what_the_orm_bulk_insert_wrote(db, frozen, monkeypatch, batches, per):
    """Threads in any order, orphans adopted by later batches, placeholders filled in, re-imports skipped,
    historic decisions, cycles refused: the same reports and the same stored rows, statement size 1 to 1,000."""
    monkeypatch.setattr(bulk, "ROWS", per)
    fast, oracle = _run(db, batches, bulk.insert_rows), _run(db, batches, orm_insert_rows)
    assert fast == oracle


def test_a_large_import_writes_the_same_rows(db, frozen):
    """Past one statement's rows (1,000) and the old 2,000-row chunks: 2,600 comments, a third replies, decisions."""
    b = ImportBatch("big", "big.jsonl")
    for i in range(2600):
        b.comments.append(CommentRecord(
            f"c{i}", f"a{i // 200}", f"Kommentar {i} ✓", parent_id=f"c{i - 1}" if i % 3 == 2 else None,
            author=f"u{i % 7}", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i),
            decision=("approved", "rejected", None)[i % 3], source_status="spam" if i % 50 == 0 else None,
            meta={"n": i} if i % 10 == 0 else {}, location=f"big.jsonl:{i + 1}"))
    late = ImportBatch("big", "late.jsonl", comments=[CommentRecord("c2600", "a0", "spät", parent_id="c100")])
    fast, oracle = _run(db, [b, late], bulk.insert_rows), _run(db, [b, late], orm_insert_rows)
    assert fast == oracle
    assert fast[0][0]["comments"] == 2600 and len(fast[1]["comments"]) == 2601 and len(fast[1]["decisions"]) > 1700


def test_a_column_with_a_computed_default_must_be_given(db):
    with db.sessions() as session, pytest.raises(ValueError, match="computed default"):
        bulk.insert_rows(session, Comment.__table__, [{"source": "s", "external_id": "x"}])


@settings(max_examples=300, deadline=None)
@given(value=st.none() | st.datetimes(timezones=st.none() | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))))
    | st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
                       datetime(2026, 1, 1, tzinfo=timezone.utc)]))
def test_sqlite_date_conversion_is_the_generic_one(value):
    dialect = sqlite.dialect()
    column = Comment.__table__.c.created_at.type
    fast = column._cached_bind_processor(dialect)
    generic = TypeDecorator.bind_processor(column._dialect_info(dialect)["impl"], dialect)
    try:
        expected = generic(value)
    except OverflowError:  # a date at the calendar's edge with an offset: both refuse it
        with pytest.raises(OverflowError):
            fast(value)
        return
    assert fast(value) == expected


def test_other_databases_keep_the_generic_date_conversion():
    dialect = postgresql.dialect()
    column = Comment.__table__.c.created_at.type
    processor = column._cached_bind_processor(dialect)
    assert processor is None or processor.__qualname__.startswith("TypeDecorator.")


VALUES = (st.none() | st.sampled_from(["", " ", "\t\n", "\u2003", "ok", "x" * 8, "x" * 9, "y" * 201, "a\ud800",
                                       "approved", "rejected", "pingback", "2026-01-01T10:00:00+02:00"])
          | st.text(max_size=6) | st.integers(-3, 3) | st.booleans() | st.floats(allow_nan=False)
          | st.lists(st.integers(0, 3), max_size=2) | st.dictionaries(st.sampled_from(["k", "\udfff"]), st.integers(0, 3),
                                                                         max_size=1))
ROW = st.dictionaries(st.sampled_from([*rows.KNOWN, "rating"]), VALUES, max_size=9).map(
    lambda r: {"id": "1", "article_id": "a", "text": "t", **r})


def _read(row: dict) -> object:
    reader = rows.RowReader("f.jsonl", None)
    try:
        reader.add(row, 7)
    except ImportFormatError as exc:
        return str(exc)
    return [(asdict(r), line, src) for r, line, src in reader.rows]


@settings(max_examples=500, deadline=None)
@given(row=ROW)
def test_row_fast_path_reads_what_the_general_check_reads(row):
    fast = _read(row)
    saved = rows._FIELD_LIMIT
    rows._FIELD_LIMIT = {}  # every value through RowReader._value
    try:
        general = _read(row)
    finally:
        rows._FIELD_LIMIT = saved
    assert fast == general


def _old_unique_keys(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "id"]), st.integers(0, 3) | st.none()), max_size=6))
def test_duplicate_keys_found_as_before(pairs):
    line = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"
    outcomes = []
    for hook in (jsonl._unique_keys, _old_unique_keys):
        try:
            outcomes.append(json.loads(line, object_pairs_hook=hook))
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    try:
        assert jsonl.load_object(line, "f.jsonl", 1) == outcomes[1]
    except ImportFormatError as exc:
        assert str(exc) == f"f.jsonl:1: invalid JSON: {outcomes[1]}"


def _in_time(fn, seconds: float = 60):  # noqa: ANN001, ANN202 - a hang must fail the test, not stall the suite
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


def _stored(db) -> list[tuple]:  # noqa: ANN001
    with db.sessions() as session:
        return [tuple(r) for r in session.execute(text(
            "SELECT external_id, parent_id, parent_external_id, depth, orphan FROM comments ORDER BY id"))]


def test_a_reply_chain_looping_across_files_is_refused_not_walked_forever(db):
    """File one: c1 answers c2, which is missing; c0 answers c1. File two: c2 answers c0. Adopting c1 would close
    the loop c1 → c2 → c0 → c1; the import is refused with the line, and nothing of file two is stored."""
    one = ImportBatch("s", "one.jsonl", comments=[CommentRecord("c1", "a", "x", parent_id="c2", location="one.jsonl:1"),
                                                  CommentRecord("c0", "a", "y", parent_id="c1", location="one.jsonl:2")])
    two = ImportBatch("s", "two.jsonl", comments=[CommentRecord("ok", "b", "fine", location="two.jsonl:1"),
                                                  CommentRecord("c2", "a", "z", parent_id="c0", location="two.jsonl:2")])
    with db.session() as session:
        load_batch(session, one)
    before = _stored(db)

    def second() -> None:
        with db.session() as session:
            load_batch(session, two)

    with pytest.raises(ImportConflict, match=r"two\.jsonl:2: reply chain loops back on itself at 'c2'"):
        _in_time(second)
    assert _stored(db) == before


def test_the_live_path_refuses_a_reply_that_would_close_a_loop(db):
    """The API's one-statement insert adopts waiting orphans too: the same loop is refused there."""
    with db.session() as session:
        load_batch(session, ImportBatch("s", "one.jsonl", comments=[
            CommentRecord("a0", "a", "root", article_title="Artikel", location="one.jsonl:1"),
            CommentRecord("c1", "a", "x", parent_id="c2", location="one.jsonl:2")]))
    before = _stored(db)
    record = CommentRecord("c2", "a", "z", parent_id="c1", location="api")

    def submit() -> None:
        with db.session() as session:
            found = loading.look_up(session, record, "s")
            assert found.waiting and found.parent_id is not None and not found.placeholder
            loading.insert_one(session, record, "s", found)

    with pytest.raises(ImportConflict, match="api: reply chain loops back on itself at 'c2'"):
        _in_time(submit)
    assert _stored(db) == before
