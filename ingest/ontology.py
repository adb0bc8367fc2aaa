"""Allen structure ontologies → `structures`, `structure_ancestors`.

Formats: the nested `structure_graph_download/<graph>.json` (RMA envelope, `msg` holds the root
with `children`), the flat `model::Structure` query as CSV or JSON (with `structure_id_path`),
and AHBA's per-donor `Ontology.csv` (human graph 10). The closure is built from
`structure_id_path`, never from parent ids (third-party copies wrap or drop them); the parent id,
when given, must agree with the path.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest import jsonfile
from ingest.base import Report, SourceFile, check_md5, log_file, read_header
from ingest.probe import Probe
from warehouse.errors import DataError

KIND = "ontology"
GRAPH_SPECIES = {1: "mouse", 17: "mouse", 10: "human", 16: "human"}
AHBA_GRAPH = 10
STRUCTURES_DDL = """
create table if not exists structures (
    structure_id bigint not null,
    species varchar not null,          -- mouse | human
    graph_id integer not null,         -- 1 adult mouse, 10 adult human (AHBA)
    acronym varchar not null,          -- unique within a species, not across species
    name varchar,
    parent_structure_id bigint,        -- from the path: the second-to-last id
    depth integer not null,            -- ids in the path minus one; root 0
    graph_order integer,
    structure_id_path varchar not null,-- /997/8/567/.../self/
    color_hex_triplet varchar,         -- RRGGBB, no '#'
    hemisphere varchar,                -- AHBA: L, R or null (both)
    primary key (species, structure_id)
)
"""
ANCESTORS_DDL = """
create table if not exists structure_ancestors (
    species varchar not null,
    structure_id bigint not null,
    ancestor_id bigint not null,
    distance integer not null          -- 0 = itself, 1 = parent, ...
)
"""
DDL = (STRUCTURES_DDL, ANCESTORS_DDL)
TABLES = {"ahba_ontology": "structures", "ontology_flat": "structures",
          "ontology_nested": "structures", "ontology_json": "structures"}
ABC_FILES: dict[str, str] = {}
NAMES = {"Ontology.csv": "ahba_ontology", "*structure*.csv": "ontology_flat",
         "*structure*.json": "ontology_json"}


@dataclass
class Node:
    structure_id: int
    acronym: str
    name: str | None
    parent_id: int | None
    path: list[int]
    graph_order: int | None
    color: str | None
    hemisphere: str | None
    where: str  # "line 12" or "msg[0].children[3]"
    line: int | None


def identify(probe: Probe) -> str | None:
    """An ontology by content, under any name: a CSV with id, acronym and structure_id_path
    (AHBA's Ontology.csv also has hemisphere), or JSON whose objects have them (the RMA
    `model::Structure` query, `structure_graph_download/<graph>.json` saved as `1.json`,
    AllenSDK's and BrainGlobe's `structures.json`)."""
    if probe.has_keys("section_data_set_id") or probe.has_keys("plane_of_section_id"):
        return None  # ISH results whose rows include their structures (ingest.ish)
    if probe.has_columns("id", "acronym", "structure_id_path"):
        return "ahba_ontology" if "hemisphere" in probe.header else "ontology_flat"
    if probe.has_keys("id", "acronym") and (
            probe.has_keys("structure_id_path") or probe.has_keys("children")):
        return "ontology_nested" if probe.has_keys("children") else "ontology_json"
    return None


def derive(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    """Nothing: the closure is built at load."""


# ------------------------------------------------------------------------ readers

def _int(value, *, label: str, where: str, line: int | None, column: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            as_float = None
        if as_float is not None and as_float.is_integer():
            return int(as_float)
        raise DataError(f"expected a whole number, found {value!r}", file=label, line=line,
                        column=column if line else f"{where}.{column}",
                        hint="structure ids are integers") from None


def _parse_path(text, *, label: str, line: int | None, where: str) -> list[int] | None:
    if text is None or str(text).strip() in ("", "/"):
        return None
    if isinstance(text, list):
        parts = text
    else:
        parts = [p for p in str(text).strip().split("/") if p != ""]
    ids = []
    for part in parts:
        value = _int(part, label=label, where=where, line=line, column="structure_id_path")
        ids.append(value)
    return ids


def _color(value, rgb=None) -> str | None:
    """RRGGBB from Allen's `color_hex_triplet`, else from the `rgb_triplet` [r, g, b] that
    AllenSDK's and BrainGlobe's structures.json carry instead."""
    if value not in (None, ""):
        return str(value).lstrip("#").upper()
    if isinstance(rgb, list | tuple) and len(rgb) == 3 and all(
            isinstance(c, int) and 0 <= c <= 255 for c in rgb):
        return "".join(f"{c:02X}" for c in rgb)
    return None


def read_flat_csv(path: Path, label: str) -> tuple[list[Node], list[str]]:
    header = read_header(path, label=label)
    required = ["id", "acronym", "structure_id_path"]
    from ingest.base import require_columns

    require_columns(header, required, label=label, what="structure ontology CSV")
    nodes: list[Node] = []
    skipped: list[str] = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            for index, row in enumerate(reader):
                line = index + 2
                if None in row or any(v is None for v in row.values()):
                    raise DataError(f"expected {len(header)} fields, found a different number",
                                    file=label, line=line,
                                    hint="the file may be truncated: download it again")
                node = _node_from_mapping(row, label=label, where=f"line {line}", line=line)
                if node is None:
                    skipped.append(f"{row.get('acronym') or row.get('id')} (line {line})")
                    continue
                nodes.append(node)
        except UnicodeDecodeError as error:
            raise DataError("not valid UTF-8 text", file=label,
                            hint="Allen files are UTF-8: re-save the file as UTF-8") from error
        except csv.Error as error:
            raise DataError(f"not valid CSV ({error})", file=label, line=reader.line_num,
                            hint="download the file again") from error
    return nodes, skipped


def _node_from_mapping(row: dict, *, label: str, where: str, line: int | None) -> Node | None:
    structure_id = _int(row.get("id"), label=label, where=where, line=line, column="id")
    path = _parse_path(row.get("structure_id_path"), label=label, line=line, where=where)
    if path is None:
        return None  # iblatlas' synthetic `void` and other path-less rows: skipped with a note
    if structure_id is None:
        raise DataError("id is empty", file=label, line=line,
                        column="id" if line else f"{where}.id", hint="every structure needs an id")
    acronym = row.get("acronym")
    if acronym is None or str(acronym) == "":
        raise DataError("acronym is empty", file=label, line=line,
                        column="acronym" if line else f"{where}.acronym",
                        hint="every structure needs an acronym")
    parent = _int(row.get("parent_structure_id"), label=label, where=where, line=line,
                  column="parent_structure_id")
    order = _int(row.get("graph_order"), label=label, where=where, line=line,
                 column="graph_order")
    # AHBA's Ontology.csv says L, R or blank; the graph JSON's hemisphere_id 1 left, 2 right,
    # 3 both (the same convention as ProjectionStructureUnionize)
    hemisphere = row.get("hemisphere") or {1: "L", 2: "R"}.get(row.get("hemisphere_id"))
    return Node(structure_id, str(acronym), row.get("name"), parent, path, order,
                _color(row.get("color_hex_triplet"), row.get("rgb_triplet")), hemisphere, where,
                line)


def _load_json(path: Path, label: str):
    return jsonfile.read_document(path, label)


def _envelope_rows(document, label: str) -> tuple[list, str]:
    if isinstance(document, dict):
        if document.get("success") is False:
            raise DataError(f"the API response reports failure: {document.get('msg')!r}",
                            file=label, hint="download the ontology again")
        if "msg" not in document:
            raise DataError("expected an RMA envelope with a 'msg' list", file=label,
                            column="$.msg", hint="use the structure_graph_download JSON "
                            "or a model::Structure query result")
        return document["msg"], "msg"
    if isinstance(document, list):
        return document, "$"
    raise DataError("expected a JSON object or list", file=label, hint="download it again")


def read_nested_json(path: Path, label: str) -> tuple[list[Node], list[str], int | None]:
    rows, base = _envelope_rows(_load_json(path, label), label)
    nodes: list[Node] = []
    graph_ids: set[int] = set()

    def walk(item, where: str, parent_path: list[int], seen: set[int]) -> None:
        if not isinstance(item, dict):
            raise DataError("expected a structure object", file=label, column=where,
                            hint="download the ontology again")
        structure_id = _int(item.get("id"), label=label, where=where, line=None, column="id")
        if structure_id is None:
            raise DataError("id is missing", file=label, column=f"{where}.id",
                            hint="every structure needs an id")
        if structure_id in seen:
            raise DataError(f"cycle: structure {structure_id} ({item.get('acronym')}) is its "
                            "own ancestor", file=label, column=where,
                            hint="the ontology is corrupt: download it again")
        if item.get("graph_id") is not None:
            graph_ids.add(int(item["graph_id"]))
        path_ids = parent_path + [structure_id]
        given = _parse_path(item.get("structure_id_path"), label=label, line=None, where=where)
        if given is not None and given != path_ids:
            raise DataError(f"structure_id_path {item.get('structure_id_path')} disagrees with "
                            f"the nesting {_path_text(path_ids)}", file=label,
                            column=f"{where}.structure_id_path", hint="download it again")
        mapping = dict(item)
        mapping["structure_id_path"] = path_ids
        node = _node_from_mapping(mapping, label=label, where=where, line=None)
        if node is not None:
            nodes.append(node)
        children = item.get("children") or []
        if not isinstance(children, list):
            raise DataError("expected a list of children", file=label,
                            column=f"{where}.children", hint="download it again")
        for index, child in enumerate(children):
            walk(child, f"{where}.children[{index}]", path_ids, seen | {structure_id})

    for index, root in enumerate(rows):
        walk(root, f"{base}[{index}]", [], set())
    return nodes, [], (graph_ids.pop() if len(graph_ids) == 1 else None)


def read_flat_json(path: Path, label: str) -> tuple[list[Node], list[str], int | None]:
    rows, base = _envelope_rows(_load_json(path, label), label)
    if rows and isinstance(rows[0], dict) and "children" in rows[0]:
        return read_nested_json(path, label)
    nodes, skipped, graphs = [], [], set()
    for index, row in enumerate(rows):
        where = f"{base}[{index}]"
        if not isinstance(row, dict):
            raise DataError("expected a structure object", file=label, column=where,
                            hint="download the ontology again")
        if row.get("graph_id") is not None:
            graphs.add(int(row["graph_id"]))
        node = _node_from_mapping(row, label=label, where=where, line=None)
        if node is None:
            skipped.append(f"{row.get('acronym') or row.get('id')} ({where})")
        else:
            nodes.append(node)
    return nodes, skipped, (graphs.pop() if len(graphs) == 1 else None)


def _path_text(ids: list[int]) -> str:
    return "/" + "/".join(str(i) for i in ids) + "/"


# ----------------------------------------------------------------------- validation

def validate(nodes: list[Node], *, label: str) -> None:
    """Duplicate ids and acronyms, cycles, paths that disagree with ids, parents or each other."""
    by_id: dict[int, Node] = {}
    # AHBA's left and right twins share an acronym (MTG-i, left and right): the key includes
    # the hemisphere, which is blank for every mouse structure
    by_acronym: dict[tuple[str, str], Node] = {}
    for node in nodes:
        where = dict(file=label, line=node.line, column=None if node.line else node.where)
        if node.structure_id in by_id:
            first = by_id[node.structure_id]
            raise DataError(f"duplicate structure id {node.structure_id} ({node.acronym}; also "
                            f"at {first.where})", **where,
                            hint="each structure appears once in an ontology")
        by_id[node.structure_id] = node
        acronym_key = (node.acronym, node.hemisphere or "")
        if acronym_key in by_acronym:
            first = by_acronym[acronym_key]
            raise DataError(f"duplicate acronym {node.acronym!r} (structures {first.structure_id}"
                            f" and {node.structure_id})", **where,
                            hint="acronyms are unique within one species' ontology (AHBA: "
                            "within one hemisphere)")
        by_acronym[acronym_key] = node
        if len(set(node.path)) != len(node.path):
            raise DataError(f"cycle: structure {node.structure_id} ({node.acronym}) has path "
                            f"{_path_text(node.path)}, which repeats an id", **where,
                            hint="the ontology is corrupt: download it again")
        if node.path[-1] != node.structure_id:
            raise DataError(f"structure {node.structure_id} ({node.acronym}): structure_id_path "
                            f"{_path_text(node.path)} does not end with its own id", **where,
                            hint="the path runs from the root to the structure itself")
        path_parent = node.path[-2] if len(node.path) > 1 else None
        if node.parent_id is not None and node.parent_id != path_parent:
            raise DataError(f"structure {node.structure_id} ({node.acronym}): parent "
                            f"{node.parent_id} disagrees with structure_id_path "
                            f"{_path_text(node.path)}", **where,
                            hint="the ontology is inconsistent: download it again")
    for node in nodes:
        if len(node.path) < 2:
            continue
        parent = by_id.get(node.path[-2])
        where = dict(file=label, line=node.line, column=None if node.line else node.where)
        if parent is None:
            raise DataError(f"structure {node.structure_id} ({node.acronym}): parent "
                            f"{node.path[-2]} is not in the file", **where,
                            hint="load the whole ontology, not a part of it")
        if parent.path != node.path[:-1]:
            if node.structure_id in parent.path:
                raise DataError(f"cycle: structure {node.structure_id} ({node.acronym}) is an "
                                f"ancestor of its own parent {parent.structure_id} "
                                f"({parent.acronym})", **where,
                                hint="the ontology is corrupt: download it again")
            raise DataError(f"structure {node.structure_id} ({node.acronym}): path "
                            f"{_path_text(node.path)} disagrees with its parent's "
                            f"{_path_text(parent.path)}", **where,
                            hint="the ontology is inconsistent: download it again")


# ------------------------------------------------------------------------ loading

def read(source: SourceFile) -> tuple[list[Node], list[str], int]:
    """Nodes, skipped rows, graph id."""
    label = source.origin
    graph: int | None = None
    if source.role == "ahba_ontology":
        nodes, skipped = read_flat_csv(source.path, label)
        graph = AHBA_GRAPH
    elif source.role == "ontology_flat":
        nodes, skipped = read_flat_csv(source.path, label)
        graph = _graph_from_csv(source.path)
    elif source.role == "ontology_nested":
        nodes, skipped, graph = read_nested_json(source.path, label)
        if graph is None and source.path.stem.isdigit():
            graph = int(source.path.stem)
    else:
        nodes, skipped, graph = read_flat_json(source.path, label)
    if not nodes:
        raise DataError("no structures in the file", file=label,
                        hint="download the ontology again")
    if graph is None:
        graph = 1
    if graph not in GRAPH_SPECIES:
        raise DataError(f"graph {graph} is not a supported ontology (1 mouse, 10 human)",
                        file=label, hint="load graph 1 (mouse) or graph 10 (human)")
    validate(nodes, label=label)
    return nodes, skipped, graph


def _graph_from_csv(path: Path) -> int | None:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        graphs = {row.get("graph_id") for row in csv.DictReader(handle)} - {None, ""}
    return int(graphs.pop()) if len(graphs) == 1 else None


def _arrow(nodes: list[Node], species: str, graph: int) -> tuple[pa.Table, pa.Table]:
    structures = pa.table({
        "structure_id": [n.structure_id for n in nodes],
        "species": [species] * len(nodes),
        "graph_id": [graph] * len(nodes),
        "acronym": [n.acronym for n in nodes],
        "name": [n.name for n in nodes],
        "parent_structure_id": [n.path[-2] if len(n.path) > 1 else None for n in nodes],
        "depth": [len(n.path) - 1 for n in nodes],
        "graph_order": [n.graph_order for n in nodes],
        "structure_id_path": [_path_text(n.path) for n in nodes],
        "color_hex_triplet": [n.color for n in nodes],
        "hemisphere": [n.hemisphere for n in nodes],
    })
    pairs = [(n.structure_id, a, len(n.path) - 1 - i) for n in nodes for i, a in enumerate(n.path)]
    ancestors = pa.table({
        "species": [species] * len(pairs),
        "structure_id": [p[0] for p in pairs],
        "ancestor_id": [p[1] for p in pairs],
        "distance": [p[2] for p in pairs],
    })
    return structures, ancestors


def load(con: duckdb.DuckDBPyConnection, sources: list[SourceFile], report: Report) -> None:
    for statement in DDL:
        con.execute(statement)
    loaded_graphs: dict[int, tuple[str, str]] = {}  # graph -> (md5, origin)
    for source in sources:
        md5 = check_md5(source)
        copy_of = next((origin for m, origin in loaded_graphs.values() if m == md5), None)
        if copy_of is not None:  # AHBA ships the same Ontology.csv in every donor folder
            (rows,) = con.execute("select count(*) from structures where species = 'human'"
                                  ).fetchone() if source.role == "ahba_ontology" else (0,)
            log_file(con, source, kind=KIND, table="structures", rows=rows, md5=md5,
                     scope=_species_of(source, loaded_graphs, md5),
                     notes=[f"identical to {copy_of}: loaded once"])
            continue
        nodes, skipped, graph = read(source)
        species = GRAPH_SPECIES[graph]
        if graph in loaded_graphs and loaded_graphs[graph][0] != md5:
            raise DataError(f"a second, different ontology for graph {graph} in the same load",
                            file=source.origin, hint=f"load one file per graph; the first was "
                            f"{loaded_graphs[graph][1]}")
        loaded_graphs[graph] = (md5, source.origin)
        notes = []
        if skipped:
            notes.append(f"skipped {len(skipped)} row(s) without a structure_id_path: "
                         + ", ".join(skipped[:5]))
            report.note(f"{source.origin}: {notes[-1]}")
        structures, ancestors = _arrow(nodes, species, graph)
        con.execute("delete from structure_ancestors where species = ?", [species])
        con.execute("delete from structures where species = ?", [species])
        con.register("_structures_in", structures)
        con.register("_ancestors_in", ancestors)
        con.execute("insert into structures by name select * from _structures_in")
        con.execute("insert into structure_ancestors by name select * from _ancestors_in")
        con.unregister("_structures_in")
        con.unregister("_ancestors_in")
        log_file(con, source, kind=KIND, table="structures", rows=len(nodes), md5=md5,
                 notes=notes, scope=species)



def _species_of(source: SourceFile, loaded: dict[int, tuple[str, str]], md5: str) -> str:
    graph = next(g for g, (m, _origin) in loaded.items() if m == md5)
    return GRAPH_SPECIES[graph]
