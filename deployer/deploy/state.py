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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from deployer.errors import DeployError

__all__ = ["RECORD_VERSION", "Record", "StateFile", "record_path"]

RECORD_VERSION = 1


def record_path(project_dir: Path, stage: str) -> Path:
    """Where ``stage``'s record lives."""
    return Path(project_dir) / ".fw" / "deployed" / f"{stage}.json"


@attrs.frozen
class Record:
    """A snapshot of the record: ``resources`` maps a key (``function:<name>``) to its ids."""

    app_name: str
    stage: str
    region: str | None = None
    resources: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def get(self, key: str) -> Mapping[str, Any] | None:
        return self.resources.get(key)

    def of_kind(self, kind: str) -> dict[str, Mapping[str, Any]]:
        """The recorded resources of one kind (``"function"``, ``"rule"``, ...), by key."""
        return {k: v for k, v in self.resources.items() if v.get("kind") == kind}

    def rest_api_id(self) -> str | None:
        apis = self.of_kind("rest_api")
        return next(iter(apis.values()))["id"] if apis else None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "app_name": self.app_name,
            "stage": self.stage,
            "region": self.region,
            "resources": {k: dict(self.resources[k]) for k in sorted(self.resources)},
        }


class StateFile:
    """The on-disk record of one stage; every change is written through at once."""

    def __init__(self, path: Path, record: Record) -> None:
        self.path = path
        self._record = record

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
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            raise DeployError(
                f"the deployment record {str(path)!r} has an unknown format; it was written by"
                " another fw version"
            )
        record = Record(
            app_name=data.get("app_name") or app_name,
            stage=data.get("stage", stage),
            region=data.get("region"),
            resources={k: dict(v) for k, v in data.get("resources", {}).items()},
        )
        return cls(path, record)

    @property
    def record(self) -> Record:
        return self._record

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        """Record (or update) one resource and write the file."""
        resources = dict(self._record.resources)
        resources[key] = dict(entry)
        self._save(attrs.evolve(self._record, resources=resources))

    def remove(self, key: str) -> None:
        """Forget one resource and write the file."""
        if key not in self._record.resources:
            return
        resources = dict(self._record.resources)
        del resources[key]
        self._save(attrs.evolve(self._record, resources=resources))

    def set_region(self, region: str) -> None:
        if self._record.region != region:
            self._save(attrs.evolve(self._record, region=region))

    def delete_file(self) -> None:
        """Remove the file once the stage has nothing left in AWS."""
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
