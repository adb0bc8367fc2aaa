"""The shape of the code that the design relies on: one owner of discovery, transport that
knows nothing of sources, and every source module meeting the loader contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "warehouse" / "remote").glob("*.py")),
                         ids=lambda p: p.name)
def test_remote_transport_does_not_know_the_sources(path):
    names = imports(path)
    assert not {n for n in names if n.startswith(("ingest.registry", "ingest.discovery"))}


@pytest.mark.parametrize("path", sorted((ROOT / "ingest").rglob("*.py")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ingest_does_not_import_the_transport_or_the_cli(path):
    names = imports(path)
    assert not {n for n in names if n.startswith(("warehouse.remote", "warehouse.cli",
                                                  "warehouse.build", "warehouse.fetch"))}


def test_only_discovery_walks_folders():
    """Finding files is ingest/discovery.py's (through ingest/tree.py), nobody else's."""
    walkers = []
    for path in [*(ROOT / "ingest").rglob("*.py"), *(ROOT / "warehouse").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if any(call in text for call in ("os.walk(", ".rglob(", "os.scandir(")):
            walkers.append(path.relative_to(ROOT).as_posix())
    allowed = {"ingest/tree.py",  # exports list the files of their own output:
               "warehouse/export.py", "warehouse/export_target.py"}
    assert {w for w in walkers if not w.startswith("ingest/sample/")} <= allowed, walkers


def test_every_source_meets_the_loader_contract():
    from ingest import registry
    from ingest.contract import Source, checked

    kinds = [source.KIND for source in registry.SOURCES]
    assert len(kinds) == len(set(kinds))
    for source in registry.SOURCES:
        assert isinstance(source, Source)
        checked(source)
        assert set(source.TABLES.values()) <= {
            name for statement in source.DDL for name in [statement.split("exists", 1)[1]
                                                          .split("(", 1)[0].strip()]}
    for kind, sources in registry.KINDS.items():
        assert registry.by_kind(kind) in sources or kind in {"cells"}
