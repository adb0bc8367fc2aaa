"""A hand-made ABC release with MERFISH cells in the CCF whose spatial answers are known exactly.

It extends the hand-made 10x release (`tests.helpers.write_hand_made_release`: ontology,
taxonomy, 10x cells in MOp, STRd and MO-FRP) with the real Allen-CCF-2020 terms of nine
parcellations (volumes chosen here) and MERFISH cells placed in them: substructures counted in
their structures and divisions, both hemispheres, a cell outside the brain (index 0), a cell of
a cluster the taxonomy lacks (alias 999) and a cell without coordinates.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.helpers import write_csv, write_hand_made_release

MERFISH = Path("metadata") / "MERFISH-C57BL6J-638850" / "20241115"
CCF = Path("metadata") / "MERFISH-C57BL6J-638850-CCF" / "20231215"
PARCELLATION = Path("metadata") / "Allen-CCF-2020" / "20230630"

# structure id -> volume (mm³, both hemispheres) of the parcellations used
VOLUMES = {0: 697.783214, 997: 3.56432, 821: 0.5, 778: 0.6, 407: 0.3, 10703: 0.25, 632: 0.2,
           672: 25.0, 56: 4.0}
LEFT, RIGHT = 4.0, 7.5  # z_ccf (left-right, midline 5.7)
# (structure id of the parcellation, cluster alias, z_ccf, cells)
CELLS = [
    (821, 5, LEFT, 3), (821, 5, RIGHT, 1),                          # VISp2/3: L2/3 IT
    (778, 5, LEFT, 1), (778, 5, RIGHT, 1), (778, 34380, RIGHT, 1),  # VISp5
    (407, 34380, LEFT, 2), (407, 34380, RIGHT, 1),                  # CA1sp: Oligo
    (10703, 34380, LEFT, 1),                                        # DG-mo
    (632, 5, LEFT, 1), (632, 5, RIGHT, 1),                          # DG-sg
    (672, 128, LEFT, 3), (672, 128, RIGHT, 2),                      # CP: D1
    (672, 3000, LEFT, 2), (672, 3000, RIGHT, 1),                    # CP: D2
    (672, 999, LEFT, 1),                                            # CP: a cluster not in taxonomy
    (56, 128, RIGHT, 1), (56, 3000, LEFT, 1),                       # ACB
    (997, 34380, LEFT, 1),                                          # brain, unassigned
    (0, 34380, RIGHT, 1),                                           # outside the brain
]
WITHOUT_COORDINATES = 1  # one more cell (alias 5) in the metadata only

METADATA_HEADER = ["cell_label", "brain_section_label", "cluster_alias",
                   "average_correlation_score", "feature_matrix_label", "donor_label",
                   "donor_genotype", "donor_sex", "x", "y", "z", "abc_sample_id"]
COORDINATES_HEADER = ["cell_label", "x", "y", "z", "parcellation_index"]


def write_parcellation(folder: Path) -> None:
    from ingest.sample.parcellation import real_parcellations, write_tables

    chosen = [dataclasses.replace(p, voxels=round(VOLUMES[p.structure_id] * 1e6))
              for p in real_parcellations() if p.structure_id in VOLUMES]
    assert len(chosen) == len(VOLUMES)
    write_tables(folder, chosen)


def merfish_rows() -> tuple[list[list], list[list], list[list]]:
    """(metadata, ccf, reconstructed) rows, in different orders as the real files are."""
    from ingest.sample.parcellation import parcellation_index

    metadata, ccf, reconstructed = [], [], []
    n = 0
    for structure_id, alias, z_ccf, count in CELLS:
        for _ in range(count):
            n += 1
            label = f"10191719071023{n:05d}" + ("-1" if n % 4 == 0 else "")
            section = 30 + n % 5
            z_section = round(0.2 * section, 1)
            metadata.append([label, f"C57BL6J-638850.{section:02d}", alias,
                             0.5 + n / 100, "C57BL6J-638850", "C57BL6J-638850", "wt/wt", "M",
                             round(z_ccf - 0.2, 6), 4.0 + n / 10, z_section,
                             f"c9881423-76a7-4835-ba8b-7942fd38{n:04d}"])
            index = parcellation_index(structure_id)
            ccf.append([label, round(12.9 - 0.86 * z_section, 6), 3.0 + n / 10, z_ccf, index])
            reconstructed.append([label, round(z_ccf - 0.15, 6), 4.1 + n / 10, z_section,
                                  index])
    for _ in range(WITHOUT_COORDINATES):
        n += 1
        metadata.append([f"10191719071023{n:05d}", "C57BL6J-638850.31", 5, 0.7,
                         "C57BL6J-638850", "C57BL6J-638850", "wt/wt", "M", 5.0, 5.0, 6.2,
                         f"c9881423-76a7-4835-ba8b-7942fd38{n:04d}"])
    return metadata[::-1], ccf, sorted(reconstructed, key=lambda row: row[0])


def write_merfish(root: Path, rows=None) -> None:
    metadata, ccf, reconstructed = rows or merfish_rows()
    write_csv(root / MERFISH / "cell_metadata.csv", METADATA_HEADER, metadata)
    write_csv(root / CCF / "ccf_coordinates.csv", COORDINATES_HEADER, ccf)
    write_csv(root / CCF / "reconstructed_coordinates.csv", COORDINATES_HEADER, reconstructed)


def write_spatial_release(root: Path) -> Path:
    write_hand_made_release(root)
    write_parcellation(root / PARCELLATION)
    write_merfish(root)
    return root
