"""One deploy (or delete) per stage at a time: a lock file beside the stage's record.

Two runs at once would each plan from the same record and AWS state, then both create what
is missing (two REST APIs) and overwrite each other's record. The lock is an OS file lock
(``flock``), so it is released whatever way its holder ends, even ``kill -9``; the file also
says who holds it (PID, host, command, start time) for the message a second run prints, and
a file left by a run that died is taken over with a note naming it.

``--dry-run`` takes no lock: it changes nothing in AWS or the record, and "what would this
deploy change" should answer while another runs; it says so when a run holds the stage.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs

from deployer.errors import DeployError
from deployer.project.config_schema import checked_stage

__all__ = ["Holder", "StageLocked", "holder_of", "lock_path", "locked", "stage_lock"]


class StageLocked(DeployError):
    """Another fw run holds the stage."""


@attrs.frozen
class Holder:
    """Who holds (or last held) a stage's lock."""

    pid: int
    host: str
    command: str
    started: str  # ISO 8601, UTC

    def describe(self) -> str:
        when = self.started.replace("T", " ").removesuffix("+00:00")
        return f"{self.command}, PID {self.pid} on {self.host}, started {when} UTC"


def lock_path(project_dir: Path, stage: str) -> Path:
    """Where ``stage``'s lock lives: beside its record (``.fw/deployed/<stage>.json``)."""
    return Path(project_dir) / ".fw" / "deployed" / f"{checked_stage(stage)}.lock"


def holder_of(project_dir: Path, stage: str) -> Holder | None:
    """The run that seems to hold ``stage`` now, without touching the lock (for a dry run's
    note): the file's holder, unless it names a process of this host that is gone."""
    try:
        with open(lock_path(project_dir, stage), encoding="utf-8") as handle:
            holder = _read(handle)
    except FileNotFoundError:
        return None
    if holder is None:
        return None
    if holder.host == socket.gethostname() and not _alive(holder.pid):
        return None
    return holder


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would end the process there, not test it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return pid > 0


@contextmanager
def stage_lock(
    project_dir: Path, stage: str, *, command: str, report: Callable[[str], None]
) -> Iterator[Holder]:
    """Hold ``stage``'s lock for the block, or raise :class:`StageLocked` naming its holder."""
    path = lock_path(project_dir, stage)
    if sys.platform == "win32":
        # flock is POSIX's; Windows' byte-range locks would also bar reading the holder's
        # line and removing the file, so fw runs there without the lock, and says so.
        report(f"Note: stage {stage!r} is not locked against a second fw run on Windows")
        yield Holder(os.getpid(), socket.gethostname(), command, "")
        return
    if not Path(project_dir).is_dir():
        # Nothing to protect: the command fails on its own, and must not create the folder.
        yield Holder(os.getpid(), socket.gethostname(), command, "")
        return
    # Folders made only for the lock go with it (a delete of a stage never deployed).
    made = [folder for folder in (path.parent, path.parent.parent) if not folder.exists()]
    me = Holder(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command,
        started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    handle = _acquire(path, stage)
    try:
        left = _read(handle)
        if left is not None:
            report(
                f"Note: taking over the lock of stage {stage!r} left by a run that ended"
                f" without releasing it ({left.describe()})"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(attrs.asdict(me)) + "\n")
        handle.flush()
        yield me
    finally:
        # Remove the file while still holding it: a run that opened it meanwhile notices the
        # file it locked is no longer the one at the path, and starts again.
        try:
            path.unlink(missing_ok=True)
        finally:
            handle.close()
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                pass  # not empty (the record is there) or already gone


def _acquire(path: Path, stage: str) -> Any:
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(path, "a+", encoding="utf-8")  # closed by stage_lock
        except FileNotFoundError:
            continue  # a run that just ended removed the folder it had made
        try:
            held_elsewhere = not _lock_file(handle)
        except BaseException:
            handle.close()
            raise
        if held_elsewhere:
            holder = _read(handle)
            handle.close()
            who = f" ({holder.describe()})" if holder else ""
            raise StageLocked(
                f"stage {stage!r} is being changed by another fw run{who}; wait for it to"
                " finish, then run this command again"
            ) from None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()  # its holder released it (and removed the file) as we opened it


def _lock_file(handle: Any) -> bool:
    """Take the OS lock on ``handle`` without waiting: False when another process holds it.
    The OS releases it when its process ends, however it ends."""
    import fcntl  # POSIX only: stage_lock does not lock on Windows

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(handle: Any) -> Holder | None:
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        return Holder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            command=str(data["command"]),
            started=str(data["started"]),
        )
    except (ValueError, KeyError, TypeError):
        return Holder(0, "?", "an unreadable lock file", "?")


F = TypeVar("F", bound=Callable[..., Any])


def locked(command: str) -> Callable[[F], F]:
    """Run the decorated ``deploy``/``delete`` holding its stage's lock, unless ``dry_run``.

    It reads ``project_dir``, ``stage``, ``dry_run`` and ``report`` from the call's arguments.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            project_dir = Path(values["project_dir"]).resolve()
            stage = values["stage"]
            report = values["report"]
            if values["dry_run"]:
                holder = holder_of(project_dir, stage)
                if holder is not None:
                    report(
                        f"Note: another fw run is changing stage {stage!r} ({holder.describe()});"
                        " this plan may be out of date when it finishes"
                    )
                return function(*args, **kwargs)
            with stage_lock(project_dir, stage, command=command, report=report):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
