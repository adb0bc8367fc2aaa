"""The error tree and the one place where errors become exit codes.

Every error a user can cause is a `BrainwhError` carrying a message and a hint (what to do);
the CLI prints both to stderr and exits with `exit_code_for(error)`. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    DATA = 1  # bad input data or a failed query
    USAGE = 2
    LOCKED = 3  # database locked or busy
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM


class BrainwhError(Exception):
    """Root of every error a user can cause. `hint` says what to do next."""

    exit_code = ExitCode.DATA

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class DataError(BrainwhError):
    """A source file is not what its format promises.

    Carries where: file, line (1-based, counting the header) or JSON path, and column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if column:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint)
        self.file = file
        self.line = line
        self.column = column


class QueryError(BrainwhError):
    """A SQL statement failed."""


class UsageError(BrainwhError):
    exit_code = ExitCode.USAGE


class LockedError(BrainwhError):
    exit_code = ExitCode.LOCKED


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, BrainwhError):
        return error.exit_code
    return ExitCode.DATA
