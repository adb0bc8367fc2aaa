"""Progress on stderr, only when stderr is a terminal (so logs and pipes stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm


def enabled() -> bool:
    return sys.stderr.isatty()


@contextmanager
def bar(description: str, total: int | None = None, unit: str = "rows") -> Iterator[tqdm]:
    """A progress bar: `unit="B"` shows bytes with MB/s; otherwise counts."""
    scale = unit == "B"
    with tqdm(
        total=total,
        desc=description,
        unit=unit,
        unit_scale=scale,
        unit_divisor=1024 if scale else 1000,
        disable=not enabled(),
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    ) as progress:
        yield progress


def note(message: str) -> None:
    """A message for the user: always on stderr, never on stdout (stdout is data)."""
    print(message, file=sys.stderr, flush=True)
