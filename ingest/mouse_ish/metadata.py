"""SectionDataSet (experiments, with their nested genes) and Gene results -> `ish_experiments`,
`ish_genes`.

A SectionDataSet is one gene x one brain x one plane. The Mouse Brain atlas (product 1) holds
the adult (P56) experiments: reference space 9 (coronal) or 10 (sagittal). Rows of another
atlas (the Developing Mouse Brain's, whose structures are graph 17) are reported and skipped.
Experiments Allen's QC failed are kept (`is_failed`) and left out of every view. The same
experiment in two pages (overlapping downloads) is loaded once; two different rows with one id
are an error naming both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from ingest.base import SourceFile
from ingest.mouse_ish import rma
from ingest.mouse_ish.schema import ADULT_REFERENCE_SPACES, PLANES
from warehouse.errors import DataError

EXPERIMENT_HINT = ("a SectionDataSet row needs id, plane_of_section_id and failed (the "
                   "API's model::SectionDataSet with rma::include,genes; brainwh fetch ish "
                   "saves it so)")
GENE_HINT = "a Gene row needs id and acronym (the API's model::Gene; brainwh fetch ish saves it)"
GENE_FIELDS = ("gene_id", "gene_symbol", "gene_name", "entrez_id", "ensembl_id", "homologene_id",
               "chromosome_id", "organism_id", "alias_tags", "original_symbol")


@dataclass
class Experiment:
    experiment_id: int
    gene_ids: list[int]
    plane: str
    is_failed: bool
    specimen_id: int | None
    reference_space_id: int | None
    section_thickness: float | None
    qc_date: dt.datetime | None
    is_expression: bool | None
    storage_directory: str | None
    where: str
    signature: tuple = field(repr=False, default=())


@dataclass
class Metadata:
    experiments: dict[int, Experiment] = field(default_factory=dict)
    genes: dict[int, dict] = field(default_factory=dict)
    gene_where: dict[int, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # developing-mouse and other atlases
    repeated: int = 0  # identical rows seen twice (overlapping pages)
    without_gene: list[int] = field(default_factory=list)
    several_genes: list[int] = field(default_factory=list)
    rows_by_file: dict[str, int] = field(default_factory=dict)


def _place(row: rma.Row) -> str:
    return f"{row.label}, {row.path}" if row.path else f"{row.label}, line {row.line}"


def read_gene(row: rma.Row, metadata: Metadata) -> int:
    gene_id = row.integer("id", required=True, hint=GENE_HINT)
    symbol = row.text("acronym")
    if not symbol:
        raise row.error("acronym is empty", "acronym", hint=GENE_HINT)
    gene = {"gene_id": gene_id, "gene_symbol": symbol, "gene_name": row.text("name"),
            "entrez_id": row.integer("entrez_id", hint=GENE_HINT),
            "ensembl_id": row.text("ensembl_id") or row.text("legacy_ensembl_gene_id"),
            "homologene_id": row.integer("homologene_id", hint=GENE_HINT),
            "chromosome_id": row.integer("chromosome_id", hint=GENE_HINT),
            "organism_id": row.integer("organism_id", hint=GENE_HINT),
            "alias_tags": row.text("alias_tags"),
            "original_symbol": row.text("original_symbol")}
    known = metadata.genes.get(gene_id)
    if known is not None:
        if known["gene_symbol"] != symbol:
            raise row.error(f"gene {gene_id} is {symbol!r} here but "
                            f"{known['gene_symbol']!r} at {metadata.gene_where[gene_id]}",
                            "acronym", hint="load files of one download (brainwh fetch ish)")
        for key, value in gene.items():  # a fuller record (model::Gene) fills in the gaps
            if known.get(key) is None:
                known[key] = value
        return gene_id
    metadata.genes[gene_id] = gene
    metadata.gene_where[gene_id] = _place(row)
    return gene_id


def _plane(row: rma.Row) -> str | None:
    plane_id = row.integer("plane_of_section_id", hint=EXPERIMENT_HINT)
    if plane_id is None:
        nested = row.get("plane_of_section")
        if isinstance(nested, dict) and nested.get("name") in PLANES.values():
            return str(nested["name"])
        raise row.error("plane_of_section_id is missing", "plane_of_section_id",
                        hint=EXPERIMENT_HINT)
    return PLANES.get(plane_id)


def _genes_of(row: rma.Row, metadata: Metadata) -> list[int] | None:
    """The ids of the row's nested genes; None when the row has no `genes` (not included)."""
    if row.line is not None:  # CSV: flat gene columns
        gene_id = row.integer("gene_id", hint=EXPERIMENT_HINT) if "gene_id" in row.values \
            else row.integer("genes.id", hint=EXPERIMENT_HINT)
        symbol = row.text("gene_symbol") or row.text("gene_acronym") or row.text("genes.acronym")
        if gene_id is None:
            return None
        if symbol:
            read_gene(rma.Row({"id": gene_id, "acronym": symbol,
                               "entrez_id": row.get("entrez_id") or row.get("genes.entrez_id"),
                               "name": row.get("gene_name") or row.get("genes.name")},
                              row.label, line=row.line), metadata)
        return [gene_id]
    nested = row.get("genes")
    if nested is None:
        return None
    if not isinstance(nested, list):
        raise row.error("expected a list of genes", "genes", hint=EXPERIMENT_HINT)
    ids = []
    for index, item in enumerate(nested):
        if not isinstance(item, dict):
            raise row.error("expected a gene object", f"genes[{index}]", hint=EXPERIMENT_HINT)
        ids.append(read_gene(rma.Row(item, row.label, path=f"{row.path}.genes[{index}]"),
                             metadata))
    return ids


def read_experiment(row: rma.Row, metadata: Metadata) -> None:
    experiment_id = row.integer("id", required=True, hint=EXPERIMENT_HINT)
    space = row.integer("reference_space_id", hint=EXPERIMENT_HINT)
    products = row.get("products")
    product_ids = {p.get("id") for p in products if isinstance(p, dict)} \
        if isinstance(products, list) else set()
    if (space is not None and space not in ADULT_REFERENCE_SPACES) or (
            product_ids and 1 not in product_ids):
        metadata.skipped.append(f"{experiment_id} ({_place(row)}: reference space {space})")
        return
    plane = _plane(row)
    if plane is None:
        raise row.error(f"plane_of_section_id {row.get('plane_of_section_id')!r} is neither 1 "
                        "(coronal) nor 2 (sagittal)", "plane_of_section_id",
                        hint="the Mouse Brain atlas has coronal and sagittal experiments only")
    if space is not None and ADULT_REFERENCE_SPACES[space] != plane:
        raise row.error(f"reference space {space} is {ADULT_REFERENCE_SPACES[space]}, but "
                        f"plane_of_section_id says {plane}", "reference_space_id",
                        hint="the row is inconsistent: download it again")
    failed = row.boolean("failed", required=True, hint=EXPERIMENT_HINT)
    genes = _genes_of(row, metadata)
    qc_text = row.text("qc_date")
    qc_date = None
    if qc_text:
        try:
            qc_date = dt.datetime.fromisoformat(qc_text.replace("Z", "+00:00"))
        except ValueError:
            raise row.error(f"expected a date and time, found {qc_text!r}", "qc_date",
                            hint="dates are ISO 8601, e.g. 2009-05-02T22:48:46Z") from None
    experiment = Experiment(
        experiment_id=experiment_id, gene_ids=genes or [], plane=plane, is_failed=bool(failed),
        specimen_id=row.integer("specimen_id", hint=EXPERIMENT_HINT),
        reference_space_id=space,
        section_thickness=row.number("section_thickness", hint=EXPERIMENT_HINT),
        qc_date=qc_date, is_expression=row.boolean("expression", hint=EXPERIMENT_HINT),
        storage_directory=row.text("storage_directory"), where=_place(row))
    experiment.signature = (tuple(experiment.gene_ids), plane, experiment.is_failed,
                            experiment.specimen_id, space)
    known = metadata.experiments.get(experiment_id)
    if known is not None:
        if known.signature != experiment.signature or (genes is None and known.gene_ids):
            raise row.error(f"experiment {experiment_id} appears twice with different values "
                            f"(also at {known.where})", "id",
                            hint="load the files of one download (brainwh fetch ish)")
        metadata.repeated += 1
        return
    if genes is not None and not genes:
        metadata.without_gene.append(experiment_id)
    if genes is not None and len(genes) > 1:
        metadata.several_genes.append(experiment_id)
    metadata.experiments[experiment_id] = experiment


def read(sources: list[SourceFile], genes: list[SourceFile]) -> Metadata:
    metadata = Metadata()
    for source in genes:
        count = 0
        for row in rma.rows(source.path, source.origin, hint=GENE_HINT):
            read_gene(row, metadata)
            count += 1
        metadata.rows_by_file[source.origin] = count
    for source in sources:
        count = 0
        for row in rma.rows(source.path, source.origin, hint=EXPERIMENT_HINT):
            read_experiment(row, metadata)
            count += 1
        metadata.rows_by_file[source.origin] = count
    for experiment in metadata.experiments.values():
        for gene_id in experiment.gene_ids:
            if gene_id not in metadata.genes:  # CSV rows with a gene id only
                raise DataError(f"experiment {experiment.experiment_id}'s gene {gene_id} is in "
                                "no Gene file", file=experiment.where.split(", ")[0],
                                hint="load the model::Gene result with it, or SectionDataSets "
                                "with rma::include,genes")
    return metadata


def experiments_table(metadata: Metadata) -> pa.Table:
    rows = []
    for experiment in sorted(metadata.experiments.values(), key=lambda e: e.experiment_id):
        for gene_id in experiment.gene_ids or [None]:
            rows.append((experiment, gene_id))
    genes = metadata.genes
    return pa.table({
        "experiment_id": pa.array([e.experiment_id for e, _ in rows], pa.int64()),
        "gene_id": pa.array([g for _, g in rows], pa.int64()),
        "gene_symbol": pa.array([genes[g]["gene_symbol"] if g is not None else None
                                 for _, g in rows], pa.string()),
        "plane": pa.array([e.plane for e, _ in rows], pa.string()),
        "is_failed": pa.array([e.is_failed for e, _ in rows], pa.bool_()),
        "specimen_id": pa.array([e.specimen_id for e, _ in rows], pa.int64()),
        "reference_space_id": pa.array([e.reference_space_id for e, _ in rows], pa.int32()),
        "section_thickness": pa.array([e.section_thickness for e, _ in rows], pa.float64()),
        "qc_date": pa.array([_utc(e.qc_date) for e, _ in rows], pa.timestamp("us")),
        "is_expression": pa.array([e.is_expression for e, _ in rows], pa.bool_()),
        "storage_directory": pa.array([e.storage_directory for e, _ in rows], pa.string()),
    })


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def genes_table(metadata: Metadata) -> pa.Table:
    genes = sorted(metadata.genes.values(), key=lambda g: g["gene_id"])
    types = {"gene_id": pa.int64(), "entrez_id": pa.int64(), "homologene_id": pa.int64(),
             "chromosome_id": pa.int64(), "organism_id": pa.int32()}
    return pa.table({name: pa.array([g[name] for g in genes], types.get(name, pa.string()))
                     for name in GENE_FIELDS})
