"""Downloading one URL into the fetch cache: once, resumably, checked, retried.

A download goes to `.<name>.part` beside its target and resumes from that file's size with a
`Range` request; it is checked against the size and md5 the source gives (a release manifest,
`Content-Length`), then renamed into place with a `.<name>.source.json` record of where it came
from (part file, record and check: `warehouse.checked_download`). A present file whose record
matches is not fetched again; a present file without one is treated as unfinished. Server
errors (5xx), dropped connections and timeouts are retried with back-off; a missing file (404)
and a refused one (401/403) are errors at once. Without a network, the error says so and what
to run later.
"""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from warehouse import checked_download, progress
from warehouse.errors import DataError, UsageError

CHUNK = 1 << 20
USER_AGENT = "brainwh-fetch"
# `.<name>.part` and `.<name>.source.json` {url, size, md5}: the names fetch caches hold
LAYOUT = checked_download.Layout(prefix=".", origin_key="url")


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


def is_current(target: Path, url: str, *, size: int | None = None,
               md5: str | None = None) -> bool:
    seen = LAYOUT.recorded(target, url)
    if seen is None:
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
    part = LAYOUT.part(target)

    def attempt() -> int:
        offset = checked_download.resume_offset(part, size)
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
                checked_download.append(response.read, part, label=target.name,
                                        total=expected, offset=offset, chunk=CHUNK)
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
    digest = checked_download.md5_of(part).hexdigest()
    wrong = checked_download.discard_if_wrong(part, digest, size=size, md5=md5)
    if wrong is not None:
        what = (f"md5 {digest} does not match the expected {md5}" if wrong.wrong_md5
                else f"{wrong.size:,} bytes, expected {size:,}")
        raise DataError(what, file=url, hint="the download was corrupted or the file changed: "
                        "it was deleted; run the command again")
    return LAYOUT.publish(part, target, url, size=part.stat().st_size, md5=digest)


def save(target: Path, body: bytes, url: str) -> Path:
    """Write a document fetched whole (an API page) with its record, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = LAYOUT.part(target)
    part.write_bytes(body)
    return LAYOUT.publish(part, target, url, size=len(body), md5=hashlib.md5(body).hexdigest())
