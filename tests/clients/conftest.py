"""The client conformance suite: the clients people use, against a real `brainwh serve`.

One server per test module (on the tiny warehouse). Each client is installed here when it is
missing: Python drivers are in the `dev` extra (pip-installed into this venv otherwise), the
JDBC driver and a JDK come from Debian (apt-get), node's `pg` from npm into .test-tools/.
A client's tests skip, saying why, only when it cannot be installed.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from serving import serving

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".test-tools"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")


def need(module: str, package: str | None = None):
    """Import `module`, pip-installing `package` first if it is missing; skip if impossible."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", package or module],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"{package or module} is not installed and pip could not install it: "
                    f"{done.stderr.strip()[-300:]}")
    importlib.invalidate_caches()
    return importlib.import_module(module)


def apt_install(*packages: str) -> str | None:
    """apt-get install the packages; None if it worked, else why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    for command in (["apt-get", "install", "-y", "-qq", *packages],
                    ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode == 0 and command[1] == "install":
            return None
    return done.stderr.strip()[-300:] or "apt-get failed"


@pytest.fixture(scope="session")
def java_and_jdbc() -> tuple[str, Path]:
    """A `java` (11+, single-file source launch) and the pgJDBC jar, from Debian if missing."""
    missing = [name for name, ok in (("default-jdk-headless", shutil.which("java")),
                                     ("libpostgresql-jdbc-java", JDBC_JAR.exists())) if not ok]
    if missing:
        why = apt_install(*missing)
        if why or not shutil.which("java") or not JDBC_JAR.exists():
            pytest.skip(f"cannot install {', '.join(missing)} with apt-get: {why}")
    return shutil.which("java"), JDBC_JAR


@pytest.fixture(scope="session")
def node_pg() -> tuple[str, Path]:
    """`node` and a folder whose node_modules holds node-postgres (`pg`), from npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        why = apt_install("nodejs", "npm")
        if why or shutil.which("node") is None:
            pytest.skip(f"cannot install node and npm with apt-get: {why}")
    folder = TOOLS / "node"
    if not (folder / "node_modules" / "pg").exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                               "--prefix", str(folder), "pg@8"],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.skip(f"npm could not install pg: {done.stderr.strip()[-300:]}")
    return shutil.which("node"), folder


@pytest.fixture(scope="module")
def server(tiny_db, tmp_path_factory):
    with serving(tiny_db, log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running
        assert "Traceback" not in running.stderr()


@pytest.fixture(scope="module")
def local(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    yield con
    con.close()
