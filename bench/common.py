"""Timing helpers shared by the bench suites."""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Median wall seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_python(code: str) -> tuple[float, float]:
    """Run code in a fresh interpreter: (wall seconds, peak RSS in GB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024 / 1024


def run_command(args: list[str]) -> tuple[float, float]:
    """Run a command: (wall seconds, peak RSS GB across children so far — run RSS-heavy last)."""
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    return wall, peak


def generated(workdir: Path, name: str, scale: str,
              writers: list[Callable[[Path, str, int], None]]) -> Path:
    """A sample release under workdir, written once by `writers` and reused by later runs."""
    release = workdir / f"{name}-{scale}"
    marker = release / ".complete"
    if not marker.exists():
        print(f"  generating the {scale} {name} release in {release} ...", flush=True)
        shutil.rmtree(release, ignore_errors=True)
        started = time.perf_counter()
        for write in writers:
            write(release, scale, 42)
        marker.touch()
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return release


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:52} {value:>14}  {note}", flush=True)


def verdict(ratio: float, target: float, *, lower_is_better: bool = True) -> str:
    ok = ratio <= target if lower_is_better else ratio >= target
    sign = "≤" if lower_is_better else "≥"
    return f"ratio {ratio:.2f} (target {sign} {target}) {'OK' if ok else 'MISSED'}"
