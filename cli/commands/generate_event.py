"""``fw generate-event KIND``: print a realistic event, to pipe into ``fw invoke --local``."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import click

from microframework import sample_events
from microframework.local_sources import LOCAL_SOURCES, LocalSource, Option

from ..help import FullSummaryGroup


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise click.BadParameter(
            f"not valid JSON ({err.msg} at column {err.colno}): {value!r}"
        ) from None


def _emit(event: Any) -> None:
    click.echo(json.dumps(event, indent=2))


def _json_objects(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Parse an option declared ``json_object`` (each value, when repeatable)."""
    values = value if isinstance(value, tuple) else (value,)
    parsed = [_json_object(ctx, param, v) for v in values]
    for item in parsed:
        if item is not None and not isinstance(item, dict):
            raise click.BadParameter(f"must be a JSON object, got {item!r}")
    return parsed if isinstance(value, tuple) else parsed[0]


def _click_option(option: Option) -> click.Option:
    return click.Option(
        [option.flag, option.dest],
        default=option.default,
        show_default=True,
        help=option.help,
        multiple=option.multiple,
        type=click.Choice(option.choices) if option.choices else None,
        callback=_json_objects if option.json_object else None,
    )


def _source_command(local: LocalSource) -> click.Command:
    """``fw generate-event <command>`` for one event source, from its local declaration."""

    def run(**values: Any) -> None:
        _emit(local.sample(**values))

    return click.Command(
        local.command,
        callback=run,
        params=[_click_option(option) for option in local.options],
        help=local.summary,
    )


class _GenerateEventGroup(FullSummaryGroup):
    """One subcommand per event source in ``LOCAL_SOURCES`` (read when asked, not at import),
    plus the REST API's ``apigateway``."""

    def _sources(self) -> dict[str, LocalSource]:
        return {local.command: local for local in LOCAL_SOURCES.values()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._sources()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._sources():
            command = _source_command(self._sources()[cmd_name])
        return command


@click.group("generate-event", cls=_GenerateEventGroup)
def command() -> None:
    """Print a sample event as an AWS service would deliver it (JSON on stdout)."""


def _query(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    for value in values:
        if not value.partition("=")[0]:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
    return list(values)


# RFC 9110 "Field Names": a token, so no spaces, colons or other separators.
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise click.BadParameter(f"expected 'Name: value', got {value!r}")
        pairs.append((name, text.strip()))
    return pairs


@command.command("apigateway")
@click.option("--method", default="GET", show_default=True)
@click.option("--path", default="/", show_default=True, help="The path, with a query if wanted.")
@click.option(
    "--query",
    "queries",
    multiple=True,
    callback=_query,
    metavar="NAME=VALUE",
    help="A query string parameter, URL-encoded for you (repeatable).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    callback=_header,
    metavar="'NAME: VALUE'",
    help="A request header (repeatable; a repeated name keeps every value).",
)
@click.option("--body", default=None, help="The request body (sent as JSON).")
def _apigateway(
    method: str,
    path: str,
    queries: list[str],
    headers: list[tuple[str, str]],
    body: str | None,
) -> None:
    """A REST API proxy event, as API Gateway sends the api_handler."""
    if not path.startswith("/"):
        raise click.BadParameter(f"must start with '/', got {path!r}", param_hint="'--path'")
    if queries:
        pairs = [query.partition("=")[::2] for query in queries]
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode(pairs)
    _emit(sample_events.apigateway_event(method, path, body, headers=headers))
