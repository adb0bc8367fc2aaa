"""Appending numpy rows as DuckDB list columns, cheaply.

Measured here (README, "Allen Human Brain Atlas"): DuckDB spends ~25-40 ns per appended list
element, and its compression of these arrays costs more CPU than the space it saves, so the
large array tables are written uncompressed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import numpy as np
import pyarrow as pa


def lists(rows: np.ndarray) -> pa.ListArray:
    """A 2-D array as a list column, one list per row (no copy)."""
    rows = np.ascontiguousarray(rows)
    width = rows.shape[1]
    offsets = np.arange(0, rows.size + 1, width, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(rows.ravel()))


def append(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, object]) -> None:
    batch = pa.table(columns)
    con.register("_ahba_batch", batch)
    try:
        con.execute(f"insert into {table} by name select * from _ahba_batch")
    finally:
        con.unregister("_ahba_batch")


@contextmanager
def uncompressed(con: duckdb.DuckDBPyConnection, memory_limit: str = "1GB") -> Iterator[None]:
    """Write (and checkpoint) the block's appends without compression, within `memory_limit`
    (written blocks need not stay cached; wide rows need more: a DuckDB chunk is 2,048 rows)."""
    con.execute("set force_compression = 'uncompressed'")
    con.execute(f"set memory_limit = '{memory_limit}'")
    try:
        yield
        con.execute("checkpoint")
    finally:
        con.execute("reset force_compression")
        con.execute("reset memory_limit")
