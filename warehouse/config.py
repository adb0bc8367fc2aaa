"""Where things are: the database path and the shipped SQL files."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "brainwh.duckdb"
DB_ENV = "BRAINWH_DB"


def database_path(option: str | os.PathLike[str] | None = None) -> Path:
    """`--db`, else `$BRAINWH_DB`, else `./brainwh.duckdb`."""
    chosen = option or os.environ.get(DB_ENV) or DEFAULT_DB
    return Path(chosen).expanduser()


def sql_dir() -> Path:
    """The `sql/` folder: beside the packages in a checkout, inside `warehouse/` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "sql", here / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("brainwh's sql/ folder is missing from this installation")
