"""The access log of ``fw local``: one line per request, written off the request path."""

from __future__ import annotations

import queue
import sys
import threading
from typing import IO

from ..output import color_enabled

__all__ = ["AccessLog"]


class AccessLog:
    """One compact line per request, written by a background thread.

    Writing to a pipe or file synchronously on every request would put the slowest consumer in
    the request path; a queue keeps the handler threads writing to memory only.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._color = color_enabled(self._stream)
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="fw-access-log", daemon=True)
        self._thread.start()

    def request(
        self, client: str, method: str, target: str, status: int, size: int, ms: float
    ) -> None:
        code = str(status)
        if self._color:
            code = f"\x1b[{32 if status < 400 else 33 if status < 500 else 31}m{code}\x1b[0m"
        self._queue.put(f"{client} {method} {target} {code} {size}B {ms:.1f}ms")

    def message(self, line: str) -> None:
        self._queue.put(line)

    def _drain(self) -> None:
        while True:
            line = self._queue.get()
            lines = []
            while line is not None:
                lines.append(line)
                if len(lines) >= 1000:
                    break
                try:
                    line = self._queue.get_nowait()
                except queue.Empty:
                    break
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()
                except (OSError, ValueError):
                    pass  # stderr went away (a closed pipe): keep serving
            if line is None:
                return

    def close(self) -> None:
        """Write what is queued and stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout=5)
