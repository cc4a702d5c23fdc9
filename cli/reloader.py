"""Autoreload for ``fw local``: watch the project's files and swap in a freshly imported app.

The listening socket never closes: the server asks :class:`AppSlot` for the current gateway on
each request, and a reload only replaces what the slot holds. Polling mtimes every 0.2 s costs
a few hundred ``stat`` calls for a typical project and needs no platform-specific watcher.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from deployer.errors import FwError
from deployer.package.imports import shipped_code
from deployer.project.chalice_layout import find_config

from .local import Unavailable

__all__ = [
    "AppSlot",
    "Reloader",
    "UserInterrupt",
    "forget_project_modules",
    "import_stopped",
    "watched_files",
]

T = TypeVar("T")

_Snapshot = dict[str, tuple[int, int]]


def watched_files(project_dir: Path) -> Iterator[str]:
    """The project's shipped Python modules, plus its config file (env vars live there).

    Shipped as packaging defines it (``deployer.package.imports.shipped_code``): what the deployed
    function can run is what a reload must notice; tests and scripts beside app.py are not.
    It is recomputed on every poll, so a module becomes watched once the app imports it.
    """
    config = find_config(project_dir, note=False)
    if config is not None:
        yield str(config.path)
    for path in shipped_code(project_dir).modules.values():
        yield str(path)


def _snapshot(project_dir: Path) -> _Snapshot:
    found: _Snapshot = {}
    for path in watched_files(project_dir):
        try:
            stat = os.stat(path)
        except OSError:
            continue  # deleted between the walk and the stat
        # Size too: two saves within the filesystem's timestamp granularity still differ.
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def forget_project_modules(project_dir: Path) -> None:
    """Drop every imported module that is a watched file, so the next import re-reads it."""
    project_dir = project_dir.resolve()
    root = str(project_dir) + os.sep
    own = set(watched_files(project_dir))
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(root) and path in own:
            del sys.modules[name]


class UserInterrupt(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) delivered to ``fw local``, as opposed to a KeyboardInterrupt that
    app.py raises at import: only this one stops the server."""


def import_stopped(err: BaseException, project_dir: Path) -> str:
    """One line for an import that raised past ``Exception`` (``sys.exit()``, KeyboardInterrupt,
    a ``BaseException`` subclass): the project's file:line where it was raised, and what."""
    root = Path(project_dir).resolve()
    where = "app.py"
    tb = err.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename)
        if path.is_absolute() and path.is_relative_to(root):
            where = f"{path.relative_to(root)}:{tb.tb_lineno}"
        tb = tb.tb_next
    detail = f": {err}" if str(err) else ""
    return f"{where}: importing the app failed: {type(err).__name__}{detail}"


class AppSlot(Generic[T]):
    """Holds what ``load()`` last returned; a failed load keeps it (and reports the error).

    Before any load has worked, ``get()`` raises :class:`Unavailable` with the error, which the
    server answers as a 500.
    """

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._error: str | None = "the app is not loaded yet"

    def reload(self) -> str | None:
        """Load again; returns None on success or the one-line error."""
        try:
            value = self._load()
        except FwError as err:
            self._error = str(err)
            return self._error
        except UserInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - app.py's sys.exit() must not stop fw
            self._error = f"{type(err).__name__}: {err}"
            return self._error
        self._value, self._error = value, None
        return None

    @property
    def loaded(self) -> bool:
        """Whether some load has worked (what ``get()`` returns)."""
        return self._value is not None

    @property
    def error(self) -> str | None:
        return self._error

    def get(self) -> T:
        value = self._value
        if value is None:
            raise Unavailable(self._error or "the app is not loaded")
        return value


class Reloader:
    """Calls ``on_change(paths)`` from a daemon thread when watched files change."""

    def __init__(
        self, project_dir: Path, on_change: Callable[[list[str]], None], interval: float = 0.2
    ) -> None:
        self.project_dir = Path(project_dir)
        self.interval = interval
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = _snapshot(self.project_dir)

    def check(self) -> list[str]:
        """Changed, added and removed files since the last check (and run ``on_change`` if any)."""
        current = _snapshot(self.project_dir)
        changed = sorted(
            path
            for path in current.keys() | self._last.keys()
            if current.get(path) != self._last.get(path)
        )
        self._last = current
        if changed:
            self._on_change(changed)
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except BaseException:  # noqa: BLE001 - nothing a reload does may stop watching
                import traceback

                traceback.print_exc()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fw-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
