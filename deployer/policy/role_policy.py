"""The IAM policy attached to an app's Lambda role: generated from the source, a file, or both.

``fw gen-policy`` and ``fw deploy`` both call ``build_policy``, so what the first prints is what
the second attaches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from deployer.errors import PolicyError
from deployer.policy import iam_actions
from deployer.policy.analyzer import analyze_project

__all__ = ["LOGS_STATEMENT", "PolicyResult", "build_policy", "generate_policy", "policy_from_calls"]

POLICY_VERSION = "2012-10-17"
# Lambda writes the function's stdout/stderr to CloudWatch Logs with the role's own credentials,
# so every function needs these even if the app never touches boto3.
LOGS_STATEMENT: dict[str, Any] = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "arn:*:logs:*:*:*",
}


@attrs.frozen
class PolicyResult:
    """A policy document and what the analyzer could not follow (``"app.py:12: ..."``)."""

    document: dict  # {"Version": "2012-10-17", "Statement": [...]}
    warnings: tuple[str, ...]


def policy_from_calls(calls: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A document allowing exactly these ``(client service, operation)`` calls, plus logging."""
    by_prefix: dict[str, set[str]] = {}
    for service, operation in calls:
        for action in iam_actions.actions_for_operation(service, operation):
            prefix = action.partition(":")[0]
            by_prefix.setdefault(prefix, set()).add(action)
    statements = [dict(LOGS_STATEMENT, Action=list(LOGS_STATEMENT["Action"]))]
    for prefix in sorted(by_prefix):
        # The analyzer cannot see which bucket or table a call names, so resources stay "*";
        # least privilege here is about actions (never "service:*").
        statements.append({"Effect": "Allow", "Action": sorted(by_prefix[prefix]), "Resource": "*"})
    return {"Version": POLICY_VERSION, "Statement": statements}


def generate_policy(project_dir: Path, *, app_filename: str = "app.py") -> PolicyResult:
    """Analyze the app and ``lib/``; allow exactly the calls found, plus logging."""
    analysis = analyze_project(Path(project_dir), app_filename=app_filename)
    return PolicyResult(policy_from_calls(analysis.calls), analysis.warnings)


def build_policy(
    project_dir: Path,
    *,
    autogen_policy: bool = True,
    iam_policy_file: str | None = None,
    app_filename: str = "app.py",
    policy_dir: Path | None = None,
) -> PolicyResult:
    """The role's policy: generated, generated plus the file's statements, or the file alone.

    Policy files are read from ``policy_dir``, the config file's folder (``StageConfig.config_dir``:
    ``.fw/``, or ``.chalice/`` for a Chalice project, as Chalice reads them); default ``.fw/``.
    """
    project_dir = Path(project_dir)
    folder = Path(policy_dir) if policy_dir is not None else project_dir / ".fw"
    if not autogen_policy:
        if iam_policy_file is None:
            raise PolicyError(
                "autogen_policy is false but no iam_policy_file is set; set iam_policy_file in"
                " the config to a policy file beside it, or set autogen_policy to true"
            )
        return PolicyResult(_read_policy_file(folder, iam_policy_file)[0], ())
    result = generate_policy(project_dir, app_filename=app_filename)
    if iam_policy_file is None:
        return result
    extra = _read_policy_file(folder, iam_policy_file)[1]
    statements = list(result.document["Statement"])
    statements += [s for s in extra if s not in statements]
    return PolicyResult({"Version": POLICY_VERSION, "Statement": statements}, result.warnings)


def _read_policy_file(folder: Path, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The document in ``<folder>/<name>`` and its statements."""
    path = folder / name
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        if name.startswith("policy-") and name.endswith(".json"):
            # The default (as Chalice's): the user may never have named it.
            raise PolicyError(
                f"{str(path)!r} does not exist: with autogen_policy false the role's policy is"
                " read from policy-<stage>.json beside the config, as Chalice does; create it"
                " ('fw gen-policy' prints a start), set iam_policy_file, or set autogen_policy"
                " to true"
            ) from None
        raise PolicyError(
            f"iam_policy_file {str(path)!r} does not exist; create it or fix iam_policy_file"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(f"cannot read iam_policy_file {str(path)!r}: {err}") from None
    except json.JSONDecodeError as err:
        raise PolicyError(
            f"iam_policy_file {str(path)!r} is not valid JSON at line {err.lineno}:{err.colno}:"
            f" {err.msg}"
        ) from None
    statements = document.get("Statement") if isinstance(document, dict) else None
    # IAM accepts a single statement object as well as a list of them.
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise PolicyError(
            f'iam_policy_file {str(path)!r} has no "Statement" list; write a policy document'
            ' like {"Version": "2012-10-17", "Statement": [...]}'
        )
    return document, statements
