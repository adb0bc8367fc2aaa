"""One module per Allen source format: readers with validation, and sample generators."""
