"""Printing for the CLI: colour only on a terminal that wants it, and plain-text tables.

Every command prints through these helpers so that ``NO_COLOR`` (https://no-color.org) and a
redirected stdout (a pipe, a file, CI logs) get plain text, with no escape codes to strip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, Any

_CODES = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "cyan": 36, "dim": 2, "bold": 1}


def color_enabled(stream: IO[Any] | None = None) -> bool:
    """True when ``stream`` (default stdout) is a terminal and ``NO_COLOR``/``TERM=dumb`` are unset."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def style(text: str, color: str, *, stream: IO[Any] | None = None) -> str:
    """``text`` in ``color`` (a name from ``_CODES``) when colour is enabled for ``stream``."""
    if not color_enabled(stream):
        return text
    return f"\x1b[{_CODES[color]}m{text}\x1b[0m"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "  ") -> str:
    """Left-aligned columns sized to their widest cell; the header is underlined with dashes."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def echo(text: str = "", *, err: bool = False) -> None:
    """Print one line to stdout (or stderr), flushing so pipes and logs see it at once."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def error(message: str) -> None:
    """``Error: message`` on stderr, in red on a terminal."""
    echo(style("Error:", "red", stream=sys.stderr) + " " + message, err=True)
