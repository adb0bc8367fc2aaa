"""Donor folders and zips: which files belong to which donor, and the donors' facts.

Allen ships one `normalized_microarray_donor<uid>.zip` per donor, unpacked into a folder of the
same name. Either is accepted; the donor is the number in the name. Zip members are extracted
to a temporary folder when needed (the matrices one donor at a time) and removed after use.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ingest.base import SourceFile
from warehouse.errors import DataError

FILES = {"expression": "MicroarrayExpression.csv", "pacall": "PACall.csv",
         "probes": "Probes.csv", "sample_annot": "SampleAnnot.csv"}
ONTOLOGY = "Ontology.csv"
DONOR_NUMBER = re.compile(r"donor[_-]?(\d+)", re.IGNORECASE)
ZIP_NAME = re.compile(r"^normalized_microarray_donor\d+\.zip$", re.IGNORECASE)


def donor_facts() -> dict[int, dict[str, str]]:
    """The six AHBA donors (abagen's donor_info.csv): uid -> row."""
    path = resources.files("ingest") / "data" / "ahba_donor_info.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {int(row["uid"]): row for row in csv.DictReader(handle)}


@dataclass
class Donor:
    uid: int
    origin: str  # the folder or zip, as found
    files: dict[str, SourceFile] = field(default_factory=dict)
    archive: Path | None = None  # the zip, when the files come from one
    members: dict[str, str] = field(default_factory=dict)  # role -> zip member name
    scratch: Path | None = None

    @property
    def label(self) -> str:
        facts = donor_facts().get(self.uid)
        return f"donor {self.uid}" + (f" ({facts['donor']})" if facts else "")

    def size(self, role: str) -> int:
        if self.archive is not None:
            with zipfile.ZipFile(self.archive) as archive:
                return archive.getinfo(self.members[role]).file_size
        return self.files[role].path.stat().st_size

    def local(self, role: str) -> SourceFile:
        """The file on local disk (extracted from the zip until `release`)."""
        if role not in self.files:
            self.files[role] = _extract(self, role)
        return self.files[role]

    def release(self, role: str) -> None:
        """Remove an extracted copy (files in donor folders are left alone)."""
        if self.archive is not None and role in self.files:
            self.files.pop(role).path.unlink(missing_ok=True)


def _extract(donor: Donor, role: str) -> SourceFile:
    assert donor.archive is not None and donor.scratch is not None
    member = donor.members[role]
    target = donor.scratch / f"{donor.uid}-{Path(member).name}"
    try:
        with zipfile.ZipFile(donor.archive) as archive, archive.open(member) as src, \
                open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 << 20)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        target.unlink(missing_ok=True)
        raise DataError(f"{donor.label}: cannot extract {member} ({error})",
                        file=str(donor.archive), hint="download the zip again") from error
    return SourceFile(path=target, role=role, uri=f"{donor.archive}!/{member}")


def _uid(name: str, where: str) -> int:
    match = DONOR_NUMBER.search(name)
    if not match:
        raise DataError("cannot tell which AHBA donor these files belong to: the folder name "
                        "has no donor number", file=where,
                        hint="keep Allen's names: normalized_microarray_donor<uid>/ or .zip")
    return int(match.group(1))


def _zip_donor(source: SourceFile, scratch: Path) -> tuple[Donor, SourceFile | None]:
    label = source.origin
    try:
        with zipfile.ZipFile(source.path) as archive:
            names = {Path(n).name: n for n in archive.namelist() if not n.endswith("/")}
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"not a readable zip file ({error})", file=label,
                        hint="download the donor's zip again") from error
    donor = Donor(_uid(source.path.name, label), label, archive=source.path, scratch=scratch)
    for role, name in FILES.items():
        if name not in names:
            raise DataError(f"{donor.label}: the zip has no {name}", file=label,
                            hint="download the donor's zip again")
        donor.members[role] = names[name]
    for role in ("probes", "sample_annot"):  # small: extracted once, kept for the load
        donor.files[role] = _extract(donor, role)
    ontology = None
    if ONTOLOGY in names:
        target = scratch / f"{donor.uid}-{ONTOLOGY}"
        with zipfile.ZipFile(source.path) as archive, archive.open(names[ONTOLOGY]) as src, \
                open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        ontology = SourceFile(path=target, role="ahba_ontology",
                              uri=f"{source.path}!/{names[ONTOLOGY]}")
    return donor, ontology


@contextmanager
def find(sources: list[SourceFile]) -> Iterator[tuple[list[Donor], list[SourceFile]]]:
    """(donors, ontology files found inside zips); zips are read through a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="brainwh-ahba-") as tmp:
        scratch = Path(tmp)
        folders: dict[Path, Donor] = {}
        donors: list[Donor] = []
        ontologies: list[SourceFile] = []
        for source in sources:
            if source.role == "donor_zip":
                donor, ontology = _zip_donor(source, scratch)
                donors.append(donor)
                if ontology is not None:
                    ontologies.append(ontology)
                continue
            folder = source.path.parent
            if folder not in folders:
                folders[folder] = Donor(_uid(folder.name, str(folder)), str(folder))
                donors.append(folders[folder])
            folders[folder].files[source.role] = source
        for donor in donors:
            missing = [FILES[r] for r in FILES if r not in donor.files and r not in donor.members]
            if missing:
                raise DataError(f"{donor.label}: {', '.join(missing)} missing from the folder",
                                file=donor.origin,
                                hint="a donor folder holds MicroarrayExpression.csv, PACall.csv, "
                                "Probes.csv, SampleAnnot.csv and Ontology.csv: unpack the "
                                "donor's zip again")
        seen: dict[int, Donor] = {}
        for donor in donors:
            if donor.uid in seen:
                raise DataError(f"{donor.label} appears twice: {seen[donor.uid].origin} and "
                                f"{donor.origin}", file=donor.origin,
                                hint="load each donor once (the folder or its zip)")
            seen[donor.uid] = donor
        yield sorted(donors, key=lambda d: -d.size("expression")), ontologies
