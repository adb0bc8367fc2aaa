"""Guarantees: interrupted builds lose nothing, rebuilds are identical, versions never mix."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.helpers import snapshot, write_hand_made_release
from warehouse import publish

QUESTIONS = [
    "select count(*), sum(n_cells) from composition",
    "select * from compare_composition('MOp', 'STRd', 'subclass') order by all",
    "select count(*) from structure_descendants('Isocortex', 'mouse')",
]


def answers(db: Path) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [con.execute(q).fetchall() for q in QUESTIONS]
    finally:
        con.close()


def all_views(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "select view_name from duckdb_views() where not internal").fetchall()]
        return {n: con.execute(f'select * from "{n}" order by all').fetchall() for n in names}
    finally:
        con.close()


def test_taxonomy_version_mismatch_is_refused_naming_both(tmp_path, cli):
    root = write_hand_made_release(tmp_path / "release")
    db = tmp_path / "w.duckdb"
    assert cli("build", str(root), "--db", str(db)).exit_code == 0
    before = snapshot(db)
    old = tmp_path / "old" / "metadata" / "WMB-10X" / "20230630" / "cell_metadata.csv"
    old.parent.mkdir(parents=True)
    shutil.copyfile(root / "metadata" / "WMB-10X" / "20241115" / "cell_metadata.csv", old)
    result = cli("ingest", "cells", str(old), "--db", str(db))
    assert result.exit_code == 1, result.stderr
    assert "CCN20230504" in result.stderr and "CCN20230722" in result.stderr
    assert str(old) in result.stderr and "Traceback" not in result.stderr
    assert snapshot(db) == before


def test_rebuilding_from_the_same_files_gives_identical_answers(tiny_release, tmp_path):
    from warehouse.build import run

    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    run(first, [str(tiny_release)], fresh=True)
    run(second, [str(tiny_release)], fresh=True)
    views_a, views_b = all_views(first), all_views(second)
    assert views_a.keys() == views_b.keys() and len(views_a) >= 3
    for name in views_a:
        assert len(views_a[name]) == len(views_b[name]), name
        for row_a, row_b in zip(views_a[name], views_b[name], strict=True):
            assert all(_same(x, y) for x, y in zip(row_a, row_b, strict=True)), (name, row_a)


def _same(x, y) -> bool:
    """Equal, except floating sums may differ in the last bits (parallel summation order)."""
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)
    return x == y


def _small_build(tmp_path: Path, *, seed: int) -> tuple[Path, list[str]]:
    """A `small` ABC release (a build of a second or two) and the command that builds it."""
    from ingest.sample import abc, ontology

    release = tmp_path / "release"
    ontology.write(release, "small", seed)
    abc.write(release, "small", seed)
    db = tmp_path / "w.duckdb"
    return db, [sys.executable, "-m", "warehouse", "build", str(release), "--db", str(db)]


@pytest.mark.slow
def test_killed_builds_never_harm_the_published_file(tmp_path):
    """SIGKILL `brainwh build` at random moments, 10 times; the published file keeps answering.

    The moments are spread over the build: one in each tenth of its duration, at a random point
    in it, so every phase is hit however fast the machine is."""
    db, command = _small_build(tmp_path, seed=3)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    duration = time.perf_counter() - started
    expected = answers(db)
    rng = random.Random(20261121)
    kills = 0
    for tenth in range(10):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * (tenth + rng.random()) / 10)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        assert answers(db) == expected
    assert kills >= 5, "the build finished before most kills: the test did not exercise them"
    subprocess.run(command, check=True, capture_output=True)
    assert publish.staging_files(db) == []
    assert answers(db) == expected


@pytest.mark.slow
def test_a_second_build_while_one_runs_exits_3(tmp_path):
    db, command = _small_build(tmp_path, seed=5)
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    lock = db.with_name(db.name + ".lock")
    deadline = time.time() + 30
    while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True)
    first.wait(120)
    assert first.returncode == 0
    assert second.returncode == 3, second.stderr
    assert "already writing" in second.stderr


def test_a_local_release_is_read_through_its_manifest(tiny_release, tmp_path, cli):
    """The release id is recorded, listed md5s are checked, unlisted versions are skipped."""
    release = tmp_path / "release"
    shutil.copytree(tiny_release, release)
    stray = release / "metadata" / "WMB-10X" / "20230830" / "cell_metadata.csv"
    stray.parent.mkdir(parents=True)
    shutil.copyfile(release / "metadata" / "WMB-10X" / "20241115" / "cell_metadata.csv", stray)
    db = tmp_path / "w.duckdb"
    result = cli("build", str(release), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    assert f"skipped: {stray}: not in ABC release 20250531, which has WMB-10X 20241115" in \
        result.stderr
    con = duckdb.connect(str(db), read_only=True)
    logged = con.execute("select distinct release from ingest_log where kind in "
                         "('cells', 'taxonomy')").fetchall()
    con.close()
    assert logged == [("20250531",)]
    # a file that does not match the manifest's md5 is refused, naming both
    rois = release / "metadata" / "WMB-10X" / "20241115" / "region_of_interest_metadata.csv"
    rois.write_text(rois.read_text().replace("Primary motor area", "Primary motor areas"))
    before = snapshot(db)
    result = cli("build", str(release), "--db", str(db))
    assert result.exit_code == 1
    assert str(rois) in result.stderr and "does not match the manifest" in result.stderr
    assert snapshot(db) == before
