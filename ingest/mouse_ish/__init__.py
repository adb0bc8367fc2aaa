"""The Allen Mouse Brain Atlas (ISH) source, in parts: see `ingest.ish` for the overview."""
