"""``fw invoke`` against AWS: call a deployed function of a stage and return what it returned."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.exceptions

from deployer.deploy.aws import create_context, error_message
from deployer.deploy.desired import function_name
from deployer.deploy.kinds.function import FunctionEntry
from deployer.deploy.state import StateFile
from deployer.errors import DeployError
from deployer.project.config import API_HANDLER_NAME

__all__ = ["deployed_function_name", "function_error", "invoke_deployed"]


def deployed_function_name(
    project_dir: Path, stage: str, name: str | None
) -> tuple[str, str | None]:
    """The Lambda name of handler ``name`` in ``stage``'s record, and the record's region.

    Raises DeployError naming the deployed handlers when the stage or the handler is unknown.
    """
    state = StateFile.load(Path(project_dir), stage)
    record = state.record
    if not state.exists:
        raise DeployError(f"stage {stage!r} is not deployed; run 'fw deploy --stage {stage}' first")
    if not record.app_name:
        raise DeployError(f"the record of stage {stage!r} has no app name; run 'fw deploy' again")
    wanted = function_name(record.app_name, stage, name)
    deployed = {entry.name for entry in record.entries(FunctionEntry).values()}
    if wanted not in deployed:
        prefix = f"{record.app_name}-{stage}-"
        names = sorted(
            API_HANDLER_NAME if n == f"{record.app_name}-{stage}" else n.removeprefix(prefix)
            for n in deployed
        )
        listed = ", ".join(names) if names else "none"
        raise DeployError(
            f"stage {stage!r} has no deployed function {name or API_HANDLER_NAME!r}; deployed"
            f" handlers: {listed}"
        )
    return wanted, record.region


def function_error(response: Mapping[str, Any], payload: bytes, name: str) -> DeployError | None:
    """The DeployError for an Invoke response whose function failed, else None."""
    kind = response.get("FunctionError")
    if not kind:
        return None
    try:
        detail = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        detail = {}
    if isinstance(detail, dict) and detail.get("errorMessage") is not None:
        error_type = detail.get("errorType") or kind
        message = f"{error_type}: {detail['errorMessage']}"
    else:
        message = payload.decode("utf-8", "replace").strip() or kind
    return DeployError(f"function {name} failed ({kind} error): {message}")


def invoke_deployed(
    project_dir: Path,
    stage: str,
    name: str,
    payload: bytes,
    *,
    profile: str | None,
    region: str | None,
    session: Any = None,
) -> bytes:
    """Invoke the deployed handler ``name`` synchronously and return its response payload.

    A function error (the handler raised) becomes a DeployError carrying AWS's error message.
    """
    lambda_name, recorded_region = deployed_function_name(project_dir, stage, name)
    aws = create_context(profile=profile, region=region or recorded_region, session=session)
    try:
        response = aws.client("lambda").invoke(
            FunctionName=lambda_name, InvocationType="RequestResponse", Payload=payload
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        operation = getattr(err, "operation_name", "Invoke")
        raise DeployError(
            f"invoking function {lambda_name} failed ({operation}): {error_message(err)}"
        ) from err
    body = response["Payload"].read()
    error = function_error(response, body, lambda_name)
    if error is not None:
        raise error
    return body
