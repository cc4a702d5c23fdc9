"""``fw deploy`` and ``fw delete`` end to end: package, describe, read AWS, plan, apply.

The CLI commands are thin wrappers over :func:`deploy` and :func:`delete`; tests and the
benchmark call these directly with a ``session``/``on_call`` hook to count AWS calls.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from deployer.deploy import kinds
from deployer.deploy.aws import AwsContext, create_context
from deployer.deploy.executor import DEFAULT_WORKERS, Executor, display_plan
from deployer.deploy.kinds.base import Step
from deployer.deploy.lock import locked
from deployer.deploy.planner import Plan, plan, plan_delete, reads_for
from deployer.deploy.remote import BotoRemoteState, PrefetchedRemoteState
from deployer.deploy.state import Record, StateFile
from deployer.errors import DeployError

__all__ = [
    "DeleteResult",
    "DeployResult",
    "StageUrl",
    "delete",
    "deploy",
    "deployment_dir",
    "stage_url",
    "stage_urls",
]

Report = Callable[[str], None]


def deployment_dir(project_dir: Path, stage: str) -> Path:
    """Where ``fw deploy`` builds the stage's zips."""
    return Path(project_dir) / ".fw" / "deployments" / stage


class _UrlKind(Protocol):
    """A kind whose resource a stage answers on (the optional ``url`` hook of a kind module)."""

    @property
    def URL_FIELD(self) -> str: ...  # its key in ``fw deploy --json``
    @property
    def URL_LABEL(self) -> str: ...  # how ``fw deploy`` introduces it

    def url(self, record: Record, region: str, steps: Iterable[Step] = ()) -> str | None: ...


def _url_kinds() -> list[_UrlKind]:
    return [kind for kind in kinds.KINDS if hasattr(kind, "url")]  # type: ignore[misc]


@attrs.frozen
class StageUrl:
    """One address the stage answers on, as ``fw deploy`` prints it."""

    field: str  # its key in ``fw deploy --json`` ("url", "websocket_url")
    label: str  # "Rest API URL"
    url: str | None  # None: the stage has no such API (or a dry run's plan removes it)


def _stage_urls(record: Record, region: str, steps: Iterable[Step] = ()) -> tuple[StageUrl, ...]:
    plan_steps = tuple(steps)
    return tuple(
        StageUrl(kind.URL_FIELD, kind.URL_LABEL, kind.url(record, region, plan_steps))
        for kind in _url_kinds()
    )


@attrs.frozen
class DeployResult:
    """What a deploy did (or, with ``dry_run``, would do)."""

    app_name: str
    stage: str
    region: str
    actions: tuple[str, ...]
    resources: dict[str, dict[str, Any]]
    dry_run: bool = False
    warnings: tuple[str, ...] = ()
    urls: tuple[StageUrl, ...] = ()  # every kind's with a URL, in KINDS order

    def url_of(self, field: str) -> str | None:
        return next((u.url for u in self.urls if u.field == field), None)

    @property
    def url(self) -> str | None:
        """The REST API's URL."""
        return self.url_of("url")

    @property
    def websocket_url(self) -> str | None:
        """The WebSocket API's ``wss://`` URL."""
        return self.url_of("websocket_url")

    def to_json(self) -> dict[str, Any]:
        return {
            "app_name": self.app_name,
            "stage": self.stage,
            "region": self.region,
            **{u.field: u.url for u in self.urls},
            "dry_run": self.dry_run,
            "actions": list(self.actions),
            "resources": self.resources,
            "warnings": list(self.warnings),
        }


@attrs.frozen
class DeleteResult:
    stage: str
    actions: tuple[str, ...]
    dry_run: bool = False


def _quiet(message: str) -> None:
    pass


@locked("fw deploy")
def deploy(
    project_dir: Path,
    stage: str = "dev",
    *,
    profile: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    report: Report = _quiet,
    session: Any = None,
    on_call: Callable[..., Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    aws: AwsContext | None = None,
    workers: int = DEFAULT_WORKERS,
) -> DeployResult:
    """Deploy ``stage`` of the project: only the changes AWS does not already have, up to
    ``workers`` instructions at a time."""
    from deployer.deploy.desired import build_desired
    from deployer.package.build import build_stage_package
    from deployer.project.app_loader import load_stage_app
    from deployer.project.config import load_config

    project_dir = Path(project_dir).resolve()
    config = load_config(project_dir, stage)
    state = StateFile.load(project_dir, stage, app_name=config.app_name)
    aws = aws or create_context(
        profile=profile, region=region, session=session, on_call=on_call, report=report
    )
    _check_region(state.record, aws.region)
    app = load_stage_app(project_dir, config, region=aws.region)
    report(f"Packaging {config.app_name} ({stage})")
    package = build_stage_package(
        project_dir,
        deployment_dir(project_dir, stage),
        config,
        app,
        region=aws.region,
        report=report,
    )
    if package.needs_s3_upload:
        raise DeployError(
            f"the deployment package is {package.function_zip.size} bytes, over the 50 MB Lambda"
            " takes in one request; set automatic_layer to move requirements into a layer, or"
            " trim requirements.txt"
        )
    report(f"Reading what stage {stage!r} has in AWS ({aws.region})")
    desired = build_desired(
        app,
        config,
        package,
        region=aws.region,
        account_id=aws.account_id,
        partition=aws.partition,
    )
    for warning in desired.warnings:
        report(f"Warning: {warning}")
    remote = PrefetchedRemoteState(BotoRemoteState(aws))
    remote.prefetch(reads_for(desired.state, state.record))
    the_plan = plan(desired.state, remote, state.record)
    if not dry_run:
        # Before the first create: a deploy that fails halfway must still tell fw delete (and the
        # next deploy) which region its resources are in.
        state.set_region(aws.region)
    roles = {role.arn: role.policy_document for role in desired.state.roles}
    policies = {
        f.function_name: roles[f.settings.role_arn]
        for f in desired.state.functions
        if f.settings.role_arn in roles
    }
    actions = _run(
        the_plan,
        aws,
        state,
        dry_run=dry_run,
        report=report,
        sleep=sleep,
        role_policies=policies,
        workers=workers,
    )
    record = state.record
    return DeployResult(
        app_name=config.app_name,
        stage=stage,
        region=aws.region,
        actions=actions,
        resources={k: v.to_json() for k, v in sorted(record.resources.items())},
        dry_run=dry_run,
        warnings=desired.warnings,
        # A dry run shows the URLs of the APIs its plan keeps, as they will be.
        urls=_stage_urls(record, aws.region, the_plan if dry_run else ()),
    )


def _check_region(record: Record, region: str) -> None:
    """A stage lives in one region: planning it in another would forget (and orphan) all it has."""
    if record.region is not None and record.region != region and record.resources:
        raise DeployError(
            f"stage {record.stage!r} is deployed in region {record.region!r}, not {region!r};"
            f" deploy it with --region {record.region}, or run 'fw delete --stage {record.stage}'"
            " first to move it"
        )


def _run(
    the_plan: Plan,
    aws: AwsContext,
    state: StateFile,
    *,
    dry_run: bool,
    report: Report,
    sleep: Callable[[float], None],
    role_policies: Mapping[str, Mapping[str, Any]] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> tuple[str, ...]:
    if dry_run:
        display_plan(the_plan, report)
        return tuple(the_plan.messages())
    if not the_plan.instructions:
        report("No changes.")
        return ()
    executor = Executor(
        aws=aws,
        state=state,
        report=report,
        sleep=sleep,
        role_policies=role_policies or {},
        workers=workers,
    )
    return tuple(executor.execute(the_plan))


@locked("fw delete")
def delete(
    project_dir: Path,
    stage: str = "dev",
    *,
    profile: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    report: Report = _quiet,
    session: Any = None,
    on_call: Callable[..., Any] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> DeleteResult:
    """Remove everything ``stage``'s record holds, then the record itself."""
    project_dir = Path(project_dir).resolve()
    state = StateFile.load(project_dir, stage)
    if not state.exists:
        report(f"Nothing recorded for stage {stage!r}; nothing to delete.")
        _remove_builds(project_dir, stage, dry_run=dry_run, report=report)
        return DeleteResult(stage, (), dry_run)
    # Delete where the stage was deployed, whatever the current default region is.
    aws = create_context(
        profile=profile,
        region=region or state.record.region,
        session=session,
        on_call=on_call,
        report=report,
    )
    report(f"Reading what stage {stage!r} has in AWS ({aws.region})")
    remote = PrefetchedRemoteState(BotoRemoteState(aws))
    remote.prefetch(reads_for(None, state.record))
    the_plan = plan_delete(state.record, remote)
    actions = _run(
        the_plan, aws, state, dry_run=dry_run, report=report, sleep=time.sleep, workers=workers
    )
    if not dry_run:
        state.delete_file()
    _remove_builds(project_dir, stage, dry_run=dry_run, report=report)
    return DeleteResult(stage, actions, dry_run)


def _remove_builds(project_dir: Path, stage: str, *, dry_run: bool, report: Report) -> None:
    """The zips fw deploy built for the stage go with it (the shared dependency cache stays)."""
    built = deployment_dir(project_dir, stage)
    if not built.is_dir():
        return
    shown = built.relative_to(project_dir).as_posix()
    if dry_run:
        report(f"Would: remove the stage's built packages ({shown})")
        return
    report(f"Removing the stage's built packages ({shown})")
    shutil.rmtree(built)


def stage_url(project_dir: Path, stage: str = "dev") -> str:
    """The stage's API URL, from its record (no AWS call): the REST API's, else the WebSocket
    API's ``wss://`` one."""
    return stage_urls(project_dir, stage)[0]


def stage_urls(project_dir: Path, stage: str = "dev") -> list[str]:
    """The URLs of the stage's REST API and WebSocket API (those it has), from its record."""
    state = StateFile.load(Path(project_dir), stage)
    record = state.record
    # Any region will do to tell whether the record has an API at all.
    urls = [u.url for u in _stage_urls(record, record.region or "") if u.url is not None]
    if not state.exists or not urls:
        raise DeployError(
            f"stage {stage!r} has no deployed API (REST or WebSocket); run 'fw deploy --stage {stage}' first"
        )
    if record.region is None:
        raise DeployError(f"the record of stage {stage!r} has no region; run 'fw deploy' again")
    return urls
