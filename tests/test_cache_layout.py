"""The on-disk layout of both download caches, which users' caches already hold: a file a
previous brainwh downloaded (its record named and keyed as then) stays current, and a new
download is written in the same layout.

`brainwh fetch` (warehouse.fetch.downloads): `.<name>.part`, `.<name>.source.json` with keys
url, size, md5. Remote builds (warehouse.remote.cache): `<name>.part`, `<name>.source.json` with
keys uri, size, md5, etag. The records below are spelled out by hand, as those versions wrote them.
"""

from __future__ import annotations

import hashlib
import json

import fsspec
import pytest

from warehouse import checked_download
from warehouse.fetch import downloads
from warehouse.remote import cache

BODY = b"cell_label,x,y\nAAACCCAAGAAACACT-1,1.0,2.0\n" * 50
MD5 = hashlib.md5(BODY).hexdigest()
UNREACHABLE = "http://127.0.0.1:9/nothing-listens-here.csv"  # any request fails at once


class NoNetwork:
    """An fsspec filesystem that fails the test if anything is read from it."""

    def open(self, *args, **kwargs):
        raise AssertionError("a current cached file was downloaded again")


def test_a_fetch_cache_written_by_earlier_versions_is_current(tmp_path):
    target = tmp_path / "ahba" / "donor.zip"
    target.parent.mkdir()
    target.write_bytes(BODY)
    (target.parent / ".donor.zip.source.json").write_text(json.dumps(
        {"url": UNREACHABLE, "size": len(BODY), "md5": MD5}))
    assert downloads.is_current(target, UNREACHABLE, size=len(BODY), md5=MD5)
    assert downloads.is_current(target, UNREACHABLE, md5=MD5.upper())
    assert downloads.download(UNREACHABLE, target, size=len(BODY), md5=MD5) == target
    assert not downloads.is_current(target, UNREACHABLE + "?other")
    assert not downloads.is_current(target, UNREACHABLE, md5="0" * 32)
    assert not downloads.is_current(target, UNREACHABLE, size=len(BODY) + 1)


def test_a_fetch_download_is_written_in_the_same_layout(tmp_path):
    source = tmp_path / "served.csv"
    source.write_bytes(BODY)
    url = source.as_uri()
    target = tmp_path / "cache" / "cells.csv"
    assert downloads.download(url, target, size=len(BODY), md5=MD5) == target
    assert target.read_bytes() == BODY
    assert sorted(p.name for p in target.parent.iterdir()) == [".cells.csv.source.json",
                                                               "cells.csv"]
    assert json.loads((target.parent / ".cells.csv.source.json").read_text()) == {
        "url": url, "size": len(BODY), "md5": MD5}
    # a part file left behind is finished under the same names (file:// ignores the range)
    target.unlink()
    (target.parent / ".cells.csv.part").write_bytes(BODY[:100])
    assert downloads.download(url, target, size=len(BODY), md5=MD5) == target
    assert target.read_bytes() == BODY and not (target.parent / ".cells.csv.part").exists()


@pytest.mark.parametrize("record", [
    {"uri": "s3://abc-public/m/cells.csv", "size": len(BODY), "md5": MD5, "etag": '"e1"'},
    {"uri": "s3://abc-public/m/cells.csv", "size": len(BODY), "md5": MD5, "etag": None},
    {"uri": "s3://abc-public/m/cells.csv", "size": len(BODY), "md5": MD5},
], ids=["etag", "null-etag", "no-etag"])
def test_a_remote_cache_written_by_earlier_versions_is_current(tmp_path, record):
    remote = cache.Remote(record["uri"], "abc-public/m/cells.csv", size=len(BODY), md5=MD5,
                          etag='"e1"')
    local = cache.local_path(tmp_path, remote.uri)
    local.parent.mkdir(parents=True)
    local.write_bytes(BODY)
    (local.parent / "cells.csv.source.json").write_text(json.dumps(record))
    assert cache.fetch(NoNetwork(), remote, tmp_path) == local
    assert local.read_bytes() == BODY
    # a manifest that spells the md5 in capitals names the same file
    shouted = cache.Remote(remote.uri, remote.path, size=len(BODY), md5=MD5.upper(),
                           etag='"e1"')
    assert cache.fetch(NoNetwork(), shouted, tmp_path) == local


def test_a_remote_download_is_written_in_the_same_layout(tmp_path):
    memory = fsspec.filesystem("memory")
    memory.pipe("/bucket/m/cells.csv", BODY)
    remote = cache.Remote("s3://bucket/m/cells.csv", "/bucket/m/cells.csv", size=len(BODY),
                          md5=MD5, etag='"e2"')
    try:
        local = cache.fetch(memory, remote, tmp_path)
        assert local.read_bytes() == BODY
        assert sorted(p.name for p in local.parent.iterdir()) == ["cells.csv",
                                                                  "cells.csv.source.json"]
        assert json.loads((local.parent / "cells.csv.source.json").read_text()) == {
            "uri": remote.uri, "size": len(BODY), "md5": MD5, "etag": '"e2"'}
        # a part file left behind is resumed, and a changed ETag means a new download
        local.unlink()
        (local.parent / "cells.csv.part").write_bytes(BODY[:100])
        assert cache.fetch(memory, remote, tmp_path).read_bytes() == BODY
        assert not (local.parent / "cells.csv.part").exists()
        changed = cache.Remote(remote.uri, remote.path, size=len(BODY), md5=MD5, etag='"e3"')
        assert cache.fetch(NoNetwork(), remote, tmp_path) == local
        with pytest.raises(AssertionError, match="downloaded again"):
            cache.fetch(NoNetwork(), changed, tmp_path)
    finally:
        memory.rm("/bucket", recursive=True)


def test_a_part_longer_than_the_file_starts_again_and_a_wrong_one_is_deleted(tmp_path):
    part = tmp_path / "cells.csv.part"
    part.write_bytes(BODY + b"more")
    assert checked_download.resume_offset(part, len(BODY)) == 0 and not part.exists()
    part.write_bytes(BODY[:10])
    assert checked_download.resume_offset(part, len(BODY)) == 10
    assert checked_download.resume_offset(part, None) == 10
    part.write_bytes(BODY)
    digest = checked_download.md5_of(part).hexdigest()
    assert digest == MD5
    assert checked_download.discard_if_wrong(part, digest, size=len(BODY), md5=MD5.upper()) \
        is None and part.exists()
    assert checked_download.discard_if_wrong(part, digest, size=None, md5=None) is None
    wrong = checked_download.discard_if_wrong(part, digest, size=len(BODY) + 1, md5=MD5)
    assert wrong == checked_download.Mismatch(len(BODY), wrong_size=True, wrong_md5=False)
    assert not part.exists()
    part.write_bytes(BODY)
    wrong = checked_download.discard_if_wrong(part, digest, size=len(BODY), md5="0" * 32)
    assert wrong == checked_download.Mismatch(len(BODY), wrong_size=False, wrong_md5=True)
    assert not part.exists()


@pytest.mark.parametrize("text", ["[]", "null", '"url"', "{not json"])
def test_a_record_that_is_not_one_means_an_unfinished_file(tmp_path, text):
    target = tmp_path / "cells.csv"
    target.write_bytes(BODY)
    (tmp_path / ".cells.csv.source.json").write_text(text)
    assert not downloads.is_current(target, UNREACHABLE)
    (tmp_path / "cells.csv.source.json").write_text(text)
    assert cache.LAYOUT.recorded(target, "s3://bucket/cells.csv") is None
