"""Where `brainwh export` may write: it replaces only what an earlier export wrote.

An earlier export is a Parquet file whose key-value metadata holds `brainwh.query`, or a folder
holding nothing but such files under `column=value/` folders (a hive-partitioned export). Any
other file or folder at `--out` is refused before anything is written, with what to do
instead; user files beside or under `--out` always survive. The current folder and the
folders above it are never replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq

from warehouse.errors import UsageError

MARK = b"brainwh.query"


def is_export_file(path: Path, opener=open) -> bool:
    """`path` is a Parquet file written by `brainwh export` (its footer says so)."""
    try:
        with opener(str(path), "rb") as handle:
            metadata = pq.read_metadata(handle).metadata or {}
    except Exception:  # not Parquet, unreadable, gone: not ours either way
        return False
    return MARK in metadata


def foreign_entries(folder: Path, limit: int = 3) -> list[Path]:
    """Up to `limit` entries under `folder` an export did not write."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in dirs:
            if "=" not in name or (here / name).is_symlink():
                found.append(here / name)
        dirs[:] = [d for d in dirs if "=" in d and not (here / d).is_symlink()]
        for name in files:
            path = here / name
            if path.is_symlink() or not (name.endswith(".parquet") and is_export_file(path)):
                found.append(path)
        if len(found) >= limit:
            break
    return found[:limit]


def _example(out: str, partitioned: bool) -> str:
    base = out.rstrip("/") or "."
    return f"{base}/composition" if partitioned else f"{base}/composition.parquet"


def check_local(out: str, target: Path, *, partitioned: bool) -> None:
    """Refuse a local `--out` whose replacement could lose anything brainwh did not write."""
    resolved = target.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise UsageError(f"--out {out} is the current folder{' or above it' * (resolved != here)}"
                         ": an export never replaces it",
                         hint=f"name a new {'folder' if partitioned else 'file'} for the export,"
                         f" e.g. --out {_example(out, partitioned)}")
    if target.is_symlink():
        raise UsageError(f"--out {out} is a symbolic link: brainwh will not replace it",
                         hint="give the path it points to, or a new name")
    if not target.exists():
        if out.endswith("/") and not partitioned:
            raise UsageError(f"--out {out} names a folder, and this export is one file",
                             hint=f"give a file name, e.g. --out {_example(out, False)}, or "
                             "add --partition-by COL to write a folder")
        return
    if target.is_file():
        if not is_export_file(target):
            raise UsageError(f"--out {out} is a file brainwh did not write: an export "
                             "replaces only an earlier export",
                             hint="give another file name, or move that file away yourself")
        return
    entries = list(target.iterdir())
    if not entries and partitioned:
        return  # an empty folder made for the export: nothing in it to lose
    foreign = foreign_entries(target)
    if not entries or foreign:
        shown = ", ".join(str(p.relative_to(target)) for p in foreign)
        what = f"it holds files brainwh did not write ({shown})" if foreign else "it is empty"
        raise UsageError(f"--out {out} is a folder, and {what}: an export replaces only an "
                         "earlier export",
                         hint=f"write into a new {'folder' if partitioned else 'file'} inside "
                         f"it, e.g. --out {_example(out, partitioned)}")


def remove_export(path: Path) -> list[Path]:
    """Delete an earlier export, file by verified file; what is left (anything not ours)."""
    if path.is_file():
        if is_export_file(path):
            path.unlink()
            return []
        return [path]
    for root, dirs, files in os.walk(path, topdown=False):
        here = Path(root)
        for name in files:
            if is_export_file(here / name):
                (here / name).unlink()
        for name in dirs:
            try:
                (here / name).rmdir()
            except OSError:
                pass
    try:
        path.rmdir()
    except OSError:
        return [p for p in path.rglob("*") if p.is_file()] or [path]
    return []


def replace_local(staged: Path, target: Path) -> list[Path]:
    """Move the complete export `staged` to `target` (checked by `check_local`); anything of
    the old export that could not be removed as ours is returned, never deleted."""
    if staged.is_file() and (not target.exists() or target.is_file()):
        os.replace(staged, target)  # atomic
        return []
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()  # an empty folder: fails, harmlessly, if a file appeared since
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    return remove_export(old) if old.exists() else []


def check_s3(fs, out: str, final: str, *, partitioned: bool) -> set[str]:
    """Refuse an S3 `--out` holding objects an export did not write; the keys (relative to
    `final`) of an earlier partitioned export there, which the new one replaces."""
    if not partitioned:
        if fs.isfile(final) and not is_export_file(Path(final), opener=fs.open):
            raise UsageError(f"--out {out} is an object brainwh did not write: an export "
                             "replaces only an earlier export",
                             hint="give another key, or remove that object yourself")
        return set()
    keys = [k for k in (fs.find(final) if fs.exists(final) else []) if k != final]
    foreign = [k for k in keys
               if not all("=" in part for part in k[len(final) + 1:].split("/")[:-1])
               or not (k.endswith(".parquet") and is_export_file(Path(k), opener=fs.open))]
    if foreign:
        raise UsageError(f"--out {out} holds objects brainwh did not write "
                         f"({', '.join(k[len(final) + 1:] for k in foreign[:3])}): an export "
                         "replaces only an earlier export",
                         hint=f"write under a new prefix, e.g. --out {out.rstrip('/')}/export")
    return {k[len(final):] for k in keys}
