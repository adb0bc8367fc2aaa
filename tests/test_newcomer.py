"""The newcomer path works as written: `make demo` installs only what brainwh needs, the demo
builds where every later command looks, and the command it prints next runs as printed."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "brainwh"  # the console script `make demo` runs


def _make_dry_run(target: str) -> str:
    done = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), target], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_demo_installs_only_what_brainwh_needs():
    demo = _make_dry_run("demo")
    assert "pip install" in demo and "-e ." in demo
    assert "[dev]" not in demo
    assert "brainwh demo" in demo
    assert "'.[dev]'" in _make_dry_run("test")


def test_the_license_pyproject_names_is_there():
    assert "license = { text = \"MIT\" }" in (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "cff-version" in (ROOT / "CITATION.cff").read_text()


@pytest.mark.slow
def test_the_demos_next_command_works_as_printed(tmp_path):
    if not SCRIPT.exists():
        pytest.skip(f"no console script at {SCRIPT} (install brainwh with pip install -e .)")
    demo = subprocess.run([str(SCRIPT), "demo", "--scale", "tiny"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "brainwh.duckdb").exists()  # where `brainwh sql` looks by default
    lines = demo.stdout.splitlines()
    start = lines.index("The warehouse is brainwh.duckdb. Next, try:")
    command = lines[start + 1].strip()
    assert command.startswith(str(SCRIPT)) and "--db" not in command
    done = subprocess.run(shlex.split(command), cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "cell_type" in done.stdout and "rows)" in done.stdout
    assert "source " in lines[start + 3] and "activate" in lines[start + 3]


@pytest.mark.slow
def test_the_demo_never_replaces_a_real_warehouse(cli, tiny_db, tmp_path):
    import shutil

    real = tmp_path / "brainwh.duckdb"
    shutil.copyfile(tiny_db, real)
    before = real.read_bytes()
    result = cli("demo", "--scale", "tiny")
    assert result.exit_code == 2
    assert "holds a warehouse `brainwh demo` did not build" in result.stderr
    assert real.read_bytes() == before
