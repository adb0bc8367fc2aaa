"""Paging through an Allen RMA query (`/api/v2/data/query.json?criteria=model::X,...`).

The API answers at most 2,000 rows a page in an envelope
`{"success": true, "start_row": S, "num_rows": N, "total_rows": T, "msg": [...]}`. Each page is
saved as it arrives (`.<name>.pages/<start_row>.json`), so an interrupted fetch resumes at the
first missing page; a page that is not such an envelope, says `success: false`, or disagrees
with the total is refused with its URL. When every page is in, the rows are written as one
JSON list (what AllenSDK caches write), and the pages are removed (`fetch_model`); a result too
big for one file keeps its pages as they came, in a folder (`fetch_pages`).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

from warehouse import progress
from warehouse.errors import DataError
from warehouse.fetch.downloads import DEFAULT_RETRY, Retry, fetch_text, is_current, save

PAGE_ROWS = 2000


def query_url(api: str, model: str, *, criteria: str = "", include: str = "", order: str = "id",
              start: int = 0, rows: int = PAGE_ROWS) -> str:
    parts = [f"model::{model}"]
    if criteria:
        parts.append(f"rma::criteria,{criteria}")
    if include:
        parts.append(f"rma::include,{include}")
    parts.append(f"rma::options[num_rows$eq{rows}][start_row$eq{start}][order$eq'{order}']")
    return (f"{api.rstrip('/')}/api/v2/data/query.json?criteria="
            + urllib.parse.quote(",".join(parts), safe=":,[]$'=()"))


def _page(body: bytes, url: str, start: int) -> tuple[list, int]:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise DataError(f"the API answered with something that is not JSON ({error})",
                        file=url, hint="run the command again later (the service may be "
                        "down); the pages fetched so far are kept") from None
    if not isinstance(document, dict) or document.get("success") is not True or \
            not isinstance(document.get("msg"), list):
        message = document.get("msg") if isinstance(document, dict) else None
        raise DataError("the API did not answer with rows (" + (
            f"it says {message!r}" if message else "no success/msg envelope") + ")", file=url,
            hint="run the command again later; if it persists the query may have changed")
    rows = document["msg"]
    total = document.get("total_rows")
    if not isinstance(total, int) or document.get("start_row", start) != start or \
            len(rows) > PAGE_ROWS:
        raise DataError(f"a malformed page (start_row {document.get('start_row')!r}, total_rows "
                        f"{total!r}, {len(rows)} rows)", file=url,
                        hint="run the command again later")
    return rows, total


def _pages(api: str, model: str, pages: Path, *, criteria: str, include: str, order: str,
           retry: Retry, name: Callable[[int], str]) -> Iterator[list]:
    """Each page's rows, fetched (and saved in `pages`) unless already saved there."""
    start, total = 0, None
    with progress.bar(f"{model} rows", None, "rows") as bar:
        while total is None or start < total:
            url = query_url(api, model, criteria=criteria, include=include, order=order,
                            start=start)
            saved = pages / name(start)
            if saved.is_file():
                page, page_total = _page(saved.read_bytes(), url, start)
            else:
                body = fetch_text(url, retry=retry)
                page, page_total = _page(body, url, start)
                save(saved, body, url)
            if total is not None and page_total != total:
                raise DataError(f"the total changed while paging ({total} then {page_total})",
                                file=url, hint="the data changed on the server: run again")
            total = page_total
            if bar.total is None:
                bar.total = total
            if not page and start < total:
                raise DataError(f"an empty page at row {start} of {total}", file=url,
                                hint="run the command again later")
            yield page
            bar.update(len(page))
            start += len(page)


def _page_name(start: int) -> str:
    return f"{start:08d}.json"


def fetch_model(api: str, model: str, target: Path, *, criteria: str = "", include: str = "",
                order: str = "id", retry: Retry = DEFAULT_RETRY) -> Path:
    """Every row of `model` (matching `criteria`) into `target` as a JSON list."""
    first_url = query_url(api, model, criteria=criteria, include=include, order=order)
    if is_current(target, first_url):
        progress.note(f"already here: {target}")
        return target
    pages = target.with_name(f".{target.name}.pages")
    pages.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for page in _pages(api, model, pages, criteria=criteria, include=include, order=order,
                       retry=retry, name=_page_name):
        rows.extend(page)
    progress.note(f"{model}: {len(rows):,} rows ({len(rows) // PAGE_ROWS + 1} page(s))")
    save(target, json.dumps(rows).encode(), first_url)
    shutil.rmtree(pages, ignore_errors=True)
    return target


def fetch_pages(api: str, model: str, folder: Path, *, criteria: str = "", include: str = "",
                order: str = "id", retry: Retry = DEFAULT_RETRY,
                name: Callable[[int], str] = _page_name) -> Path:
    """Every row of `model` (matching `criteria`) as the API's pages, kept in `folder`
    (`name(start_row)` each); a record marks the folder complete."""
    first_url = query_url(api, model, criteria=criteria, include=include, order=order)
    done = folder / ".complete.json"
    if done.is_file():
        if json.loads(done.read_text()).get("url") == first_url:
            return folder
        shutil.rmtree(folder)  # another query's pages: not this one's to resume
    folder.mkdir(parents=True, exist_ok=True)
    rows = sum(len(page) for page in _pages(api, model, folder, criteria=criteria,
                                            include=include, order=order, retry=retry,
                                            name=name))
    done.write_text(json.dumps({"url": first_url, "rows": rows}))
    return folder
