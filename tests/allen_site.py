"""A local stand-in for the Allen web services, serving the real URL shapes from a folder.

Run as `python tests/allen_site.py SITE_DIR PORT` (the tests start it on 127.0.0.1 with a free
port and stop it by PID; see `allen_site()` in tests/serving.py). SITE_DIR holds:

    abc/...                          the ABC bucket: releases/<R>/manifest.json and the files
    api/structure_graph_download/<g>.json
    api/well_known_file_download/<id>        a download, with <id>.name its file name
    api/models/<Model>.json          the rows of an RMA model (a JSON list), served in pages
    grid/<id>.zip                    3-D expression grids (grid_data/download/<id>)
    informatics-archive/...          Allen's download server (atlas volumes)
    faults.json                      optional, re-read on every request (see `_fault`)

URLs, as Allen serves them:

    /abc/releases/20250531/manifest.json, /abc/metadata/...   (Range requests honoured)
    /abc/?list-type=2&prefix=releases/&delimiter=/            S3 ListObjectsV2 XML
    /api/v2/structure_graph_download/1.json
    /api/v2/well_known_file_download/178238387                 Content-Disposition file name
    /api/v2/data/query.json?criteria=model::X,...,rma::options[num_rows$eqN][start_row$eqM]
    /grid_data/download/<id>?include=energy
    /informatics-archive/current-release/mouse_annotation/P56_Mouse_gridAnnotation.zip

RMA criteria filter the rows: `[field$eqV]` and `[field$inV1,V2]` on the row's own fields, and
`assoc[field$eq...]` on a nested object or list (`genes[acronym$in'Pvalb']`) or on the row's
`<assoc>_id` (`section_data_set[id$in1,2]`); filters on associations the rows do not carry
(`products[id$eq1]`, `structure[graph_id$eq1]`) are ignored.

faults.json maps a path prefix to a fault, each used `times` times (default 1), counted in
faults-used.json: {"status": 500} answers with that status; {"cut": N} sends the headers and
N bytes of the body, then closes the connection; {"body": "..."} answers 200 with that body.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

_LOCK = threading.Lock()
_OPTIONS = re.compile(r"\[(\w+)\$eq'?([^\]']*)'?\]")


class Site(BaseHTTPRequestHandler):
    root: Path

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        parsed = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parsed.query)
        fault = self._fault(parsed.path + ("?" + parsed.query if parsed.query else ""))
        if fault is not None and "status" in fault:
            return self._send(fault["status"], b"fault injected", "text/plain")
        if fault is not None and "body" in fault:
            return self._send(200, fault["body"].encode(), "application/json")
        body, kind, name = self._resolve(parsed.path, query)
        if body is None:
            return self._send(404, b"not found", "text/plain")
        self._send_body(body, kind, name, cut=(fault or {}).get("cut"))

    def _resolve(self, path: str, query: dict) -> tuple[bytes | None, str, str | None]:
        root = self.root
        if path.startswith("/abc/") and query.get("list-type") == ["2"]:
            return self._listing(query), "application/xml", None
        if path.startswith("/abc/"):
            file = root / "abc" / path.removeprefix("/abc/")
            return (file.read_bytes() if file.is_file() else None), "binary/octet-stream", None
        if match := re.fullmatch(r"/api/v2/structure_graph_download/(\d+)\.json", path):
            file = root / "api" / "structure_graph_download" / f"{match.group(1)}.json"
            return (file.read_bytes() if file.is_file() else None), "application/json", None
        if match := re.fullmatch(r"/api/v2/well_known_file_download/(\d+)", path):
            file = root / "api" / "well_known_file_download" / match.group(1)
            if not file.is_file():
                return None, "", None
            name = file.with_name(file.name + ".name").read_text().strip()
            return file.read_bytes(), "application/zip", name
        if path == "/api/v2/data/query.json":
            return self._rma(query.get("criteria", query.get("q", [""]))[0]), \
                "application/json", None
        if path.startswith("/informatics-archive/"):
            file = root / path.lstrip("/")
            return (file.read_bytes() if file.is_file() else None), "application/zip", \
                file.name
        if match := re.fullmatch(r"/grid_data/download/(\d+)", path):
            file = root / "grid" / f"{match.group(1)}.zip"
            return (file.read_bytes() if file.is_file() else None), "application/zip", \
                f"{match.group(1)}.zip"
        return None, "", None

    def _listing(self, query: dict) -> bytes:
        prefix = query.get("prefix", [""])[0]
        base = self.root / "abc"
        names = sorted({p.relative_to(base).as_posix().removeprefix(prefix).split("/")[0]
                        for p in base.glob(prefix + "*/*") if p.is_file()} if prefix else [])
        common = "".join(f"<CommonPrefixes><Prefix>{escape(prefix + n)}/</Prefix>"
                         "</CommonPrefixes>" for n in names)
        return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                f'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>allen-brain-cell-atlas'
                f'</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(names)}</KeyCount>'
                f'<IsTruncated>false</IsTruncated>{common}</ListBucketResult>').encode()

    def _rma(self, criteria: str) -> bytes | None:
        match = re.match(r"model::(\w+)", criteria)
        if not match:
            return json.dumps({"success": False, "msg": "bad criteria"}).encode()
        file = self.root / "api" / "models" / f"{match.group(1)}.json"
        if not file.is_file():
            return json.dumps({"success": False, "id": -1,
                               "msg": f"Data Access error: no model {match.group(1)}"}).encode()
        terms = _terms(criteria)
        rows = [row for row in _rows(file) if _matches(row, terms)]
        options = dict(_OPTIONS.findall(criteria.split("rma::options", 1)[-1])) \
            if "rma::options" in criteria else {}
        start = int(options.get("start_row", 0))
        size = options.get("num_rows", "50")
        count = len(rows) if size == "all" else min(int(size), 2000)
        page = rows[start:start + count]
        return json.dumps({"success": True, "id": 0, "start_row": start, "num_rows": len(page),
                           "total_rows": len(rows), "msg": page}).encode()

    def _fault(self, target: str) -> dict | None:
        faults_file = self.root / "faults.json"
        if not faults_file.is_file():
            return None
        with _LOCK:
            faults = json.loads(faults_file.read_text())
            used_file = self.root / "faults-used.json"
            used = json.loads(used_file.read_text()) if used_file.is_file() else {}
            for prefix, fault in faults.items():
                if target.startswith(prefix) and used.get(prefix, 0) < fault.get("times", 1):
                    used[prefix] = used.get(prefix, 0) + 1
                    used_file.write_text(json.dumps(used))
                    return fault
        return None

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_body(self, body: bytes, kind: str, name: str | None, cut: int | None) -> None:
        start, status = 0, 200
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if ranged and int(ranged.group(1)) < len(body):
            start, status = int(ranged.group(1)), 206
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body) - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        if name:
            self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        payload = body[start:]
        if cut is not None:
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)


_TERM = re.compile(r"(\w*)\[(\w+)\$(eq|in)([^\]]*)\]")
_MODELS: dict[Path, tuple[float, list]] = {}


def _rows(file: Path) -> list:
    """A model's rows, parsed once per version of its file."""
    stamp = file.stat().st_mtime
    with _LOCK:
        cached = _MODELS.get(file)
        if cached is None or cached[0] != stamp:
            cached = _MODELS[file] = (stamp, json.loads(file.read_text()))
    return cached[1]


def _terms(criteria: str) -> list[tuple[str, str, set[str]]]:
    """The query's rma::criteria filters: (association or '', field, wanted values)."""
    if "rma::criteria," not in criteria:
        return []
    stage = criteria.split("rma::criteria,", 1)[1].split(",rma::", 1)[0]
    return [(assoc, field, {v.strip().strip("'") for v in (text.split(",") if op == "in"
                                                          else [text])})
            for assoc, field, op, text in _TERM.findall(stage)]


def _matches(row: dict, terms: list[tuple[str, str, set[str]]]) -> bool:
    """Whether a row passes the filters (see the module's docstring)."""
    for assoc, field, wanted in terms:
        if not assoc:
            values = [row.get(field)]
        elif isinstance(row.get(assoc), list | dict):
            items = row[assoc] if isinstance(row[assoc], list) else [row[assoc]]
            values = [item.get(field) for item in items if isinstance(item, dict)]
        elif field == "id" and f"{assoc}_id" in row:
            values = [row[f"{assoc}_id"]]
        else:
            continue  # an association the rows do not carry
        if not {str(v).lower() if isinstance(v, bool) else str(v) for v in values} & wanted:
            return False
    return True


def main(site: str, port: str) -> None:
    Site.root = Path(site)
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Site)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
