"""SIGTERM unwinds like Ctrl-C: every `finally` runs, so a terminated build or export removes
its staging files and temporary folders before the process ends (exit code 143)."""

from __future__ import annotations

import signal


class Terminated(BaseException):  # noqa: N818 - named for the signal, as KeyboardInterrupt
    """The process was asked to stop (SIGTERM)."""


def _raise(signum, frame) -> None:
    raise Terminated()


def unwind_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise)
