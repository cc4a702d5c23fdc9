"""``fw logs``: a deployed function's CloudWatch Logs, once or followed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import botocore.exceptions

from deployer.deploy.aws import AwsContext, error_message
from deployer.errors import DeployError

__all__ = [
    "LogEvent",
    "format_event",
    "function_for_logs",
    "log_group",
    "parse_since",
    "read_events",
]

_SINCE_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# How often --follow asks for new events; CloudWatch Logs delivers within seconds anyway.
FOLLOW_INTERVAL = 2.0


@attrs.frozen
class LogEvent:
    timestamp: int  # milliseconds since the epoch
    stream: str
    message: str
    event_id: str


def log_group(function_name: str) -> str:
    """The log group Lambda writes a function's output to."""
    return f"/aws/lambda/{function_name}"


def parse_since(text: str) -> int:
    """``"10m"``, ``"2h"``, ``"1d"``, ``"1h30m"`` -> seconds; ConfigError-style DeployError if bad."""
    text = text.strip().lower()
    parts = _SINCE_RE.findall(text)
    if not parts or _SINCE_RE.sub("", text).strip():
        raise DeployError(f"invalid --since {text!r}; use a duration such as 30s, 10m, 2h or 1d")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts)


def format_event(event: LogEvent) -> str:
    """``2024-05-01 12:00:00.123 stream message`` (UTC)."""
    when = datetime.fromtimestamp(event.timestamp / 1000, tz=timezone.utc)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    return f"{stamp} {event.stream} {event.message.rstrip()}"


def _page_events(aws: AwsContext, group: str, start_ms: int) -> Iterator[dict[str, Any]]:
    logs = aws.client("logs")
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, startTime=start_ms, interleaved=True):
        yield from page.get("events", [])


def read_events(
    aws: AwsContext,
    function_name: str,
    *,
    since_seconds: int = 600,
    follow: bool = False,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    polls: int | None = None,
    on_none: Callable[[], None] | None = None,
) -> Iterator[LogEvent]:
    """Events of the function's log group from ``since_seconds`` ago, oldest first.

    With ``follow``, keep polling for new events (``polls`` bounds it, for tests; None: forever).
    A missing log group (the function never ran) yields nothing rather than failing.
    ``on_none`` is called once if the first read finds no events (with ``follow``, before
    waiting for new ones), so a quiet function is not mistaken for a hung command.
    """
    group = log_group(function_name)
    start_ms = int((now() - since_seconds) * 1000)
    seen: set[str] = set()
    round_ = 0
    while True:
        try:
            batch = sorted(_page_events(aws, group, start_ms), key=lambda e: e["timestamp"])
        except botocore.exceptions.ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code != "ResourceNotFoundException":
                raise DeployError(
                    f"reading logs of {function_name} failed (FilterLogEvents):"
                    f" {error_message(err)}"
                ) from err
            batch = []
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(
                f"reading logs of {function_name} failed: {error_message(err)}"
            ) from err
        for raw in batch:
            event_id = raw.get("eventId") or f"{raw['timestamp']}:{raw.get('message')}"
            if event_id in seen:
                continue
            seen.add(event_id)
            # Ask again from the newest event seen; the same millisecond may hold more events.
            start_ms = max(start_ms, raw["timestamp"])
            yield LogEvent(
                raw["timestamp"], raw.get("logStreamName", ""), raw.get("message", ""), event_id
            )
        if round_ == 0 and not seen and on_none is not None:
            on_none()
        round_ += 1
        if not follow or (polls is not None and round_ >= polls):
            return
        sleep(FOLLOW_INTERVAL)


def function_for_logs(project_dir: Path, stage: str, name: str | None) -> tuple[str, str | None]:
    """The Lambda name for ``name`` (the REST handler when None) and the stage's region.

    Asking for the logs of a handler the stage never deployed is a mistake worth naming (a typo
    in ``--name`` would otherwise print nothing), so it fails like ``fw invoke`` does.
    """
    from deployer.invoke import deployed_function_name

    return deployed_function_name(Path(project_dir), stage, name)
