"""The loader contract: what every source module provides, checked when the registry is built.

A source is one module named after the kind users type (`brainwh ingest KIND`), e.g.
`ingest/ontology.py`. It provides:

    KIND       the user-visible kind: 'ontology', 'cells', 'taxonomy', 'ephys', ...
    DDL        its tables, created empty in every warehouse so that every view binds
    TABLES     role -> the table a file of that role loads (what `brainwh sources` shows)
    ABC_FILES  pattern -> role: the files it claims in an ABC Atlas release layout, written
               `<top>/<dataset>/<name>` without the version folder (fnmatch patterns), e.g.
               `metadata/WMB-10X/cell_metadata.csv`; empty if it reads none
    NAMES      file name pattern -> role (fnmatch, case-insensitive): Allen's own names and
               the names tools give these files. A file that no source recognises by content,
               and that is not known to be something else (`ingest.known`), is still this
               source's when its name matches: its loader then says precisely what is wrong
               with it (a truncated file, a missing column) instead of it being passed over
    identify(probe) -> role | None
               recognise a file by its content (CSV header, JSON keys, magic bytes), under
               any name
    load(con, files, report)
               load the files (all of this source's files of one build) into its tables,
               inside the build's transaction; a bad file raises `DataError`
    derive(con, report)
               rebuild what depends on other sources' tables, after every load (may do
               nothing)

Discovery (`ingest.discovery`) is the one owner of finding files; sources never walk folders.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Protocol, runtime_checkable

import duckdb

from ingest.base import Report, SourceFile
from ingest.probe import Probe


@runtime_checkable
class Source(Protocol):
    KIND: str
    DDL: tuple[str, ...]
    TABLES: Mapping[str, str]
    ABC_FILES: Mapping[str, str]
    NAMES: Mapping[str, str]

    def identify(self, probe: Probe) -> str | None: ...

    def load(self, con: duckdb.DuckDBPyConnection, files: list[SourceFile],
             report: Report) -> None: ...

    def derive(self, con: duckdb.DuckDBPyConnection, report: Report) -> None: ...


_REQUIRED = ("KIND", "DDL", "TABLES", "ABC_FILES", "NAMES", "identify", "load", "derive")


def checked(module: ModuleType) -> Source:
    """`module` as a Source, or a TypeError naming what it lacks (a bug, caught by the tests)."""
    missing = [name for name in _REQUIRED if not hasattr(module, name)]
    if missing:
        raise TypeError(f"source module {module.__name__} lacks {', '.join(missing)} "
                        "(see ingest/contract.py)")
    roles = set(module.TABLES)
    unknown = sorted((set(module.ABC_FILES.values()) | set(module.NAMES.values())) - roles)
    if unknown:
        raise TypeError(f"source module {module.__name__}: roles {unknown} (ABC_FILES, NAMES) "
                        "have no entry in TABLES")
    return module  # type: ignore[return-value]
