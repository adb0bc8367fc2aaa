"""Files brainwh recognises but does not load (yet): named in `brainwh sources` and in the build
summary as "not loaded", so a user sees that they were seen, and why they are left out.
"""

from __future__ import annotations

from ingest.probe import Probe

# suffix -> what it is (files named by their format alone)
_BY_SUFFIX = {
    ".h5ad": "an AnnData expression matrix (cells x genes)",
    ".nwb": "an electrophysiology recording (NWB)",
    ".swc": "a neuron reconstruction (SWC)",
    ".nrrd": "an image volume (NRRD)",
    ".nii": "an image volume (NIfTI)",
    ".mhd": "an image volume header (MetaImage)",
    ".raw": "raw voxel data",
    ".tif": "an image", ".tiff": "an image", ".png": "an image", ".jpg": "an image",
    ".xlsx": "a spreadsheet",
    ".obj": "a mesh",
    ".ipynb": "a notebook",
    ".md": "a text document", ".txt": "a text document", ".pdf": "a document",
    ".py": "a program", ".sh": "a script",
}


def describe(probe: Probe) -> str | None:
    """What `probe` is, when it is a known Allen or tool file that brainwh does not load."""
    name, keys = probe.name, probe.json_keys
    if probe.has_columns("RNAseq_sample_name") or (
            probe.folder.lower().startswith("rnaseq") and name in (
                "SampleAnnot.csv", "Genes.csv", "RNAseqCounts.csv", "RNAseqTPM.csv",
                "Ontology.csv")) or name in ("RNAseqCounts.csv", "RNAseqTPM.csv"):
        return "Allen Human Brain Atlas RNA-seq (no loader yet; the microarray is loaded)"
    if name in ("_manifest_last_used.txt", "_downloaded_data.json"):
        return "abc_atlas_access's cache bookkeeping"
    if name == "Contents.txt":
        return "the AHBA donor zip's description of its files"
    if "manifest" in keys and ("key" in keys or "spec" in keys):
        return "an AllenSDK cache manifest (the SDK's own bookkeeping)"
    if probe.has_columns("region_of_interest_label", "structure_identifier") or \
            name == "region_of_interest_structure_map.csv":
        return "a human (WHB) dissection-region map to the developing human ontology"
    row = probe.first_row
    dataset = row.get("dataset_label") or row.get("feature_matrix_label") or ""
    if probe.has_columns("cell_label") and dataset and not dataset.startswith("WMB-"):
        return f"the cells of ABC dataset {dataset} (brainwh loads WMB-10X's)"
    label = row.get("label") or row.get("cluster_annotation_term_label") or ""
    if (probe.has_columns("cluster_alias") or probe.has_columns(
            "cluster_annotation_term_set_label")) and label and not label.startswith(
            ("CS20230722", "CS20230305", "CCN20230722", "CCN20230504")):
        return "a taxonomy file of another ABC dataset (brainwh loads the WMB taxonomy)"
    if probe.is_hdf5:
        return "an HDF5 file (no loader recognises its content)"
    if probe.is_gzip and probe.suffix in (".nii",):
        return "an image volume (NIfTI)"
    lowered = name.lower()
    for suffix, what in _BY_SUFFIX.items():
        if lowered.endswith(suffix) or lowered.endswith(suffix + ".gz"):
            return what
    return None
