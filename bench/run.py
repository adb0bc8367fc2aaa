"""`make bench`: performance figures and ratios against baselines measured in the same run.

Not a test: nothing here asserts a time. Each suite in SUITES prints its figures; targets are
printed next to them. Data is generated at --scale full under bench/data (reused when present).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

# each module has run(workdir: Path, args) -> None
SUITES = ["bench.cells", "bench.spatial", "bench.server", "bench.microarray",
          "bench.expression", "bench.ish"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="suite names, e.g. cells microarray")
    parser.add_argument("--workdir", type=Path, default=Path("bench") / "data")
    parser.add_argument("--scale", default="full")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name in SUITES:
        short = name.rsplit(".", 1)[-1]
        if args.only and short not in args.only:
            continue
        print(f"\n=== {short} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(name).run(args.workdir, args)
        print(f"({short}: {time.perf_counter() - started:.0f} s)", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
