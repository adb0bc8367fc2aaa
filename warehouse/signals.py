"""SIGTERM unwinds like Ctrl-C: every `finally` runs, so a terminated build or export removes
its staging files and temporary folders before the process ends (exit code 143).

DuckDB checks for signals while a query runs in the calling thread; when the handler raises,
DuckDB stops the query and reports its own error ("Query interrupted") instead of the handler's
exception. So the handlers also remember the signal: `received()` tells the command line that
an error was a stop the user asked for, and `stop_if_received()`, called before anything is
published, raises the stop again if it was lost on the way (a build was once seen to publish
and exit 0 after a SIGTERM, under load)."""

from __future__ import annotations

import signal


class Terminated(BaseException):  # noqa: N818 - named for the signal, as KeyboardInterrupt
    """The process was asked to stop (SIGTERM)."""


_received: list[int] = []  # process state: the signals this process was stopped by


def _terminate(signum, frame) -> None:
    _received.append(signum)
    raise Terminated()


def _interrupt(signum, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt()


def unwind_on_signals() -> None:
    """SIGTERM raises Terminated and SIGINT KeyboardInterrupt, both remembered."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _interrupt)


def received() -> int | None:
    """The last stopping signal this process received, if any."""
    return _received[-1] if _received else None


def stop_if_received() -> None:
    """Raise the stop a signal asked for, if one came: for the last moment before publishing,
    in case the handler's exception was swallowed by the code it interrupted."""
    signum = received()
    if signum == signal.SIGTERM:
        raise Terminated()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt()
