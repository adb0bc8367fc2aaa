"""Downloading one URL into the fetch cache: once, resumably, checked, retried.

A download goes to `.<name>.part` beside its target and resumes from that file's size with a
`Range` request; it is checked against the size and md5 the source gives (a release manifest,
`Content-Length`), then renamed into place with a `.<name>.source.json` record of where it came
from. A present file whose record matches is not fetched again; a present file without one is
treated as unfinished. Server errors (5xx), dropped connections and timeouts are retried with
back-off; a missing file (404) and a refused one (401/403) are errors at once. Without a
network, the error says so and what to run later.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from warehouse import progress
from warehouse.errors import DataError, UsageError

CHUNK = 1 << 20
USER_AGENT = "brainwh-fetch"


@dataclass(frozen=True)
class Retry:
    """How often and how patiently to retry a failing request."""

    attempts: int = 5
    first_wait: float = 1.0
    factor: float = 2.0
    timeout: float = 60.0

    def waits(self) -> list[float]:
        return [self.first_wait * self.factor ** i for i in range(self.attempts - 1)]


DEFAULT_RETRY = Retry()


class _Transient(Exception):
    """A failure worth retrying (a 5xx, a dropped connection, a timeout)."""


def _record(target: Path) -> Path:
    return target.with_name(f".{target.name}.source.json")


def _part(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def is_current(target: Path, url: str, *, size: int | None = None,
               md5: str | None = None) -> bool:
    record = _record(target)
    if not target.is_file() or not record.is_file():
        return False
    try:
        seen = json.loads(record.read_text())
    except ValueError:
        return False
    if seen.get("url") != url or seen.get("size") != target.stat().st_size:
        return False
    return (size is None or seen.get("size") == size) and (
        md5 is None or seen.get("md5") == md5.lower())


def offline_hint(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return (f"check the network connection to {host} (a proxy may need HTTPS_PROXY), then run "
            "the same command again: finished files are kept and partial ones resume")


def with_retries(url: str, retry: Retry, attempt: Callable[[], object]):
    """Run `attempt` until it succeeds, retrying transient failures with back-off."""
    waits = retry.waits()
    while True:
        try:
            return attempt()
        except _Transient as error:
            if not waits:
                raise DataError(f"gave up after {retry.attempts} attempts: {error}", file=url,
                                hint=offline_hint(url)) from None
            wait = waits.pop(0)
            progress.note(f"retrying {url} in {wait:.0f} s ({error})")
            time.sleep(wait)


def open_url(url: str, *, retry: Retry, start: int = 0):
    """An open HTTP response (from byte `start`), or a classified error."""
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=retry.timeout)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _Transient(f"HTTP {error.code}") from None
        if error.code == 404:
            raise UsageError(f"nothing at {url} (HTTP 404)",
                             hint="check the URL, the release or the id") from None
        if error.code in (401, 403):
            raise UsageError(f"access denied to {url} (HTTP {error.code})",
                             hint="the server refuses this file: check the URL") from None
        if error.code == 416:  # the part file is already whole
            raise _Whole() from None
        raise DataError(f"HTTP {error.code} {error.reason}", file=url,
                        hint="run the command again later") from None
    except urllib.error.URLError as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError | ConnectionError) or "timed out" in str(reason):
            raise _Transient(str(reason)) from None
        raise UsageError(f"cannot reach {url} ({reason})", hint=offline_hint(url)) from None
    except (TimeoutError, ConnectionError, HTTPException) as error:
        raise _Transient(str(error) or type(error).__name__) from None


class _Whole(Exception):
    pass


def fetch_text(url: str, *, retry: Retry = DEFAULT_RETRY) -> bytes:
    """A small document (a manifest, a listing, an API page), retried."""

    def attempt() -> bytes:
        try:
            with open_url(url, retry=retry) as response:
                return response.read()
        except (TimeoutError, ConnectionError, HTTPException) as error:
            raise _Transient(str(error) or type(error).__name__) from None

    return with_retries(url, retry, attempt)


def download(url: str, target: Path, *, size: int | None = None, md5: str | None = None,
             retry: Retry = DEFAULT_RETRY) -> Path:
    """`target`, downloaded from `url` unless already there and checked."""
    if is_current(target, url, size=size, md5=md5):
        progress.note(f"already here: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = _part(target)

    def attempt() -> int:
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            part.unlink()
            offset = 0
        try:
            response = open_url(url, retry=retry, start=offset)
        except _Whole:
            return offset
        with response:
            if offset and response.status != 206:  # the server ignored the range
                part.unlink(missing_ok=True)
                offset = 0
            length = response.headers.get("Content-Length")
            expected = size if size is not None else (
                offset + int(length) if length is not None else None)
            verb = "resuming" if offset else "downloading"
            progress.note(f"{verb} {url}" + (f" from byte {offset:,}" if offset else "")
                          + (f" ({expected / 1e6:,.1f} MB)" if expected else ""))
            try:
                with open(part, "ab") as sink, progress.bar(target.name, expected, "B") as bar:
                    bar.update(offset)
                    while chunk := response.read(CHUNK):
                        sink.write(chunk)
                        bar.update(len(chunk))
                    sink.flush()
                    os.fsync(sink.fileno())
            except (TimeoutError, ConnectionError, HTTPException, OSError) as error:
                if isinstance(error, OSError) and error.errno == 28:
                    raise
                raise _Transient(f"connection dropped at byte {part.stat().st_size:,}: "
                                 f"{error or type(error).__name__}") from None
            got = part.stat().st_size
            if expected is not None and got < expected:
                raise _Transient(f"connection dropped at byte {got:,} of {expected:,}")
            return got

    with_retries(url, retry, attempt)
    digest = _md5(part)
    got = part.stat().st_size
    if (size is not None and got != size) or (md5 and digest != md5.lower()):
        part.unlink()
        what = (f"md5 {digest} does not match the expected {md5}" if md5 and digest != md5.lower()
                else f"{got:,} bytes, expected {size:,}")
        raise DataError(what, file=url, hint="the download was corrupted or the file changed: "
                        "it was deleted; run the command again")
    os.replace(part, target)
    _record(target).write_text(json.dumps({"url": url, "size": got, "md5": digest}))
    return target


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save(target: Path, body: bytes, url: str) -> Path:
    """Write a document fetched whole (an API page) with its record, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = _part(target)
    part.write_bytes(body)
    os.replace(part, target)
    _record(target).write_text(json.dumps({"url": url, "size": len(body),
                                           "md5": hashlib.md5(body).hexdigest()}))
    return target
