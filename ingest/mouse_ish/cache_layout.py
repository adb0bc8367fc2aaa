"""Where `brainwh fetch ish` puts the Allen Mouse Brain Atlas files (and the sample release
writes them the same way):

    ish/SectionDataSet.json                    the experiments with their genes (a JSON list)
    ish/StructureUnionize/<first>-<last>-<hash>/<start_row>.json
                                               unionize pages (RMA envelopes, 2,000 rows each)
                                               of a batch of experiments: first and last id, and
                                               a hash of all its ids
    ish/grids/<SectionDataSet id>.zip          energy grids (grid_data/download/<id>)
    ish/P56_Mouse_gridAnnotation.zip           the grid annotation

A fetch limited to some genes (`--genes`) writes `SectionDataSet-<selection>.json` instead, so
fetches of different genes sit side by side; a build reads them all (a repeated experiment or
row is loaded once).
"""

from __future__ import annotations

import hashlib

UNIONIZE_BATCH = 50  # experiments per StructureUnionize query: ~60,000 rows, ~30 pages
ANNOTATION_FILE = "P56_Mouse_gridAnnotation.zip"


def batches(experiment_ids: list[int]) -> list[list[int]]:
    ids = sorted(set(experiment_ids))
    return [ids[k:k + UNIONIZE_BATCH] for k in range(0, len(ids), UNIONIZE_BATCH)]


def batch_folder(batch: list[int]) -> str:
    digest = hashlib.sha1(",".join(map(str, batch)).encode()).hexdigest()[:8]
    return f"{batch[0]}-{batch[-1]}-{digest}"


def selection(genes: tuple[str, ...] | list[str]) -> str:
    """The name a fetch of some genes gives its SectionDataSet file: the genes, or a hash."""
    names = sorted(set(genes))
    text = "_".join(names)
    if len(names) <= 3 and len(text) <= 40 and text.replace("_", "").isalnum():
        return text
    return f"{len(names)}genes-" + hashlib.sha1(",".join(names).encode()).hexdigest()[:8]


def page_name(start_row: int) -> str:
    return f"{start_row:08d}.json"
