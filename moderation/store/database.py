"""Engine and sessions for SQLite (WAL) or PostgreSQL, migrated by Alembic on open."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6D6F6465  # PostgreSQL advisory lock keys: while migrating,
BOOTSTRAP_LOCK = 0x6D6F6466  # while the first rule revision is made,
WRITE_LOCK = 0x6D6F6467  # while deciding or re-judging comments (lock_for_write)


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine with the settings each backend needs for a moderation desk."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # WAL lets the queue read while triage writes; foreign keys are off by default in SQLite.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def serialize(bind: Session | Connection, key: int) -> None:
    """Hold a PostgreSQL advisory lock until the transaction ends: one process at a time past this point
    (SQLite needs none: it has one writer)."""
    if (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name == "postgresql":
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def lock_for_write(session: Session) -> None:
    """Serialise the transactions that decide or re-judge comments, before their first row lock.

    SQLite: its write lock now, before reading what will be written (pysqlite opens the transaction only at the
    first write, so a read-check-write would otherwise race). PostgreSQL: an advisory lock, because such a
    transaction locks several comments and the site's event sequence in an order of its own (a thread's
    rejection parent first, its undo replies first; bulk by id), and two of them would otherwise deadlock."""
    serialize(session, WRITE_LOCK)
    if session.get_bind().dialect.name != "sqlite":
        return
    raw = session.connection().connection.dbapi_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def upsert(session: Session, model: type):  # noqa: ANN201 - the dialect's Insert, with on_conflict_do_*()
    """An INSERT that can say what to do on a conflict (both backends speak ON CONFLICT)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def alembic_config(url: str) -> "AlembicConfig":
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415 - alembic costs a third of a second to import

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$", re.M)
_SIMPLE = re.compile(r"""^(?:None|'([\w-]+)'|"([\w-]+)")$""")


def disk_head() -> str | None:
    """The newest migration as the version files name it, read without importing alembic; None when the
    files do not show one plain chain (a merge, an unusual assignment): then only alembic can tell."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(m.groups() for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")))
        values = [_SIMPLE.match(found.get(key, "")) for key in ("revision", "down_revision")]
        if not all(values):
            return None
        revision, parent = (v.group(1) or v.group(2) for v in values)
        if revision is None or revision in revisions:
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped(engine: Engine) -> str | None:
    """The revision the database says it is at (None: not stamped, or not one row)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table yet: a new database
        return None
    return rows[0] if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    head = disk_head()
    if head is not None and _stamped(engine) == head:
        return  # every process start lands here: alembic costs a third of a second to import
    from alembic import command  # noqa: PLC0415
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Instances and workers starting together would each run the migrations; one at a time, and the
            # ones that waited find the schema done.
            serialize(conn, MIGRATION_LOCK)
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """One database: an engine, a session factory, and the migrations applied."""

    def __init__(self, url: str, *, auto_migrate: bool = True, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        if auto_migrate:
            migrate(self.engine)
        # Every session knows its database, so what happens after a commit (webhook dispatch) uses this one.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"database": self})
        self.dispatch: Callable[[list[int]], None] | None = None  # sends committed webhook deliveries; set at start-up

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls everything back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
