"""Many rows into one table as multi-row INSERTs through the driver, values converted by the columns' own types.

SQLAlchemy's bulk INSERT builds and converts a parameter dict per row; an import spends most of its time there.
Here each column's bind processor (the one SQLAlchemy itself would apply) runs over a column of values, and one
statement carries up to ROWS rows. What reaches the database is what SQLAlchemy would have sent.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Row, Table
from sqlalchemy.orm import Session

MAX_PARAMETERS = 32_000  # SQLite allows 32,766 per statement (since 3.32), PostgreSQL 65,535
ROWS = 1000  # rows per statement at most, as SQLAlchemy's own multi-row INSERTs (insertmanyvalues) page them
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                returning: Sequence[str] = ()) -> list[Row]:
    """INSERT `rows` (dicts with the same keys) in order; the `returning` columns of each new row, in no set order.

    Columns missing from the rows take their scalar defaults; a column with a callable default must be given.
    """
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    names = tuple(rows[0])
    defaults = _defaults(table, names)
    columns = names + tuple(defaults)
    procs = _processors(dialect, table, columns)
    values: list[list[Any]] = []
    for name, proc in zip(names, procs):
        column = [row[name] for row in rows]
        values.append([proc(v) for v in column] if proc is not None else column)
    for name, proc in zip(defaults, procs[len(names):]):
        value = proc(defaults[name]) if proc is not None else defaults[name]
        values.append([value] * len(rows))
    per = max(1, min(ROWS, MAX_PARAMETERS // len(columns)))
    out: list[Row] = []
    for start in range(0, len(rows), per):
        part = [col[start:start + per] for col in values]
        count = len(part[0])
        flat = [v for row in zip(*part) for v in row]
        sql = _statement(dialect, table.name, columns, tuple(returning), count)
        result = connection.exec_driver_sql(sql, tuple(flat))
        if returning:
            out += result.all()  # one fetchall: iterating fetches row by row
    return out


def _defaults(table: Table, given: tuple[str, ...]) -> dict[str, Any]:
    """Scalar Python-side defaults of the columns the rows leave out (SQLAlchemy would send them too)."""
    out = {}
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name} has a computed default; give it in every row")
        out[column.name] = column.default.arg
    return out


def _processors(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> list[Callable | None]:
    # The processor SQLAlchemy caches per dialect and applies to a bound parameter of the column's type
    # (TypeDecorators and dialect variants included).
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


@lru_cache(maxsize=64)
def _statement(dialect: Dialect, table: str, columns: tuple[str, ...], returning: tuple[str, ...], rows: int) -> str:
    quote = dialect.identifier_preparer.quote
    mark = _PLACEHOLDER.get(dialect.paramstyle)
    if mark is None:
        raise ValueError(f"no multi-row INSERT for the driver's parameter style {dialect.paramstyle!r}")
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES {', '.join([one] * rows)}"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return sql
