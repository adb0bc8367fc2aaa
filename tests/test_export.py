"""`brainwh export`: zstd Parquet files and hive folders, locally and on S3, with provenance."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from serving import moto_server

VIEW = "composition"


@pytest.fixture(scope="module")
def local(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()


def _key(row: tuple) -> tuple:
    return tuple((v is None, "" if v is None else str(v)) for v in row)


def _norm(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars from pandas
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=_key)


def _view(local, sql: str) -> tuple[list[str], list[tuple]]:
    cursor = local.execute(sql)
    return [d[0] for d in cursor.description], _sorted(cursor.fetchall())


def _read_all_ways(path: Path, columns: list[str], partitioned: bool) -> dict[str, list[tuple]]:
    if partitioned:
        arrow = ds.dataset(path, format="parquet", partitioning="hive").to_table()
        polars = pl.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
        pandas = pd.read_parquet(path)
    else:
        arrow = pq.read_table(path)
        polars = pl.read_parquet(path)
        pandas = pd.read_parquet(path)
    pandas = pandas[columns].astype(object)
    pandas = pandas.where(pandas.notna(), None)
    return {
        "pyarrow": _sorted(zip(*(arrow.column(c).to_pylist() for c in columns), strict=True)),
        "polars": _sorted(polars.select(columns).iter_rows()),
        "pandas": _sorted(pandas.itertuples(index=False, name=None)),
    }


def _as_text(rows: list[tuple], positions: list[int]) -> list[tuple]:
    """Hive partition values come back as text (or inferred numbers): compare as text."""
    return _sorted(tuple(str(v) if i in positions and v is not None else v
                         for i, v in enumerate(row)) for row in rows)


def test_a_view_as_one_file_reads_back_everywhere(cli, tiny_db, local, tmp_path):
    out = tmp_path / "composition.parquet"
    result = cli("export", VIEW, "--out", str(out), "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    columns, want = _view(local, f"select * from {VIEW}")
    assert f"exported {len(want):,} rows to {out}" in result.stderr
    for reader, rows in _read_all_ways(out, columns, partitioned=False).items():
        assert rows == want, reader
    meta = pq.ParquetFile(out).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert [p.name for p in tmp_path.iterdir()] == ["composition.parquet"]  # no temp left


def test_provenance_in_the_key_value_metadata(cli, tiny_db, local, tmp_path):
    out = tmp_path / "c.parquet"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert cli("export", VIEW, "--out", str(out), "--db", str(tiny_db)).exit_code == 0
    meta = {k.decode(): v.decode() for k, v in pq.ParquetFile(out).metadata.metadata.items()
            if k.startswith(b"brainwh.")}
    assert meta["brainwh.query"] == f'select * from "{VIEW}"'
    assert meta["brainwh.taxonomy_version"] == local.execute(
        "select string_agg(distinct taxonomy_version, ',') from ingest_log").fetchone()[0]
    assert json.loads(meta["brainwh.components"])["WMB-10X"] == "20241115"
    sources = json.loads(meta["brainwh.sources"])
    assert {s["uri"] for s in sources} == {u for (u,) in local.execute(
        "select source_uri from ingest_log").fetchall()}
    assert all(len(s["md5"]) == 32 for s in sources)
    assert dt.datetime.fromisoformat(meta["brainwh.exported_at"]) >= before
    assert meta["brainwh.version"]
    assert "brainwh.release" in meta


@pytest.mark.parametrize("partitions", [("level",), ("level", "region_kind")])
def test_hive_partitioned_folder_reads_back_everywhere(cli, tiny_db, local, tmp_path,
                                                       partitions):
    out = tmp_path / "by_level"
    args = [a for c in partitions for a in ("--partition-by", c)]
    result = cli("export", VIEW, "--out", str(out), *args, "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    columns, want = _view(local, f"select * from {VIEW}")
    levels = {level for (level,) in local.execute(f"select distinct level from {VIEW}").fetchall()}
    assert {p.name for p in out.iterdir()} == {f"level={v}" for v in levels}
    files = list(out.rglob("*.parquet"))
    assert files and all(b"brainwh.query" in pq.ParquetFile(f).metadata.metadata
                         for f in files)
    positions = [columns.index(c) for c in partitions]
    for reader, rows in _read_all_ways(out, columns, partitioned=True).items():
        assert _as_text(rows, positions) == _as_text(want, positions), reader


def test_a_query_and_a_macro_call(cli, tiny_db, local, tmp_path):
    query = "select acronym, depth from structures where depth < 4"
    out = tmp_path / "q.parquet"
    assert cli("export", query, "--out", str(out), "--db", str(tiny_db)).exit_code == 0
    assert _sorted(tuple(r.values()) for r in pq.read_table(out).to_pylist()) == \
        _view(local, query)[1]
    call = "compare_composition('MOp', 'STRd', 'class')"
    out = tmp_path / "m.parquet"
    result = cli("export", call, "--out", str(out), "--db", str(tiny_db))
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).num_rows == len(_view(local, f"select * from {call}")[1])


def test_export_replaces_the_old_one_only_when_complete(cli, tiny_db, tmp_path):
    out = tmp_path / "c.parquet"
    assert cli("export", VIEW, "--out", str(out), "--db", str(tiny_db)).exit_code == 0
    first = out.read_bytes()
    failed = cli("export", "select * from no_such_table", "--out", str(out), "--db",
                 str(tiny_db))
    assert failed.exit_code == 1
    assert "no_such_table" in failed.stderr
    assert out.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"]
    folder = tmp_path / "parts"
    assert cli("export", VIEW, "--out", str(folder), "--partition-by", "level",
               "--db", str(tiny_db)).exit_code == 0
    assert cli("export", f"select * from {VIEW} where level = 'class'", "--out", str(folder),
               "--partition-by", "level", "--db", str(tiny_db)).exit_code == 0
    assert [p.name for p in folder.iterdir()] == ["level=class"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet", "parts"]


@pytest.mark.parametrize(("args", "code", "words"), [
    (["no_such_view", "--out", "x.parquet"], 2, "no table or view named no_such_view"),
    ([VIEW, "--out", "x", "--partition-by", "nope"], 2, "cannot partition by nope"),
    ([VIEW, "--out", "gs://bucket/x.parquet"], 2, "cannot export to gs://"),
    (["select nonsense(", "--out", "x.parquet"], 1, "query failed"),
])
def test_errors(cli, tiny_db, args, code, words):
    result = cli("export", *args, "--db", str(tiny_db))
    assert result.exit_code == code, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_export_to_s3(cli, tiny_db, local, tmp_path):
    pytest.importorskip("moto")
    import boto3
    import s3fs

    with moto_server(tmp_path) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-2",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket="extracts",
                             CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-west-2"}
        one = cli("export", VIEW, "--out", "s3://extracts/brainwh/composition.parquet",
                  "--db", str(tiny_db), env=env)
        assert one.exit_code == 0, one.stderr
        parts = cli("export", VIEW, "--out", "s3://extracts/brainwh/by_level",
                    "--partition-by", "level", "--db", str(tiny_db), env=env)
        assert parts.exit_code == 0, parts.stderr
        fs = s3fs.S3FileSystem(key="testing", secret="testing",
                               client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)
        keys = fs.find("extracts/brainwh")
        assert all("/.composition" not in k and ".tmp-" not in k for k in keys)
        columns, want = _view(local, f"select * from {VIEW}")
        with fs.open("extracts/brainwh/composition.parquet", "rb") as handle:
            table = pq.read_table(handle)
        assert _sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True)) == want
        assert b"brainwh.sources" in pq.read_metadata(
            fs.open("extracts/brainwh/composition.parquet", "rb")).metadata
        dataset = ds.dataset("extracts/brainwh/by_level", filesystem=fs, format="parquet",
                             partitioning="hive").to_table()
        assert dataset.num_rows == len(want)
        # a narrower export to the same folder leaves only its own objects
        again = cli("export", f"select * from {VIEW} where level = 'class'", "--out",
                    "s3://extracts/brainwh/by_level", "--partition-by", "level",
                    "--db", str(tiny_db), env=env)
        assert again.exit_code == 0, again.stderr
        fs.invalidate_cache()
        assert {k.split("/")[3] for k in fs.find("extracts/brainwh/by_level")} == \
            {"level=class"}
