"""The 200 um volumes as Allen's zips hold them: an experiment's expression grid
(`grid_data/download/<SectionDataSet.id>?include=energy` -> `energy.mhd` + `energy.raw`) and the
atlas's grid annotation (`P56_Mouse_gridAnnotation.zip` -> `gridAnnotation.mhd` + `.raw`).

MetaImage: a text header (`DimSize = 67 41 58`, `ElementType = MET_FLOAT`, little-endian, raw
file named by `ElementDataFile`) and the raw voxels, x (AP) fastest. Energy is float32 with -1
for "no data"; the annotation is uint32 structure ids, 0 outside the brain.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ingest.mouse_ish.schema import GRID_SHAPE, GRID_SPACING_UM, GRID_VOXELS
from warehouse.errors import DataError

ELEMENT_TYPES = {"MET_FLOAT": "<f4", "MET_UINT": "<u4", "MET_INT": "<i4"}
GRID_HINT = ("an expression grid is the zip the API returns for "
             "grid_data/download/<SectionDataSet id>?include=energy, saved as <id>.zip "
             "(brainwh fetch ish)")
ANNOTATION_HINT = ("the grid annotation is P56_Mouse_gridAnnotation.zip from Allen's "
                   "mouse_annotation downloads (brainwh fetch ish saves it)")
_ID_IN_XML = re.compile(rb"<section-data-set>.*?<id>(\d+)</id>", re.DOTALL)
_TOKENS = re.compile(r"[^A-Za-z0-9]+")


@dataclass
class Volume:
    values: np.ndarray  # flat, voxel index order (ap + 67 * (dv + 41 * ml))
    label: str  # file (and member) for messages
    experiment_id: int | None = None
    others: tuple[str, ...] = ()  # other volumes in the zip, not loaded


def voxel_of(index: int) -> tuple[int, int, int]:
    """(ap, dv, ml) of a raw voxel index."""
    ap = index % GRID_SHAPE[0]
    dv = (index // GRID_SHAPE[0]) % GRID_SHAPE[1]
    return ap, dv, index // (GRID_SHAPE[0] * GRID_SHAPE[1])


def _members(archive: zipfile.ZipFile) -> dict[str, str]:
    """basename -> member name (the volumes may sit in a folder inside the zip)."""
    found = {}
    for name in archive.namelist():
        if not name.endswith("/"):
            found.setdefault(PurePosixPath(name).name, name)
    return found


def _header(text: str, label: str, hint: str) -> dict[str, str]:
    fields = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise DataError(f"expected 'Key = value', found {line.strip()!r}", file=label,
                            line=number, hint=hint)
        key, value = line.split("=", 1)
        fields[key.strip()] = value.strip()
    return fields


def _check_header(fields: dict[str, str], label: str, element: str, raw_name: str,
                  hint: str) -> str:
    def expect(key: str, wanted: str, what: str) -> None:
        if fields.get(key) is None:
            raise DataError(f"{key} is missing", file=label, column=key, hint=hint)
        if " ".join(fields[key].split()) != wanted:
            raise DataError(f"expected {what} ({key} = {wanted}), found {fields[key]!r}",
                            file=label, column=key, hint=hint)

    expect("NDims", "3", "a 3-D volume")
    expect("DimSize", " ".join(map(str, GRID_SHAPE)), "the 200 um grid, 67 x 41 x 58 voxels")
    if "ElementSpacing" in fields:
        expect("ElementSpacing", f"{GRID_SPACING_UM} {GRID_SPACING_UM} {GRID_SPACING_UM}",
               "200 um voxels")
    expect("ElementType", element, "its element type")
    msb = fields.get("BinaryDataByteOrderMSB", fields.get("ElementByteOrderMSB", "False"))
    if msb.lower() != "false":
        raise DataError(f"expected little-endian data, found BinaryDataByteOrderMSB = {msb}",
                        file=label, column="BinaryDataByteOrderMSB", hint=hint)
    if fields.get("CompressedData", "False").lower() != "false":
        raise DataError("compressed MetaImage data is not supported", file=label,
                        column="CompressedData", hint=hint)
    data_file = fields.get("ElementDataFile")
    if data_file is None:
        raise DataError("ElementDataFile is missing", file=label, column="ElementDataFile",
                        hint=hint)
    if PurePosixPath(data_file).name != raw_name:
        raise DataError(f"expected ElementDataFile = {raw_name}, found {data_file!r}",
                        file=label, column="ElementDataFile", hint=hint)
    return ELEMENT_TYPES[element]


def read_member_volume(path: Path, origin: str, stem: str, element: str, hint: str
                       ) -> tuple[np.ndarray, dict[str, str], tuple[str, ...]]:
    """`<stem>.mhd` + `<stem>.raw` of a zip: the flat voxels, the member names, the others."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"not a readable zip file ({error})", file=origin,
                        hint="the download may be cut short: fetch it again") from None
    with archive:
        members = _members(archive)
        for needed in (f"{stem}.mhd", f"{stem}.raw"):
            if needed not in members:
                raise DataError(f"the zip has no {needed} (it holds "
                                f"{', '.join(sorted(members)) or 'nothing'})", file=origin,
                                hint=hint)
        try:
            header_text = archive.read(members[f"{stem}.mhd"]).decode("ascii", "replace")
            raw = archive.read(members[f"{stem}.raw"])
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DataError(f"cannot read the zip's members ({error})", file=origin,
                            hint="the download may be cut short: fetch it again") from None
        header_label = f"{origin}!{stem}.mhd"
        dtype = _check_header(_header(header_text, header_label, hint), header_label, element,
                              f"{stem}.raw", hint)
        if len(raw) != GRID_VOXELS * 4:
            raise DataError(f"expected {GRID_VOXELS * 4:,} bytes (67 x 41 x 58 voxels of 4 "
                            f"bytes), found {len(raw):,}", file=f"{origin}!{stem}.raw",
                            hint="the file is cut short or another volume: fetch it again")
        others = tuple(sorted(name for name in members
                              if name not in (f"{stem}.mhd", f"{stem}.raw")))
        xml = archive.read(members["data_set.xml"]) if "data_set.xml" in members else None
    values = np.frombuffer(raw, dtype=dtype)
    return values, {"xml": xml} if xml else {}, others


def experiment_of_name(name: str) -> int | None:
    """The SectionDataSet id a grid zip's name carries: `<id>.zip`, or the one all-digit part
    of names like `Nrp1_P56_coronal_74272479_200um.zip`."""
    stem = name[:-4] if name.lower().endswith(".zip") else name
    digits = [token for token in _TOKENS.split(stem) if token.isdigit()]
    return int(digits[0]) if len(digits) == 1 else None


def grid_experiment(path: Path, origin: str) -> int:
    """The SectionDataSet id of a grid zip: from its name, else its data_set.xml."""
    by_name = experiment_of_name(PurePosixPath(origin).name)
    by_xml = None
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive)
            if "data_set.xml" in members:
                match = _ID_IN_XML.search(archive.read(members["data_set.xml"]))
                by_xml = int(match.group(1)) if match else None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"not a readable zip file ({error})", file=origin,
                        hint="the download may be cut short: fetch it again") from None
    if by_name is not None and by_xml is not None and by_name != by_xml:
        raise DataError(f"the name says experiment {by_name} but its data_set.xml says "
                        f"{by_xml}", file=origin, hint="rename the file <SectionDataSet id>.zip")
    experiment = by_name if by_name is not None else by_xml
    if experiment is None:
        raise DataError("cannot tell which experiment this grid is: its name carries no "
                        "SectionDataSet id and it has no data_set.xml", file=origin,
                        hint="name it <SectionDataSet id>.zip, as brainwh fetch ish does")
    return experiment


def read_grid(path: Path, origin: str, experiment: int | None = None) -> Volume:
    values, _extra, others = read_member_volume(path, origin, "energy", "MET_FLOAT", GRID_HINT)
    label = f"{origin}!energy.raw"
    bad = ~(np.isfinite(values) & ((values >= 0) | (values == -1)))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        ap, dv, ml = voxel_of(index)
        raise DataError(f"voxel (ap {ap}, dv {dv}, ml {ml}) has energy {float(values[index])!r}: "
                        "expected 0 or more, or -1 for no data", file=label,
                        hint="the grid is damaged: fetch it again")
    if experiment is None:
        experiment = grid_experiment(path, origin)
    return Volume(values.astype(np.float32, copy=False), label, experiment,
                  tuple(o for o in others if o != "data_set.xml"))


def read_annotation(path: Path, origin: str) -> Volume:
    try:
        values, _extra, _others = read_member_volume(path, origin, "gridAnnotation", "MET_UINT",
                                                     ANNOTATION_HINT)
    except DataError as error:
        if "found 'MET_INT'" not in str(error):
            raise
        values, _extra, _others = read_member_volume(path, origin, "gridAnnotation",
                                                     "MET_INT", ANNOTATION_HINT)
        if (values < 0).any():
            raise DataError("negative structure ids in the annotation",
                            file=f"{origin}!gridAnnotation.raw", hint=ANNOTATION_HINT) from None
    return Volume(values.astype(np.int64), f"{origin}!gridAnnotation.raw")
