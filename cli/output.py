"""Printing for the CLI: colour only on a terminal that wants it, and plain-text tables.

Every command prints through these helpers so that ``NO_COLOR`` (https://no-color.org) and a
redirected stdout (a pipe, a file, CI logs) get plain text, with no escape codes to strip.
"""

from __future__ import annotations

import os
import sys
import threading
import time
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


class Progress:
    """Progress lines on stderr: one line per step in a pipe or a log, live on a terminal.

    A step is reported as it starts, so a log shows where a slow or stuck command is. On a
    terminal the latest line also counts the seconds it has taken, once past a second, and ends
    with its duration; nothing else may write to the stream while a line is live.
    """

    _FRAMES = "|/-\\"

    def __init__(
        self, stream: IO[str] | None = None, *, live: bool | None = None, tick: float = 0.1
    ) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._live = _is_terminal(self._stream) if live is None else live
        self._tick = tick
        self._lock = threading.Lock()
        self._message: str | None = None
        self._started = 0.0
        self._frame = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, message: str) -> None:
        """Start the step ``message`` (ending the one before it)."""
        with self._lock:
            if not self._live:
                self._write(message + "\n")
                return
            self._finish()
            self._message = message
            self._started = time.monotonic()
            self._write(message)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fw-progress", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """End the live line, if any; later output starts on a line of its own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._finish()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            with self._lock:
                if self._message is None:
                    continue
                elapsed = time.monotonic() - self._started
                if elapsed >= 1:
                    self._frame = (self._frame + 1) % len(self._FRAMES)
                    frame = self._FRAMES[self._frame]
                    self._write(f"\r{self._message} {frame} {elapsed:.0f}s\x1b[K")

    def _finish(self) -> None:
        if self._message is None:
            return
        elapsed = time.monotonic() - self._started
        done = f"\r{self._message} ({elapsed:.1f}s)\x1b[K" if elapsed >= 1 else ""
        self._write(done + "\n")
        self._message = None

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: progress is not worth dying for
            pass


def _is_terminal(stream: IO[Any]) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:
        return False
