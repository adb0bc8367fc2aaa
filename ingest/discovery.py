"""Finding source files: the one place that decides, for every file under the locations a user
gives, what it is, which source loads it into which table, or why it is left out.

The same path serves local folders and `s3://` / `https://` locations (both are `Tree`s):

1. Every file is listed, with its place in an ABC Atlas release layout when it has one.
2. In an ABC layout, the release manifests choose which version of each file belongs to the
   build (`ingest.abc_release.choose`); only the datasets brainwh loads are claimed
   (`Source.ABC_FILES`), and every other dataset is listed once as "not loaded".
3. Every other file is recognised by its content (`Source.identify`), under any name.
4. A file that cannot be read, or that a source recognises but the build would leave out with
   nothing in its place, stops the build with a message naming it: a build never publishes
   less than its sources hold.

`plan()` returns a `Plan`: one `Entry` per file (what `brainwh sources` prints) and the files to
load, materialised (downloaded, decompressed) only when the build asks for them.
"""

from __future__ import annotations

import fnmatch
import gzip
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from ingest import abc_release, known
from ingest.base import SourceFile
from ingest.contract import Source
from ingest.probe import PEEKED, Probe
from ingest.tree import FileInfo, Tree
from warehouse.errors import DataError, UsageError

LOAD, SKIPPED, NOT_LOADED, IGNORED, MANIFEST = "load", "skipped", "not loaded", "ignored", \
    "manifest"
READ = "the release read"


@dataclass
class Entry:
    """One file found, and what the build does with it."""

    tree: Tree = field(repr=False)
    info: FileInfo
    status: str  # load | skipped | not loaded | ignored | manifest
    source: Source | None = field(default=None, repr=False)
    role: str | None = None
    reason: str | None = None
    release: str | None = None
    dataset: str | None = None  # ABC dataset (the ingest log's `component`)
    version: str | None = None  # its version folder
    md5: str | None = None  # expected, from the release manifest
    gzip: bool = False

    @property
    def uri(self) -> str:
        return self.info.uri

    @property
    def kind(self) -> str | None:
        return self.source.KIND if self.source is not None else None

    @property
    def table(self) -> str | None:
        if self.source is None or self.role is None:
            return None
        return self.source.TABLES.get(self.role)


@dataclass
class Plan:
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def loading(self) -> list[Entry]:
        return [e for e in self.entries if e.status == LOAD]

    def sources(self, registry: Sequence[Source]) -> list[Source]:
        present = {id(e.source) for e in self.loading()}
        return [s for s in registry if id(s) in present]

    def materialise(self, registry: Sequence[Source], scratch: Path
                    ) -> dict[Source, list[SourceFile]]:
        """The files to load, on local disk, by source in load order (downloads and
        decompression happen here)."""
        found: dict[int, list[SourceFile]] = {}
        for entry in self.loading():
            assert entry.source is not None and entry.role is not None
            path = entry.tree.local(entry.info, size=entry.info.size or None, md5=entry.md5)
            if entry.gzip:
                path = _gunzip(path, entry.uri, scratch)
            found.setdefault(id(entry.source), []).append(SourceFile(
                path=path, role=entry.role, uri=entry.uri, component=entry.dataset,
                version=entry.version, release=entry.release,
                md5=None if entry.gzip else entry.md5))
        return {s: found[id(s)] for s in registry if id(s) in found}

    def summary(self) -> list[str]:
        """What the build will do, in a few lines (the not-loaded files grouped)."""
        counts = Counter(e.status for e in self.entries)
        lines = [f"found {len(self.entries):,} file(s): {counts[LOAD]:,} to load"
                 + "".join(f", {counts[s]:,} {s}" for s in (SKIPPED, NOT_LOADED, IGNORED)
                           if counts[s])]
        by_kind = Counter(f"{e.kind} ({e.table})" for e in self.loading())
        if by_kind:
            lines.append("  load: " + ", ".join(f"{k} x{n}" if n > 1 else k
                                                for k, n in by_kind.items()))
        for entry in self.entries:
            if entry.status == MANIFEST and entry.reason == READ:
                lines.append(f"  ABC release {entry.release} ({entry.uri})")
        for entry in self.entries:
            if entry.status == SKIPPED:
                lines.append(f"  skipped: {entry.uri}: {entry.reason}")
        groups = Counter(_group(e) for e in self.entries if e.status == NOT_LOADED)
        for group, n in sorted(groups.items()):
            lines.append(f"  not loaded: {group} ({n} file{'s' * (n != 1)})")
        return lines + [f"  note: {note}" for note in self.notes]


def _group(entry: Entry) -> str:
    if entry.dataset:
        return f"{entry.dataset}: {entry.reason}"
    return entry.reason or "unknown"


def _gunzip(path: Path, uri: str, scratch: Path) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{len(list(scratch.iterdir())):04d}-{path.name.removesuffix('.gz')}"
    try:
        with gzip.open(path, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, 8 << 20)
    except (OSError, EOFError) as error:
        target.unlink(missing_ok=True)
        raise DataError(f"cannot decompress it ({error})", file=uri,
                        hint="the gzip file is damaged or truncated: download it again") from None
    return target


# ------------------------------------------------------------------------------ planning

def _identify(registry: Sequence[Source], probe: Probe) -> tuple[Source, str] | None:
    for source in registry:
        role = source.identify(probe)
        if role:
            return source, role
    return None


def claimed_by(registry: Sequence[Source], place) -> tuple[Source, str] | None:
    """The source (and role) that claims a file at this ABC place, if any."""
    for source in registry:
        for pattern, role in source.ABC_FILES.items():
            if abc_release.claims([pattern], place):
                return source, role
    return None


def _named(registry: Sequence[Source], name: str) -> tuple[Source, str] | None:
    lowered = name.lower()
    for source in registry:
        for pattern, role in source.NAMES.items():
            if fnmatch.fnmatchcase(lowered, pattern.lower()):
                return source, role
    return None


def _abc_datasets(registry: Sequence[Source]) -> set[tuple[str, str]]:
    """(top, dataset) pairs some source loads files of."""
    return {tuple(pattern.split("/")[:2]) for s in registry for pattern in s.ABC_FILES}


def _full(tree: Tree, info: FileInfo) -> str:
    """The path used to find a file's ABC place: the whole path, so a location inside a
    layout (`.../metadata/WMB-10X/20241115/`) keeps its dataset and version."""
    if tree.is_file:
        return info.uri.split("://", 1)[-1].lstrip("/")
    base = tree.uri.split("://", 1)[-1].rstrip("/").lstrip("/")
    return f"{base}/{info.relative}"


def plan(trees: Sequence[Tree], registry: Sequence[Source], *,
         wanted: Sequence[Source] | None = None, release: str | None = None) -> Plan:
    """What to do with every file under `trees`.

    `registry` is every source in load order; `wanted` the ones this command loads (`brainwh
    ingest KIND`), all when None. `release` picks an ABC release. A file named on the command
    line (a tree that is one file) that would not be loaded is an error saying what it is.
    """
    wanted_ids = {id(s) for s in (wanted if wanted is not None else registry)}
    result = Plan()
    seen: set[str] = set()
    for tree in trees:
        _plan_tree(tree, registry, wanted_ids, release, result, seen)
    if release and not any(e.status == MANIFEST for e in result.entries):
        abc_release.choose([], wanted=release, loaded=lambda f: False, on_disk=set(),
                           where=", ".join(tree.uri for tree in trees))
    return result


def _plan_tree(tree: Tree, registry: Sequence[Source], wanted_ids: set[int],
               release: str | None, result: Plan, seen: set[str]) -> None:
    infos = [info for info in tree.files() if info.uri not in seen]
    seen.update(info.uri for info in infos)
    probes = {}
    for info in infos:
        full = _full(tree, info)
        probes[info.uri] = Probe(PurePosixPath(info.relative), info.size,
                                 abc_release.place(full), read_head=partial(tree.head, info))
    loaded_datasets = _abc_datasets(registry)
    roots: dict[str, list[FileInfo]] = {}
    manifests: dict[str, list[abc_release.Manifest]] = {}
    for info in infos:
        full = _full(tree, info)
        root = abc_release.manifest_root(full)
        if root is not None and not info.problem:
            manifest = abc_release.parse(tree.read(info.relative), uri=info.uri)
            manifests.setdefault(root, []).append(manifest)
        place = probes[info.uri].abc
        if place is not None:
            roots.setdefault(place.root, []).append(info)
    choices: dict[str, abc_release.Choice] = {}
    for root in sorted(set(roots) | set(manifests)):
        claimed = {}
        for info in roots.get(root, []):
            place = probes[info.uri].abc
            match = claimed_by(registry, place)
            if match and id(match[0]) in wanted_ids and not info.problem:
                claimed[place.relative] = info

        def loaded(listed: abc_release.ListedFile) -> bool:
            where = listed.where
            match = claimed_by(registry, where) if where else None
            return bool(match) and id(match[0]) in wanted_ids

        where_text = _root_uri(tree, root)
        choice = abc_release.choose(manifests.get(root, []), wanted=release, loaded=loaded,
                                    on_disk=set(claimed), where=where_text)
        if tree.complete_releases and choice.manifest is not None:
            _check_complete(tree, root, choice.manifest, loaded, set(claimed))
        choices[root] = choice
        result.notes.extend(choice.notes)
    newest = _newest_versions(infos, probes, registry)
    for info in infos:
        entry = _entry(tree, info, probes[info.uri], registry, wanted_ids, choices, newest,
                       loaded_datasets)
        if tree.is_file and entry.status not in (LOAD, MANIFEST):
            _refuse_explicit(entry, probes[info.uri], registry)
        result.entries.append(entry)


def _check_complete(tree: Tree, root: str, manifest: abc_release.Manifest, loaded,
                    present: set[str]) -> None:
    """At a published release, a listed file brainwh loads must be there."""
    for listed in manifest.files:
        if loaded(listed) and listed.relative_path not in present:
            base = _root_uri(tree, root).rstrip("/")
            raise DataError("the manifest lists this file but it is not there",
                            file=f"{base}/{listed.relative_path}",
                            hint=f"check {manifest.uri} against the bucket, or use an older "
                            "release (--release)")


def _root_uri(tree: Tree, root: str) -> str:
    if "://" in tree.uri:
        scheme = tree.uri.split("://", 1)[0]
        return f"{scheme}://{root}" if root else tree.uri
    return "/" + root if root else tree.uri


def _newest_versions(infos, probes, registry) -> dict[tuple[str, str, str], str]:
    """(root, top, dataset) -> its newest version folder (used where no manifest chooses)."""
    newest: dict[tuple[str, str, str], str] = {}
    for info in infos:
        place = probes[info.uri].abc
        if place is None or place.version is None or not claimed_by(registry, place):
            continue
        key = (place.root, place.top, place.dataset)
        newest[key] = max(newest.get(key, place.version), place.version)
    return newest


def _entry(tree: Tree, info: FileInfo, probe: Probe, registry: Sequence[Source],
           wanted_ids: set[int], choices: dict[str, abc_release.Choice],
           newest: dict[tuple[str, str, str], str], loaded_datasets: set) -> Entry:
    entry = Entry(tree=tree, info=info, status=IGNORED)
    place = probe.abc
    if info.problem:
        if PurePosixPath(info.relative).suffix.lower() in PEEKED - {".txt"}:
            raise DataError(f"cannot read it: {info.problem}", file=info.uri,
                            hint="fix or remove it (brainwh reads every .csv, .json, .parquet, "
                            ".zip and .h5 file under the folders given), or point at a folder "
                            "without it")
        entry.reason = f"cannot be read: {info.problem}"
        return entry
    if abc_release.manifest_root(_full(tree, info)) is not None:
        entry.status = MANIFEST
        full = _full(tree, info)
        chosen = choices.get(abc_release.manifest_root(full) or "")
        this = abc_release.release_of(full)
        entry.release = this
        entry.reason = (READ if chosen and chosen.manifest and chosen.manifest.release == this
                        else "another release (not read)")
        return entry
    if place is not None:
        entry.dataset, entry.version = place.dataset, place.version
        match = claimed_by(registry, place)
        if match is None:
            if (place.top, place.dataset) in loaded_datasets:
                entry.status, entry.reason = NOT_LOADED, "no loader for this file yet"
            else:
                entry.status, entry.reason = NOT_LOADED, _unloaded_dataset(place)
            return entry
        source, role = match
        entry.source, entry.role = source, role
        if id(source) not in wanted_ids:
            entry.reason = f"a {source.KIND} file (not asked for: brainwh ingest {source.KIND})"
            return entry
        choice = choices.get(place.root)
        if choice is not None and choice.manifest is not None:
            listed = choice.manifest.by_path().get(place.relative)
            if listed is None:
                version = choice.manifest.version_of(place.dataset, place.top)
                entry.status = SKIPPED
                entry.reason = (f"not in ABC release {choice.manifest.release}"
                                + (f", which has {place.dataset} {version}" if version else ""))
                return entry
            entry.release, entry.md5 = choice.manifest.release, listed.md5
        elif place.version != newest.get((place.root, place.top, place.dataset)):
            entry.status = SKIPPED
            entry.reason = (f"an older version of {place.dataset}; "
                            f"{newest[(place.root, place.top, place.dataset)]} is loaded")
            return entry
        entry.status = LOAD
        entry.gzip = probe.is_gzip
        return entry
    match = _identify(registry, probe)
    if match is not None:
        source, role = match
        entry.source, entry.role = source, role
        if id(source) not in wanted_ids:
            entry.reason = f"a {source.KIND} file (not asked for: brainwh ingest {source.KIND})"
            return entry
        entry.status, entry.gzip = LOAD, probe.is_gzip
        return entry
    what = known.describe(probe)
    if what:
        entry.status, entry.reason = NOT_LOADED, what
        return entry
    named = _named(registry, probe.name)
    if named is not None and id(named[0]) in wanted_ids:
        # Allen's own name, content not recognised: its loader says what is wrong with it
        entry.source, entry.role = named
        entry.status, entry.gzip = LOAD, probe.is_gzip
        return entry
    entry.reason = "not an Allen source file brainwh recognises"
    return entry


def _unloaded_dataset(place) -> str:
    if place.top == "metadata":
        return "a dataset brainwh has no loader for yet"
    return {"expression_matrices": "expression matrices (h5ad): not loaded",
            "image_volumes": "image volumes: not loaded",
            "mapmycells": "MapMyCells files: no loader for these yet"}.get(
        place.top, "not loaded")


def _refuse_explicit(entry: Entry, probe: Probe, registry: Sequence[Source]) -> None:
    if entry.source is not None:
        raise UsageError(f"{entry.uri} is {entry.reason}",
                         hint=f"load it with: brainwh ingest {entry.kind} {entry.uri}")
    what = known.describe(probe)
    names = sorted({name for s in registry for name in s.NAMES if "*" not in name})
    raise DataError(
        "not a file this source knows" + (f": it looks like {what}" if what else ""),
        file=entry.uri,
        hint="brainwh sources PATH shows what each file is recognised as"
        + (f"; files it reads include {', '.join(names)}" if names else ""))
