"""Reading Allen API (RMA) results row by row, with typed fields and errors that say where.

A result is JSON, either the RMA envelope `{"success": true, ..., "msg": [rows]}` as the API
returns it, or the bare list of rows AllenSDK's caches save; or CSV with one column per field
(`query.csv`, or a table a user saved). Every value is checked against the type the field must
have, and an error names the file and the row: `msg[12].plane_of_section_id` in JSON, the line
and column in CSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import DataError

TRUE = {"true", "t", "1", "yes"}
FALSE = {"false", "f", "0", "no"}


@dataclass(frozen=True)
class Row:
    """One result row and where it is: `msg[3]` (JSON) or line 4 (CSV)."""

    values: Mapping
    label: str  # the file, as the user named it
    path: str | None = None  # JSON path of the row
    line: int | None = None  # CSV line (the header is line 1)

    def where(self, field: str | None = None) -> dict:
        """Keyword arguments for a DataError pointing at this row (and field)."""
        if self.line is not None:
            return {"file": self.label, "line": self.line, "column": field}
        column = f"{self.path}.{field}" if field else self.path
        return {"file": self.label, "column": column}

    def error(self, message: str, field: str | None = None, *, hint: str) -> DataError:
        return DataError(message, **self.where(field), hint=hint)

    def get(self, field: str):
        value = self.values.get(field)
        return None if value == "" and self.line is not None else value

    def integer(self, field: str, *, required: bool = False, hint: str) -> int | None:
        value = self.get(field)
        if value is None:
            if required:
                raise self.error(f"{field} is missing", field, hint=hint)
            return None
        if isinstance(value, bool):
            raise self.error(f"expected a whole number, found {value!r}", field, hint=hint)
        if isinstance(value, int):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self.error(f"expected a whole number, found {value!r}", field,
                             hint=hint) from None
        if not number.is_integer():
            raise self.error(f"expected a whole number, found {value!r}", field, hint=hint)
        return int(number)

    def number(self, field: str, *, hint: str) -> float | None:
        value = self.get(field)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.error(f"expected a number, found {value!r}", field, hint=hint)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.error(f"expected a number, found {value!r}", field, hint=hint) from None

    def boolean(self, field: str, *, required: bool = False, hint: str) -> bool | None:
        value = self.get(field)
        if value is None:
            if required:
                raise self.error(f"{field} is missing", field, hint=hint)
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise self.error(f"expected true or false, found {value!r}", field, hint=hint)

    def text(self, field: str) -> str | None:
        value = self.get(field)
        return None if value is None else str(value)


def load_json(path: Path, label: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError as error:
        raise DataError("not valid UTF-8 text", file=label,
                        hint="download the file again (brainwh fetch ish)") from error
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg} (character {error.colno})", file=label,
                        line=error.lineno,
                        hint="the file may be truncated: download it again (brainwh fetch ish)"
                        ) from error


def envelope_rows(document, label: str) -> tuple[list, str]:
    """The rows of an RMA result and the JSON path they sit at ('msg' or '$')."""
    if isinstance(document, dict):
        if document.get("success") is False:
            raise DataError(f"the API reported a failed query: {document.get('msg')!r}",
                            file=label, column="$.success",
                            hint="fetch it again (brainwh fetch ish); the query was refused")
        rows = document.get("msg")
        if not isinstance(rows, list):
            raise DataError("expected an RMA result: an object whose 'msg' is a list of rows",
                            file=label, column="$.msg",
                            hint="use the API's query.json result as it was saved")
        return rows, "msg"
    if isinstance(document, list):
        return document, "$"
    raise DataError("expected a JSON object or list", file=label,
                    hint="use the API's query.json result as it was saved")


def rows(path: Path, label: str, *, hint: str) -> Iterator[Row]:
    """Every row of a JSON or CSV result file."""
    if _is_json(path):
        found, base = envelope_rows(load_json(path, label), label)
        for index, item in enumerate(found):
            where = f"{base}[{index}]"
            if not isinstance(item, dict):
                raise DataError(f"expected an object, found {type(item).__name__}", file=label,
                                column=where, hint=hint)
            yield Row(item, label, path=where)
        return
    yield from csv_rows(path, label, hint=hint)


def csv_rows(path: Path, label: str, *, hint: str) -> Iterator[Row]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    raise DataError(f"column {name!r} appears twice in the header", file=label,
                                    line=1, hint="remove the duplicate column")
                seen.add(name)
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise DataError(f"expected {len(header)} fields, found a different number",
                                    file=label, line=reader.line_num,
                                    hint="the file may be truncated: download it again")
                yield Row(row, label, line=reader.line_num)
    except UnicodeDecodeError as error:
        raise DataError("not valid UTF-8 text", file=label,
                        hint="Allen files are UTF-8: re-save the file as UTF-8") from error
    except csv.Error as error:
        raise DataError(f"not valid CSV ({error})", file=label, hint=hint) from error


def _is_json(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")
