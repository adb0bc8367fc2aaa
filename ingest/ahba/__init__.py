"""Allen Human Brain Atlas microarray: the parts of `ingest.microarray`.

`schema` (tables), `donors` (donor folders and zips), `metadata` (Probes.csv, SampleAnnot.csv),
`matrix` (MicroarrayExpression.csv, PACall.csv), `loader` (the per-donor pipeline), `derive`
(gene-level statistics per structure, regional means, markers), `tdist` (Student t, BH).
"""
