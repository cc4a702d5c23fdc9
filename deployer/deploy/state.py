"""The record of what a stage has in AWS: ``.fw/deployed/<stage>.json``.

The executor writes it after every create and delete (temp file + ``os.replace``, so a crash
leaves either the old or the new file, never half of one). A deploy that fails halfway has
therefore recorded everything it made: the next deploy adopts it instead of making duplicates, and
``fw delete`` can remove it all.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from deployer.deploy.kinds.base import Entry
from deployer.errors import DeployError
from deployer.project.config_schema import checked_stage

__all__ = ["RECORD_VERSION", "Record", "StateFile", "record_path"]

# The record's format. Each entry is ``{"kind": <kind module's NAME>, <its entry's fields>}``;
# a format this fw cannot read is refused rather than guessed at, since a record misread is a
# stage whose resources fw forgets. Version 1 is the first fw's format, still written as is.
RECORD_VERSION = 1

_E = TypeVar("_E", bound=Entry)


def record_path(project_dir: Path, stage: str) -> Path:
    """Where ``stage``'s record lives."""
    return Path(project_dir) / ".fw" / "deployed" / f"{checked_stage(stage)}.json"


def _entry(value: Entry | Mapping[str, Any]) -> Entry:
    if isinstance(value, Entry):
        return value
    from deployer.deploy.kinds import entry_types

    kind = value.get("kind")
    entry_type = entry_types().get(str(kind))
    if entry_type is None:
        raise ValueError(f"a resource of unknown kind {kind!r}")
    return entry_type.from_json(value)


def _entries(values: Mapping[str, Entry | Mapping[str, Any]]) -> Mapping[str, Entry]:
    return {key: _entry(value) for key, value in values.items()}


@attrs.frozen
class Record:
    """A snapshot of the record: ``resources`` maps a key (``function:<name>``) to its entry."""

    app_name: str
    stage: str
    region: str | None = None
    resources: Mapping[str, Entry] = attrs.field(factory=dict, converter=_entries)

    def get(self, key: str) -> Entry | None:
        return self.resources.get(key)

    def entries(self, entry_type: type[_E]) -> dict[str, _E]:
        """The recorded resources of one kind, by key."""
        return {k: v for k, v in self.resources.items() if isinstance(v, entry_type)}

    def references(self) -> dict[str, str]:
        """Placeholder -> id, for the ids recorded resources resolve (the REST API's id...)."""
        found: dict[str, str] = {}
        for entry in self.resources.values():
            found.update(entry.references())
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "app_name": self.app_name,
            "stage": self.stage,
            "region": self.region,
            "resources": {k: self.resources[k].to_json() for k in sorted(self.resources)},
        }


class StateFile:
    """The on-disk record of one stage; every change is written through at once.

    Writes are serialized by a lock, so instructions applied from several threads can record.
    """

    def __init__(self, path: Path, record: Record) -> None:
        self.path = path
        self._record = record
        self._lock = threading.Lock()

    @classmethod
    def load(cls, project_dir: Path, stage: str, *, app_name: str = "") -> StateFile:
        """Read the stage's record, or start an empty one (nothing is written until a change)."""
        path = record_path(project_dir, stage)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls(path, Record(app_name=app_name, stage=stage))
        except (OSError, ValueError) as err:
            raise DeployError(
                f"cannot read the deployment record {str(path)!r}: {err}; fix or remove the file"
                " (without it fw no longer knows what this stage created)"
            ) from None
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > RECORD_VERSION:
            raise DeployError(
                f"the deployment record {str(path)!r} is in format {version}, written by a newer"
                f" fw (this one reads format {RECORD_VERSION}); upgrade fw to deploy this stage"
            )
        if version != RECORD_VERSION:
            raise DeployError(
                f"the deployment record {str(path)!r} has an unknown format; it was written by"
                " another fw version"
            )
        try:
            record = Record(
                app_name=data.get("app_name") or app_name,
                stage=data.get("stage", stage),
                region=data.get("region"),
                resources=data.get("resources", {}),
            )
        except (TypeError, ValueError, AttributeError) as err:
            raise DeployError(
                f"the deployment record {str(path)!r} holds {err}; it was written by a newer fw:"
                " upgrade fw to deploy this stage"
            ) from None
        return cls(path, record)

    @property
    def record(self) -> Record:
        return self._record

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def put(self, key: str, entry: Entry) -> None:
        """Record (or update) one resource and write the file."""
        with self._lock:
            resources = dict(self._record.resources)
            resources[key] = entry
            self._save(attrs.evolve(self._record, resources=resources))

    def remove(self, key: str) -> None:
        """Forget one resource and write the file."""
        with self._lock:
            if key not in self._record.resources:
                return
            resources = dict(self._record.resources)
            del resources[key]
            self._save(attrs.evolve(self._record, resources=resources))

    def set_region(self, region: str) -> None:
        with self._lock:
            if self._record.region != region:
                self._save(attrs.evolve(self._record, region=region))

    def delete_file(self) -> None:
        """Remove the file once the stage has nothing left in AWS."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            self._record = attrs.evolve(self._record, resources={})

    def _save(self, record: Record) -> None:
        self._record = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
