"""`MicroarrayExpression.csv` and `PACall.csv`: parsed with polars, checked, located on error.

No header; column 0 is the probe id, column j the sample on row j of SampleAnnot.csv. Checks:
the field count matches SampleAnnot, the probe ids are those of Probes.csv, every value is a
finite number (PACall: 0 or 1). polars does the parsing (its CSV reader is the fastest here);
when it rejects a file, DuckDB's reader re-reads it to name the line and column.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from ingest.ahba.donors import FILES, Donor
from ingest.ahba.metadata import ProbeSet
from ingest.ahba.schema import CODE_LIMIT
from ingest.base import SourceFile
from warehouse.errors import DataError

KINDS = {"expression": (pl.Float64, "DOUBLE", "a number"),
         "pacall": (pl.Int8, "TINYINT", "0 or 1")}


@dataclass
class Matrix:
    """One parsed matrix: probe rows in ProbeSet order, one numpy column per sample."""

    role: str
    origin: str
    size: int
    md5: str
    columns: list[np.ndarray]


class _Md5(threading.Thread):
    """md5 of a file, computed beside the parse (hashlib releases the GIL)."""

    def __init__(self, path) -> None:
        super().__init__(daemon=True)
        self.path, self.digest = path, ""

    def run(self) -> None:
        digest = hashlib.md5()
        buffer = bytearray(4 << 20)  # reused: fresh 16 MB reads cost page faults, not hashing
        view = memoryview(buffer)
        with open(self.path, "rb", buffering=0) as handle:
            while size := handle.readinto(buffer):
                digest.update(view[:size])
        self.digest = digest.hexdigest()


def _first_line_fields(source: SourceFile) -> int:
    with open(source.path, "rb") as handle:
        line = handle.readline()
    if not line.strip():
        raise DataError("the file is empty", file=source.origin, line=1,
                        hint="download the donor's files again")
    return line.count(b",") + 1


def _column_name(j: int, wells: np.ndarray) -> str:
    if j == 0:
        return "0 (probe_id)"
    well = f", well_id {wells[j - 1]}" if j - 1 < len(wells) else ""
    return f"{j} (SampleAnnot.csv row {j}{well})"


def parse(donor: Donor, source: SourceFile, role: str, probes: ProbeSet,
          wells: np.ndarray) -> Matrix:
    """Parse and check one matrix; its rows come back in `probes` order."""
    name = FILES[role]
    n = len(wells)
    fields = _first_line_fields(source)
    if fields != n + 1:
        raise DataError(f"{donor.label}: {fields} fields, expected {n + 1} (the probe id and "
                        f"one value per SampleAnnot.csv row)", file=source.origin, line=1,
                        hint=f"{name} and SampleAnnot.csv must come from the same download")
    md5 = _Md5(source.path)
    md5.start()
    fixed = _fixed_width_flags(source, n) if role == "pacall" else None
    if fixed is not None:
        ids, by_sample = fixed
        order = _probe_order(donor, source, ids, probes, wells)
        columns = [by_sample[j] if order is None else by_sample[j][order] for j in range(n)]
        md5.join()
        return Matrix(role, source.origin, source.path.stat().st_size, md5.digest, columns)
    polars_type, _duck_type, _words = KINDS[role]
    schema = {"column_0": pl.Int64, **{f"column_{j}": polars_type for j in range(1, n + 1)}}
    try:
        frame = pl.read_csv(source.path, has_header=False, schema=schema)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        md5.join()
        raise locate(donor, source, role, wells, str(error)) from error
    order = _probe_order(donor, source, frame.get_column("column_0").to_numpy(), probes, wells)
    columns = []
    for j in range(1, n + 1):  # column by column, so the frame shrinks as the arrays grow
        values = frame.drop_in_place(f"column_{j}").to_numpy()
        if order is not None:
            values = values[order]
        bad = _bad_rows(values, role)
        if bad is not None:
            raise _bad_value(donor, source, role, int(bad if order is None else order[bad]), j,
                             wells)
        columns.append(values)
    del frame
    md5.join()
    return Matrix(role, source.origin, source.path.stat().st_size, md5.digest, columns)


def _fixed_width_flags(source: SourceFile, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """PACall.csv when every line is `<probe id>,d,d,...,d` with ids of one width (as Allen
    writes it): read as a byte matrix, no parsing. (probe ids, flags samples x probes), or None
    (then polars reads the file and says what is wrong with it)."""
    data = np.fromfile(source.path, dtype=np.uint8)
    newline = np.flatnonzero(data[: 1 << 16] == ord("\n"))
    if not len(newline):
        return None
    width = int(newline[0]) + 1
    id_width = width - 1 - 2 * n
    if id_width < 1 or len(data) % width:
        return None
    lines = data.reshape(-1, width)
    ids_part = lines[:, :id_width]
    if not ((lines[:, -1] == ord("\n")).all() and (lines[:, id_width:-1:2] == ord(",")).all()
            and ((ids_part >= ord("0")) & (ids_part <= ord("9"))).all()):
        return None
    flags = lines[:, id_width + 1:-1:2]
    if not ((flags == ord("0")) | (flags == ord("1"))).all():
        return None
    ids = np.zeros(len(lines), dtype=np.int64)
    for k in range(id_width):
        ids = ids * 10 + (ids_part[:, k] - ord("0"))
    return ids, np.ascontiguousarray(flags.T) - np.uint8(ord("0"))


def _bad_rows(values: np.ndarray, role: str) -> int | None:
    if role == "pacall":
        ok = (values == 0) | (values == 1)
    else:
        with np.errstate(invalid="ignore"):
            ok = np.abs(values) < CODE_LIMIT
    if ok.all():
        return None
    return int(np.flatnonzero(~ok)[0])


def _probe_order(donor: Donor, source: SourceFile, ids: np.ndarray, probes: ProbeSet,
                 wells: np.ndarray) -> np.ndarray | None:
    """None when the rows are in Probes.csv order, else the row of each probe."""
    if len(ids) == len(probes.probe_id) and np.array_equal(ids, probes.probe_id):
        return None
    position = {int(p): k for k, p in enumerate(ids)}
    known = set(probes.probe_id.tolist())
    for k, probe in enumerate(ids.tolist()):
        if probe not in known:
            raise DataError(f"{donor.label}: probe_id {probe} is not in Probes.csv",
                            file=source.origin, line=k + 1, column=_column_name(0, wells),
                            hint="the matrix and Probes.csv must come from the same download")
    if len(position) != len(ids):
        seen: set[int] = set()
        for k, probe in enumerate(ids.tolist()):
            if probe in seen:
                raise DataError(f"{donor.label}: probe_id {probe} appears twice",
                                file=source.origin, line=k + 1,
                                column=_column_name(0, wells),
                                hint="download the donor's files again")
            seen.add(probe)
    missing = [int(p) for p in probes.probe_id if int(p) not in position]
    if missing:
        raise DataError(f"{donor.label}: {len(missing)} probe(s) of Probes.csv have no row, "
                        f"e.g. probe_id {missing[0]}; the file ends at line {len(ids)}",
                        file=source.origin, line=len(ids), column=_column_name(0, wells),
                        hint="the file is truncated: download it again")
    return np.array([position[int(p)] for p in probes.probe_id])


def _raw_line(source: SourceFile, line: int) -> list[str]:
    with open(source.path, encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if number == line:
                return text.rstrip("\r\n").split(",")
    return []


def _bad_value(donor: Donor, source: SourceFile, role: str, row: int, j: int,
               wells: np.ndarray) -> DataError:
    fields = _raw_line(source, row + 1)
    expected = len(wells) + 1
    if len(fields) != expected:
        return DataError(f"{donor.label}: {len(fields)} fields, expected {expected}",
                         file=source.origin, line=row + 1,
                         hint="the file is damaged or truncated: download it again")
    value = fields[j]
    words = KINDS[role][2]
    problem = "an empty value" if value.strip() == "" else repr(value)
    if role == "expression" and value.strip() and _is_number(value):
        words = f"a log2 expression value (|value| < {CODE_LIMIT})"
    return DataError(f"{donor.label}: expected {words}, found {problem}", file=source.origin,
                     line=row + 1, column=_column_name(j, wells),
                     hint=f"fix that value of {FILES[role]}, or download the file again")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_LINE = re.compile(r"Line: (\d+)")
_COLUMN = re.compile(r'column "(\d+|probe_id)"')
_VALUE = re.compile(r'Could not convert string "(.*?)"')
_EXPECTED = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def locate(donor: Donor, source: SourceFile, role: str, wells: np.ndarray,
           polars_message: str) -> DataError:
    """polars rejected the file: re-read it with DuckDB to name the line and column."""
    _polars_type, duck_type, words = KINDS[role]
    columns = ", ".join(["'probe_id': 'BIGINT'"]
                        + [f"'{j}': '{duck_type}'" for j in range(1, len(wells) + 1)])
    path = str(source.path).replace("'", "''")
    con = duckdb.connect()
    try:
        con.execute(f"create temp table probe as select * from read_csv('{path}', "
                    f"header = false, delim = ',', quote = '\"', strict_mode = true, "
                    f"null_padding = false, nullstr = '', auto_detect = false, "
                    f"columns = {{{columns}}})")
    except duckdb.Error as error:
        text = str(error)
        line = int(m.group(1)) if (m := _LINE.search(text)) else None
        if expected := _EXPECTED.search(text):
            return DataError(f"{donor.label}: {expected.group(2)} fields, expected "
                             f"{expected.group(1)}", file=source.origin, line=line,
                             hint="the file is damaged or truncated: download it again")
        column = m.group(1) if (m := _COLUMN.search(text)) else None
        j = 0 if column in (None, "probe_id") else int(column)
        value = m.group(1) if (m := _VALUE.search(text)) else None
        what = "a whole number (probe_id)" if j == 0 else words
        return DataError(f"{donor.label}: expected {what}, found {value!r}",
                         file=source.origin, line=line,
                         column=_column_name(j, wells) if column else None,
                         hint=f"fix that value of {FILES[role]}, or download the file again")
    finally:
        con.close()
    return DataError(f"{donor.label}: not a readable matrix ({polars_message.splitlines()[0]})",
                     file=source.origin, hint="download the donor's files again")
