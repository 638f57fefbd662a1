"""What one statement costs before any of the engine's own work: the same one-row INSERT on
SQLite through SQLAlchemy Core (a statement built once, as the engine's hot path runs them),
through ``Connection.exec_driver_sql`` (SQL text, no compilation or type processing), and
through the ``sqlite3`` cursor the baselines use.

    .venv/bin/python -m bench.statement_floor [rows]

docs/performance.md uses it to say how much of a seat change is the statement layer's cost,
which no change to the engine's logic can remove.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

_ROWS = 20_000


def _per_row_us(rows: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(rows):
        run()
    return (time.perf_counter() - started) / rows * 1e6


def measure(rows: int = _ROWS) -> dict[str, float]:
    """Microseconds per INSERT of each way, all in one transaction on a fresh file."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'floor.db'}")
        metadata = MetaData()
        table = Table(
            "t", metadata, Column("id", Integer, primary_key=True), Column("a", String),
            Column("b", String),
        )  # fmt: skip
        metadata.create_all(engine)
        statement = insert(table)
        sql = "INSERT INTO t (a, b) VALUES (?, ?)"
        with engine.connect() as conn:
            conn.begin()
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            out = {
                "core": _per_row_us(rows, lambda: conn.execute(statement, {"a": "x", "b": "y"})),
                "exec_driver_sql": _per_row_us(rows, lambda: conn.exec_driver_sql(sql, ("x", "y"))),
                "sqlite3": _per_row_us(rows, lambda: cursor.execute(sql, ("x", "y"))),
            }
            conn.commit()
        engine.dispose()
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else _ROWS
    for way, micros in measure(rows).items():
        print(f"{way:>16}: {micros:6.1f} us per INSERT")


if __name__ == "__main__":
    main()
