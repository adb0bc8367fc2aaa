"""The parts of the `expression` source (ingest/expression.py): the MapMyCells precomputed
statistics file, WMB-10X gene.csv, the marker lookup, and what is derived from them."""
