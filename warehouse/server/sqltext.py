"""Fast, literal-aware scanning of SQL text: statements, placeholders, the words used.

Everything here is regular expressions over the text (C speed, no parse tree), so a
megabyte-long query costs milliseconds: string literals, quoted identifiers, dollar quotes
and comments are recognised so that a `;`, `$1` or `pg_class` inside them does not count.
"""

from __future__ import annotations

import re

_LITERAL = (r"(?<![\w$])[eE]'(?:[^'\\]|\\.|'')*'"      # E'...' with backslash escapes
            r"|'(?:[^']|'')*'"                          # '...'
            r"|\"(?:[^\"]|\"\")*\""                     # "identifier"
            r"|\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?\$(?P=tag)\$"  # $tag$...$tag$
            r"|--[^\n]*"
            r"|/\*.*?\*/")
_LITERALS = re.compile(_LITERAL, re.DOTALL)
_SPLIT = re.compile(_LITERAL + r"|(?P<semicolon>;)", re.DOTALL)
_PLACEHOLDER = re.compile(r"(?<![\w$])\$(\d+)")
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
_COMMENTS = re.compile(r"\s*(?:--[^\n]*|/\*.*?\*/)\s*", re.DOTALL)


def without_literals(sql: str) -> str:
    """The text with every literal, quoted identifier and comment blanked out."""
    return _LITERALS.sub(" ", sql)


def split(sql: str) -> list[str]:
    """The statements of a simple-query string (empty statements kept as '')."""
    if ";" not in sql:
        return [sql]
    parts, start = [], 0
    for match in _SPLIT.finditer(sql):
        if match.group("semicolon"):
            parts.append(sql[start:match.start()])
            start = match.end()
    tail = sql[start:]
    if tail.strip() or not parts:
        parts.append(tail)
    return parts


def placeholder_count(sql: str) -> int:
    """The highest `$n` outside literals (0 if none)."""
    if "$" not in sql:
        return 0
    numbers = [int(n) for n in _PLACEHOLDER.findall(without_literals(sql))]
    return max(numbers, default=0)


def words(sql: str) -> set[str]:
    """Lower-cased identifiers and keywords outside literals and comments."""
    return set(_WORD.findall(without_literals(sql).lower()))


def first_word(sql: str) -> str:
    """The statement's first keyword, upper-cased ('' for none)."""
    text = _COMMENTS.sub(" ", sql[:4096]).lstrip(" (\n\t\r")
    match = re.match(r"[A-Za-z]+", text)
    return match.group(0).upper() if match else ""
