"""What `brainwh fetch` downloads, from where, into which folder of the cache.

    <cache>/abc/releases/<R>/manifest.json     ABC Atlas release R: its manifest, and the files
    <cache>/abc/metadata/WMB-.../<v>/...        brainwh loads (WMB-10X metadata, WMB-taxonomy)
    <cache>/ontology/structure_graph_download/1.json, 10.json     mouse and human ontologies
    <cache>/ahba/normalized_microarray_donor<uid>.zip             the six AHBA donors
    <cache>/cell_types/cells.json, ephys_features.json, morphology_features.json
                                               Cell Types Database tables (RMA, paged)
    <cache>/ish/SectionDataSet.json, StructureUnionize/<batch>/<start>.json, grids/<id>.zip,
        P56_Mouse_gridAnnotation.zip           Allen Mouse Brain Atlas ISH
                                               (`ingest.mouse_ish.cache_layout`)

`brainwh build <cache>` then reads the folder as it reads any other. The URLs are Allen's
(`Endpoints`); tests point them at a local server.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest import abc_release, discovery, registry
from ingest.mouse_ish import cache_layout
from warehouse import progress
from warehouse.errors import DataError, UsageError
from warehouse.fetch import rma
from warehouse.fetch.downloads import DEFAULT_RETRY, Retry, download, fetch_text, save


@dataclass(frozen=True)
class Endpoints:
    abc: str = "https://allen-brain-cell-atlas.s3.us-west-2.amazonaws.com"
    api: str = "https://api.brain-map.org"
    ahba: str = "https://human.brain-map.org"
    download: str = "http://download.alleninstitute.org"  # atlas volumes (AllenSDK's URL)


# AHBA donor uid -> its zip's well_known_file id (abagen's WELL_KNOWN_IDS; DATA_FORMATS §3.1)
AHBA_ZIPS = {9861: 178238387, 10021: 178238373, 12876: 178238359, 14380: 178238316,
             15496: 178238266, 15697: 178236545}
GRAPHS = (1, 10)  # adult mouse, adult human (AHBA)
CELL_TYPES_MODELS = (  # model, file, order
    ("ApiCellTypesSpecimenDetail", "cells.json", "specimen__id"),
    ("EphysFeature", "ephys_features.json", "id"),
    ("NeuronReconstruction", "morphology_features.json", "id"),
)


@dataclass(frozen=True)
class Request:
    cache: Path
    endpoints: Endpoints
    release: str | None = None
    retry: Retry = DEFAULT_RETRY
    genes: tuple[str, ...] = ()  # ish: only these genes' experiments (Allen's symbols)
    grids: str = "all"  # ish: which experiments' grids: all, coronal or none


def newest_release(endpoints: Endpoints, retry: Retry) -> str:
    """The newest `releases/<YYYYMMDD>/` in the bucket (an S3 ListObjectsV2 listing)."""
    url = f"{endpoints.abc.rstrip('/')}/?list-type=2&prefix=releases/&delimiter=/"
    body = fetch_text(url, retry=retry)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise DataError(f"the bucket listing is not XML ({error})", file=url,
                        hint="name the release: brainwh fetch abc --release YYYYMMDD") from None
    names = {(e.text or "").strip("/").rsplit("/", 1)[-1] for e in root.iter()
             if e.tag.endswith("Prefix")}
    releases = sorted(n for n in names if abc_release.RELEASE.match(n))
    if not releases:
        raise DataError("no releases/<YYYYMMDD>/ in the bucket listing", file=url,
                        hint="name the release: brainwh fetch abc --release YYYYMMDD")
    return releases[-1]


def fetch_abc(request: Request) -> Path:
    base = request.endpoints.abc.rstrip("/")
    release = request.release or newest_release(request.endpoints, request.retry)
    url = f"{base}/releases/{release}/manifest.json"
    text = fetch_text(url, retry=request.retry)
    manifest = abc_release.parse(text, uri=url)
    folder = request.cache / "abc"
    wanted = [f for f in manifest.files
              if f.where and discovery.claimed_by(registry.SOURCES, f.where)]
    progress.note(f"ABC release {release}: {len(wanted)} of {len(manifest.files)} listed files "
                  "are ones brainwh loads")
    for listed in wanted:
        download(f"{base}/{listed.relative_path}", folder / listed.relative_path,
                 size=listed.size, md5=listed.md5, retry=request.retry)
    save(folder / "releases" / release / "manifest.json", text, url)
    return folder


def fetch_ontology(request: Request) -> Path:
    folder = request.cache / "ontology" / "structure_graph_download"
    for graph in GRAPHS:
        download(f"{request.endpoints.api.rstrip('/')}/api/v2/structure_graph_download/"
                 f"{graph}.json", folder / f"{graph}.json", retry=request.retry)
    return folder.parent


def fetch_ahba(request: Request) -> Path:
    folder = request.cache / "ahba"
    for uid, file_id in AHBA_ZIPS.items():
        download(f"{request.endpoints.ahba.rstrip('/')}/api/v2/well_known_file_download/"
                 f"{file_id}", folder / f"normalized_microarray_donor{uid}.zip",
                 retry=request.retry)
    return folder


def fetch_cell_types(request: Request) -> Path:
    folder = request.cache / "cell_types"
    for model, name, order in CELL_TYPES_MODELS:
        rma.fetch_model(request.endpoints.api, model, folder / name, order=order,
                        retry=request.retry)
    return folder


# the Mouse Brain atlas's ISH experiments (product 1); rma::include,genes nests each gene
ISH_EXPERIMENTS = "products[id$eq1],treatments[name$eqISH]"
ISH_GRID_CHOICES = ("all", "coronal", "none")


def _gene_criteria(genes: tuple[str, ...]) -> str:
    return "genes[acronym$in" + ",".join("'" + g.replace("'", "") + "'" for g in genes) + "]"


def fetch_ish(request: Request) -> Path:
    """The experiments (with their genes), their unionizes, grids and the grid annotation;
    and the mouse ontology they need."""
    api = request.endpoints.api.rstrip("/")
    folder = request.cache / "ish"
    download(f"{api}/api/v2/structure_graph_download/1.json",
             request.cache / "ontology" / "structure_graph_download" / "1.json",
             retry=request.retry)
    criteria, name = ISH_EXPERIMENTS, "SectionDataSet.json"
    if request.genes:
        criteria += "," + _gene_criteria(request.genes)
        name = f"SectionDataSet-{cache_layout.selection(request.genes)}.json"
    target = rma.fetch_model(api, "SectionDataSet", folder / name, criteria=criteria,
                             include="genes", retry=request.retry)
    rows = json.loads(target.read_text())
    if request.genes:
        found = {g.get("acronym") for r in rows for g in r.get("genes") or []}
        missing = [g for g in request.genes if g not in found]
        if missing:
            raise UsageError(f"no Mouse Brain ISH experiment for {', '.join(missing)}",
                             hint="gene symbols are Allen's, case-sensitive (Pvalb, Drd1a); "
                             "the experiments of the others are fetched")
    progress.note(f"ISH: {len(rows):,} experiment(s); fetching their StructureUnionize rows")
    for batch in cache_layout.batches([int(r["id"]) for r in rows]):
        rma.fetch_pages(api, "StructureUnionize",
                        folder / "StructureUnionize" / cache_layout.batch_folder(batch),
                        criteria=f"section_data_set[id$in{','.join(map(str, batch))}],"
                                 "structure[graph_id$eq1]",
                        retry=request.retry, name=cache_layout.page_name)
    with_grids = sorted(int(r["id"]) for r in rows if not r.get("failed") and (
        request.grids == "all" or (request.grids == "coronal"
                                   and r.get("plane_of_section_id") == 1)))
    if request.grids != "none":
        progress.note(f"ISH: {len(with_grids):,} expression grid(s)")
    for experiment in with_grids if request.grids != "none" else []:
        download(f"{api}/grid_data/download/{experiment}?include=energy",
                 folder / "grids" / f"{experiment}.zip", retry=request.retry)
    download(f"{request.endpoints.download.rstrip('/')}/informatics-archive/current-release/"
             f"mouse_annotation/{cache_layout.ANNOTATION_FILE}",
             folder / cache_layout.ANNOTATION_FILE, retry=request.retry)
    return folder


FETCHERS: dict[str, tuple[Callable[[Request], Path], str]] = {
    "abc": (fetch_abc, "ABC Atlas WMB cell metadata, taxonomy, genes and MapMyCells "
                       "statistics of a release (~2.4 GB, 1.4 GB of it the statistics)"),
    "ontology": (fetch_ontology, "mouse (graph 1) and human (graph 10) structure ontologies"),
    "ahba": (fetch_ahba, "Allen Human Brain Atlas microarray, six donor zips (~4 GB)"),
    "ephys": (fetch_cell_types, "Cell Types Database specimens, ephys and morphology "
              "features (RMA API)"),
    "ish": (fetch_ish, "Allen Mouse Brain Atlas ISH: experiments, structure unionizes (RMA "
            "API), 3-D expression grids (~10 GB for all ~26,000) and the grid annotation"),
}


def fetch(names: list[str], request: Request) -> list[Path]:
    chosen = list(FETCHERS) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in FETCHERS]
    if unknown:
        raise UsageError(f"unknown source(s) {', '.join(unknown)}",
                         hint="sources: " + ", ".join([*FETCHERS, "all"]))
    if request.release and "abc" not in chosen:
        raise UsageError("--release applies to the abc source", hint="add abc, or drop it")
    if (request.genes or request.grids != "all") and "ish" not in chosen:
        raise UsageError("--genes and --grids apply to the ish source", hint="add ish, or drop "
                         "them")
    folders = []
    for name in chosen:
        progress.note(f"fetching {name}: {FETCHERS[name][1]}")
        folders.append(FETCHERS[name][0](request))
    return folders
