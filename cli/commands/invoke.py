"""``fw invoke NAME``: call one handler with an event, in-process (``--local``) or deployed."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from deployer.deploy.graph import WEBSOCKET_FUNCTIONS
from deployer.errors import FwError, closest
from deployer.project.config import API_HANDLER_NAME as API_HANDLER
from microframework.local_sources import LOCAL_SOURCES

from ..output import echo


class HandlerError(FwError):
    """The invoked handler raised: the message is its exception, in one line."""


_DEBUG_HINT = " (run with --debug for the traceback)"


def _read_event(source: IO[bytes] | None) -> bytes:
    if source is None:
        if sys.stdin.isatty():
            echo("Reading the event from stdin (end with Ctrl-D), or pass --event FILE", err=True)
        return sys.stdin.buffer.read()
    return source.read()


def _parse_event(data: bytes) -> Any:
    if not data.strip():
        return {}
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        where = (
            f" at line {err.lineno} column {err.colno}"
            if isinstance(err, json.JSONDecodeError)
            else ""
        )
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
        raise FwError(f"the event is not valid JSON ({reason}{where}): pass a JSON event") from None


def _find_handler(app: Any, name: str) -> Any:
    if name == API_HANDLER and app.routes:
        return app
    handler = app.handlers.get(name)
    if handler is not None:
        return handler
    # A websocket handler also answers to its deployed function's name, as fw invoke (deployed)
    # and the config's lambda_functions call it: websocket_connect, _message, _disconnect.
    websocket = {
        function: app.websocket_handlers[route_key]
        for route_key, function in WEBSOCKET_FUNCTIONS.items()
        if route_key in app.websocket_handlers
    }
    if name in websocket:
        return websocket[name]
    known = sorted([*app.handlers, *websocket]) + ([API_HANDLER] if app.routes else [])
    close = closest(name, known)
    hint = f" Did you mean {close!r}?" if close else ""
    listed = ", ".join(known) if known else "none"
    raise FwError(f"no handler named {name!r} in app.py (known: {listed}).{hint}")


def _as_proxy_event(app: Any, event: Any) -> Any:
    """Point a proxy event at the route its path matches, as API Gateway would have.

    ``fw generate-event apigateway --path /users/7`` cannot know the app's templates; without
    this, ``/users/7`` would not find the ``/users/{id}`` route.
    """
    if not isinstance(event, dict) or not isinstance(event.get("path"), str):
        return event
    context = event.get("requestContext")
    if not isinstance(context, dict) or context.get("resourcePath") in app.routes:
        return event
    match = app.route_table.match(event["path"])
    if match is not None:
        resource, params = match
        event = {**event, "resource": resource, "pathParameters": params}
        event["requestContext"] = {**context, "resourcePath": resource}
    return event


def _lambda_region(handler: Any, event: Any) -> None:
    """Set ``AWS_REGION`` as Lambda always does, for a websocket handler (its management client
    is configured from it): the API's region, read from the event's domain name."""
    if getattr(handler, "kind", None) != "websocket" or not isinstance(event, dict):
        return
    if os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        return
    context = event.get("requestContext")
    domain = context.get("domainName") if isinstance(context, dict) else None
    parts = domain.split(".") if isinstance(domain, str) else []
    if len(parts) > 3 and parts[1] == "execute-api":
        os.environ["AWS_REGION"] = parts[2]


def _invoke_local(project_dir: Path, stage: str, name: str, payload: bytes, debug: bool) -> Any:
    from deployer.project.app_loader import AppLoadError, load_app, project_frames
    from deployer.project.config import load_config
    from microframework.events import MalformedEventError
    from microframework.gateway import LambdaContext

    event = _parse_event(payload)
    config = load_config(project_dir, stage)
    function = config.function(None if name == API_HANDLER else name)
    os.environ.update(function.environment_variables)
    # Whatever the app prints is its log, not its result: keep stdout for the JSON answer.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            app = load_app(project_dir)
        except AppLoadError as err:
            raise AppLoadError(f"{err}{'' if debug else _DEBUG_HINT}") from err.__cause__
        handler = _find_handler(app, name)
        if handler is app:
            event = _as_proxy_event(app, event)
        context = LambdaContext(
            f"{config.app_name}-{stage}-{name}",
            function.lambda_memory_size,
            function.lambda_timeout,
        )
        mismatch = _mismatch(handler, name, event)
        _lambda_region(handler, event)
        try:
            result = handler(event, context)
        except Exception as err:
            if debug:
                import traceback

                traceback.print_exc()
            if mismatch is not None and isinstance(err, MalformedEventError):
                raise HandlerError(mismatch) from None
            frames = project_frames(err, project_dir)
            where = f"{frames[-1]}: " if frames else ""
            hint = "" if debug else _DEBUG_HINT
            raise HandlerError(
                f"{where}handler {name!r} raised {type(err).__name__}: {err}{hint}"
            ) from None
        if mismatch is not None:
            # Lambda would run it too; the answer is probably not the one wanted.
            echo(f"Warning: {mismatch}", err=True)
        return result


# What the REST API's handler (the app itself) is invoked with, and the ``fw generate-event``
# command that makes one; each event source's are in its local declaration (LOCAL_SOURCES).
_API_EXPECTED = ("an API Gateway proxy event", "apigateway")


def _event_kind(event: Any) -> str | None:
    """The ``fw generate-event`` command an event looks like, or None if it looks like none."""
    if not isinstance(event, dict):
        return None
    for local in LOCAL_SOURCES.values():
        if local.recognizes(event):
            return local.command
    if "httpMethod" in event and "requestContext" in event:
        return "apigateway"
    return None


def _describe(event: Any) -> str:
    kind = _event_kind(event)
    if kind == _API_EXPECTED[1]:
        return _API_EXPECTED[0]
    for local in LOCAL_SOURCES.values():
        if local.command == kind:
            return local.description
    if isinstance(event, dict):
        keys = ", ".join(repr(k) for k in list(event)[:4]) + (", ..." if len(event) > 4 else "")
        return f"an object with keys {keys}" if event else "an empty object"
    return f"a JSON {type(event).__name__}"


def _mismatch(handler: Any, name: str, event: Any) -> str | None:
    """The line saying that ``event`` is not the kind ``handler`` is wired to, or None."""
    given = _event_kind(event)
    if name == API_HANDLER:
        (expected, command), decorator = _API_EXPECTED, ""
    else:
        kind = getattr(handler, "kind", None)
        local = LOCAL_SOURCES.get(kind) if isinstance(kind, str) else None
        if local is None:
            return None  # lambda_function: any JSON is fine
        expected, command, decorator = local.description, local.command, f" (@app.{kind})"
        route_key = getattr(handler, "route_key_handled", None)
        if route_key is not None:  # a websocket handler: its own decorator, its own route
            short = WEBSOCKET_FUNCTIONS[route_key].removeprefix("websocket_")
            decorator, command = f" (@app.on_ws_{short})", f"{command} --route {short}"
        if given is None and local.any_input:
            # EventBridge delivers any JSON a rule's target input says; only a known other
            # service's event is a sure mismatch.
            return None
    if given == command.split()[0]:
        return None
    return (
        f"handler {name!r}{decorator} expects {expected}, but the event is {_describe(event)}:"
        f" try 'fw generate-event {command} | fw invoke {name} --local'"
    )


@click.command("invoke")
@click.argument("name")
@click.option(
    "--local", is_flag=True, help="Run the handler in this process, not the deployed one."
)
@click.option("--stage", default="dev", show_default=True, help="The stage whose config to use.")
@click.option(
    "--event",
    "event_file",
    type=click.File("rb"),
    default=None,
    help="A JSON file with the event (default: read stdin).",
)
@click.option("--profile", default=None, help="The AWS profile (deployed functions only).")
@click.option("--region", default=None, help="The AWS region (deployed functions only).")
@click.pass_context
def command(
    ctx: click.Context,
    name: str,
    local: bool,
    stage: str,
    event_file: IO[bytes] | None,
    profile: str | None,
    region: str | None,
) -> None:
    """Invoke the handler NAME with an event and print what it returns.

    NAME is an event handler or lambda_function name, api_handler for the REST API, or a
    websocket handler's name (or websocket_connect, websocket_message, websocket_disconnect).
    """
    project_dir: Path = ctx.obj["project_dir"]
    payload = _read_event(event_file)
    if local:
        from deployer.project.app_loader import cli_mode

        ctx.with_resource(cli_mode())  # the handler may read it as well as the import
        result = _invoke_local(project_dir, stage, name, payload, ctx.obj["debug"])
        click.echo(json.dumps(result, indent=2, default=str))
        return
    _parse_event(payload)  # a bad event fails here, before any AWS call
    from deployer.invoke import invoke_deployed

    answer = invoke_deployed(project_dir, stage, name, payload, profile=profile, region=region)
    text = answer.decode("utf-8", "replace")
    try:
        text = json.dumps(json.loads(text), indent=2)
    except json.JSONDecodeError:
        pass  # not JSON: print it as it came
    click.echo(text)
