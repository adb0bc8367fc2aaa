"""brainwh: a local analytical warehouse for Allen Institute brain-atlas data."""

__version__ = "0.1.0"
