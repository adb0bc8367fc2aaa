"""`brainwh build s3://...` and `http(s)://...`: manifests, md5s, the download cache, errors.

S3 is a moto server on 127.0.0.1 (started here, stopped by PID) holding the tiny sample
release with its manifest; HTTP is `python -m http.server` serving the same folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from serving import moto_server, static_files

from tests.helpers import table_counts

pytestmark = pytest.mark.slow

BUCKET = "abc-public"
PRIVATE = "abc-private"
ANONYMOUS = {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli():
    """`brainwh` in a subprocess whose environment has no AWS settings but the ones given."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        done = subprocess.run([sys.executable, "-m", "warehouse", *args], capture_output=True,
                              text=True, env={**clean, **(env or {})}, timeout=600)
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    pytest.importorskip("moto")
    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def s3(moto):
    import boto3

    return boto3.client("s3", endpoint_url=moto, region_name="us-west-2", **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})


def upload(s3, bucket: str, prefix: str, root: Path, *, public: bool,
           skip: tuple[str, ...] = (), replace: dict[str, bytes] | None = None) -> None:
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket,
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    extra = {"ACL": "public-read"} if public else {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or any(relative.endswith(s) for s in skip):
            continue
        body = (replace or {}).get(relative, path.read_bytes())
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{relative}", Body=body, **extra)


@pytest.fixture(scope="module")
def remote_release(tiny_release, tmp_path_factory) -> Path:
    """The tiny release without its AHBA donors, Cell Types and Mouse ISH folders (277 of its
    files): a remote build fetches every file the same way, one request each, and these tests
    are about that way (the manifest, the cache, md5s, resuming), not about the loaders."""
    root = tmp_path_factory.mktemp("remote") / "release"
    shutil.copytree(tiny_release, root, ignore=lambda folder, names: [
        name for name in names if Path(folder) == tiny_release
        and name in ("ahba", "cell_types", "ish")])
    return root


@pytest.fixture(scope="module")
def remote_db(remote_release, tmp_path_factory) -> Path:
    """What a local build of the same files holds."""
    from warehouse.build import run

    db = tmp_path_factory.mktemp("remote-local") / "w.duckdb"
    run(db, [str(remote_release)], fresh=True)
    return db


@pytest.fixture(scope="module")
def public_release(s3, remote_release):
    upload(s3, BUCKET, "mirror", remote_release, public=True)
    return f"s3://{BUCKET}/mirror"


def _manifest(remote_release: Path) -> dict:
    return json.loads((remote_release / "releases/20250531/manifest.json").read_text())


def _env(moto: str, cache: Path, **extra: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": moto, "AWS_DEFAULT_REGION": "us-west-2",
            "BRAINWH_CACHE": str(cache), **ANONYMOUS, **extra}


def _log(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select source_uri, release, component, component_version, md5 "
                           "from ingest_log order by source_uri").fetchall()
    finally:
        con.close()


def test_build_from_s3_anonymously_through_the_manifest(cli, moto, public_release, remote_db,
                                                        remote_release, tmp_path):
    db = tmp_path / "remote.duckdb"
    result = cli("build", public_release, "--db", str(db), env=_env(moto, tmp_path / "cache"))
    assert result.exit_code == 0, result.stderr
    assert "release 20250531" in result.stderr
    assert table_counts(db) == table_counts(remote_db)
    listed = {entry["files"]["csv"]["relative_path"]: entry["files"]["csv"]["file_hash"]
              for directory in _manifest(remote_release)["file_listing"].values()
              for entry in directory["metadata"].values()}
    log = _log(db)
    assert all(uri.startswith(f"{public_release}/") for uri, *_ in log)
    abc = [row for row in log if "/metadata/" in row[0]]
    assert abc
    for uri, release, component, version, md5 in abc:
        relative = uri.removeprefix(f"{public_release}/")
        assert release == "20250531"
        assert md5 == listed[relative]
        assert (component, version) in (
            ("WMB-10X", "20241115"), ("WMB-taxonomy", "20231215"),
            ("MERFISH-C57BL6J-638850", "20241115"), ("MERFISH-C57BL6J-638850-CCF", "20231215"),
            ("Allen-CCF-2020", "20230630"))
    # only what the warehouse ingests was downloaded, into the cache's mirror of the bucket
    cached = tmp_path / "cache" / "s3" / BUCKET / "mirror"
    assert (cached / "metadata/WMB-10X/20241115/cell_metadata.csv").is_file()
    assert not list(cached.rglob("manifest.json"))


def test_second_build_reads_the_cache(cli, moto, public_release, tmp_path):
    env = _env(moto, tmp_path / "cache")
    first = cli("build", public_release, "--db", str(tmp_path / "a.duckdb"), env=env)
    assert first.exit_code == 0, first.stderr
    assert "downloading" in first.stderr
    second = cli("build", public_release, "--db", str(tmp_path / "b.duckdb"), env=env)
    assert second.exit_code == 0, second.stderr
    assert "downloading" not in second.stderr
    assert "cached: " in second.stderr


def test_interrupted_download_resumes(cli, moto, public_release, remote_release, tmp_path):
    cache = tmp_path / "cache"
    relative = "metadata/WMB-10X/20241115/cell_metadata.csv"
    full = (remote_release / relative).read_bytes()
    part = cache / "s3" / BUCKET / "mirror" / (relative + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(full[: len(full) // 2])
    result = cli("build", public_release, "--db", str(tmp_path / "w.duckdb"),
                 env=_env(moto, cache))
    assert result.exit_code == 0, result.stderr
    assert f"resuming {public_release}/{relative}" in result.stderr
    assert f"from byte {len(full) // 2:,}" in result.stderr
    assert (part.with_name("cell_metadata.csv")).read_bytes() == full
    assert not part.exists()


def test_corrupt_partial_download_fails_the_md5_and_is_removed(cli, moto, public_release,
                                                               remote_release, tmp_path):
    cache = tmp_path / "cache"
    relative = "metadata/WMB-10X/20241115/cell_metadata.csv"
    part = cache / "s3" / BUCKET / "mirror" / (relative + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)
    db = tmp_path / "w.duckdb"
    env = _env(moto, cache)
    result = cli("build", public_release, "--db", str(db), env=env)
    assert result.exit_code == 1
    assert f"{public_release}/{relative}: md5 " in result.stderr
    assert "does not match the manifest's" in result.stderr
    assert not part.exists() and not db.exists()
    again = cli("build", public_release, "--db", str(db), env=env)
    assert again.exit_code == 0, again.stderr


def test_wrong_md5_in_the_bucket_is_a_clear_error(cli, moto, s3, remote_release, tmp_path):
    relative = "metadata/WMB-10X/20241115/region_of_interest_metadata.csv"
    body = bytearray((remote_release / relative).read_bytes())
    body[-2] = ord("#") if body[-2] != ord("#") else ord("%")  # same size, other bytes
    upload(s3, BUCKET, "tampered", remote_release, public=True, replace={relative: bytes(body)})
    db = tmp_path / "w.duckdb"
    result = cli("build", f"s3://{BUCKET}/tampered", "--db", str(db),
                 env=_env(moto, tmp_path / "cache"))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert f"error: s3://{BUCKET}/tampered/{relative}: md5 " in result.stderr
    assert "does not match the manifest's" in result.stderr
    assert not db.exists()


def test_object_missing_from_the_release_is_a_clear_error(cli, moto, s3, remote_release,
                                                          tmp_path):
    relative = "metadata/WMB-taxonomy/20231215/cluster.csv"
    upload(s3, BUCKET, "incomplete", remote_release, public=True, skip=(relative,))
    result = cli("build", f"s3://{BUCKET}/incomplete", "--db", str(tmp_path / "w.duckdb"),
                 env=_env(moto, tmp_path / "cache"))
    assert result.exit_code == 1
    assert f"s3://{BUCKET}/incomplete/{relative}: the manifest lists this file but it is " \
           "not there" in result.stderr
    assert "releases/20250531/manifest.json" in result.stderr


def test_nothing_at_the_location(cli, moto, public_release, tmp_path):
    env = _env(moto, tmp_path / "cache")
    result = cli("build", f"s3://{BUCKET}/no-such-prefix", "--db", str(tmp_path / "w.duckdb"),
                 env=env)
    assert result.exit_code == 2
    assert f"nothing at s3://{BUCKET}/no-such-prefix" in result.stderr
    missing_bucket = cli("build", "s3://no-such-bucket/x", "--db", str(tmp_path / "w.duckdb"),
                         env=env)
    assert missing_bucket.exit_code == 2
    assert "s3://no-such-bucket/x" in missing_bucket.stderr


def test_denied_bucket_says_to_set_credentials(cli, moto, s3, remote_release, tmp_path):
    upload(s3, PRIVATE, "release", remote_release, public=False)
    location = f"s3://{PRIVATE}/release"
    denied = cli("build", location, "--db", str(tmp_path / "w.duckdb"),
                 env=_env(moto, tmp_path / "cache"))
    assert denied.exit_code == 2
    assert "access denied to s3://abc-private/release" in denied.stderr
    assert "tried anonymously" in denied.stderr
    assert "AWS_ACCESS_KEY_ID" in denied.stderr
    allowed = cli("build", location, "--db", str(tmp_path / "w.duckdb"),
                  env=_env(moto, tmp_path / "cache", **CREDENTIALS))
    assert allowed.exit_code == 0, allowed.stderr


def test_manifest_given_and_release_chosen(cli, moto, s3, public_release, remote_release,
                                          tmp_path):
    older = _manifest(remote_release)
    older["version"] = "20240330"
    s3.put_object(Bucket=BUCKET, Key="mirror/releases/20240330/manifest.json",
                  Body=json.dumps(older).encode(), ACL="public-read")
    env = _env(moto, tmp_path / "cache")
    for args, release in (([public_release], "20250531"),
                          ([public_release, "--release", "20240330"], "20240330"),
                          ([f"{public_release}/releases/20240330/manifest.json"], "20240330")):
        db = tmp_path / f"{release}-{len(args)}.duckdb"
        result = cli("build", *args, "--db", str(db), env=env)
        assert result.exit_code == 0, result.stderr
        releases = {row[1] for row in _log(db) if "/metadata/" in row[0]}
        assert releases == {release}
    unknown = cli("build", public_release, "--release", "19990101", "--db",
                  str(tmp_path / "x.duckdb"), env=env)
    assert unknown.exit_code == 2
    assert "release 19990101 is not under" in unknown.stderr and "20250531" in unknown.stderr


@pytest.fixture
def http_release(remote_release, tmp_path):
    with static_files(remote_release, tmp_path) as url:
        yield url


def test_build_over_http(cli, http_release, remote_db, tmp_path):
    env = {"BRAINWH_CACHE": str(tmp_path / "cache")}
    db = tmp_path / "http.duckdb"
    result = cli("build", f"{http_release}/", "--db", str(db), env=env)
    assert result.exit_code == 0, result.stderr
    assert table_counts(db) == table_counts(remote_db)
    assert {row[1] for row in _log(db) if "/metadata/" in row[0]} == {"20250531"}
    # the manifest and a single file, by URL
    single = tmp_path / "single.duckdb"
    result = cli("build", f"{http_release}/releases/20250531/manifest.json",
                 f"{http_release}/ontology/mouse_structures_graph1.csv", "--db", str(single),
                 env=env)
    assert result.exit_code == 0, result.stderr
    assert table_counts(single)["cells"] == table_counts(remote_db)["cells"]
    missing = cli("build", f"{http_release}/ontology/nope_structures.csv", "--db",
                  str(tmp_path / "m.duckdb"), env=env)
    assert missing.exit_code == 2
    assert "nothing at" in missing.stderr


def test_manifest_parsing_and_the_files_brainwh_claims():
    from ingest import abc_release, discovery, registry

    text = json.dumps({
        "version": "20250531", "resource_uri": "s3://allen-brain-cell-atlas/",
        "file_listing": {
            "WMB-10X": {"metadata": {"cell_metadata": {"files": {"csv": {
                "version": "20241115", "relative_path":
                "metadata/WMB-10X/20241115/cell_metadata.csv", "size": 10,
                "file_hash": "1ec09a9960c1e378475469723f71fa7f"}}}}},
            "WMB-10Xv2": {"expression_matrices": {"WMB-10Xv2-TH": {"log2": {"files": {"h5ad": {
                "relative_path": "expression_matrices/WMB-10Xv2/20230630/WMB-10Xv2-TH-log2.h5ad",
                "size": 4038679930}}}}}},
            "MERFISH-C57BL6J-638850": {"metadata": {"cell_metadata": {"files": {"csv": {
                "relative_path": "metadata/MERFISH-C57BL6J-638850/20241115/cell_metadata.csv"
            }}}}},
        }})
    parsed = abc_release.parse(text, uri="m.json")
    assert parsed.release == "20250531"
    assert len(parsed.files) == 3
    claimed = [f for f in parsed.files
               if f.where and discovery.claimed_by(registry.SOURCES, f.where)]
    cells, merfish = sorted(claimed, key=lambda f: f.relative_path, reverse=True)
    assert cells.relative_path.endswith("WMB-10X/20241115/cell_metadata.csv")
    assert cells.md5 == "1ec09a9960c1e378475469723f71fa7f" and cells.version == "20241115"
    assert merfish.relative_path.endswith("MERFISH-C57BL6J-638850/20241115/cell_metadata.csv")
    with pytest.raises(Exception, match="not an ABC release manifest"):
        abc_release.parse("{}", uri="m.json")


def test_cache_folder_default_and_env(monkeypatch, tmp_path):
    from warehouse.remote import cache

    monkeypatch.delenv("BRAINWH_CACHE", raising=False)
    assert cache.cache_dir() == Path("~/.cache/brainwh").expanduser()
    monkeypatch.setenv("BRAINWH_CACHE", str(tmp_path))
    assert cache.cache_dir() == tmp_path
    assert cache.cache_dir(tmp_path / "x") == tmp_path / "x"
    assert cache.local_path(tmp_path, "s3://b/k/../f.csv") == tmp_path / "s3" / "b" / "k" / \
        "f.csv"


def test_anonymous_unless_aws_credentials(monkeypatch, tmp_path):
    from warehouse.remote import fs

    for name in fs._CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    assert not fs.has_aws_credentials()
    assert fs.s3().anon
    monkeypatch.setenv("AWS_PROFILE", "lab")
    assert fs.has_aws_credentials()
    monkeypatch.delenv("AWS_PROFILE")
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\n")
    assert fs.has_aws_credentials()
    shutil.rmtree(tmp_path / ".aws")
