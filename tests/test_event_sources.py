"""Event sources are declared once: a new source is its declaration (runtime half in
``sources.SOURCES``, local half in ``local_sources.LOCAL_SOURCES``), its record and its event
class, and every part of fw that knows about sources picks it up from the two tables."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import cli, main
from cli.scheduler import Scheduler
from microframework import App, Blueprint
from microframework.events import BaseLambdaEvent
from microframework.local_sources import LOCAL_SOURCES, LocalSource, Option, Timer
from microframework.scaffold import Scaffold
from microframework.sources import SOURCES, EventSource, _Record
from microframework.testing import Client


class ToyEvent(BaseLambdaEvent):
    SOURCE = "the toy service"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.thing: str = event_dict["toy"]["thing"]


class ToyConfig(_Record):
    kind = "toy"
    __slots__ = ("name", "handler_string", "thing", "every")


def toy_event(thing: str, loud: bool = False) -> dict[str, Any]:
    return {"toy": {"thing": thing.upper() if loud else thing}}


TOY = EventSource("on_toy_event", ToyConfig, ToyEvent, "toy")
TOY_LOCAL = LocalSource(
    "on_toy_event",
    "toy",
    "A toy event.",
    (Option("--thing", default="ball"), Option("--loud/--quiet", "loud", default=False)),
    toy_event,
    description="a toy event",
    recognizes=lambda event: "toy" in event,
    trigger=lambda record: f"toys named {record.thing}",
    timer=Timer(lambda record: record.every, lambda function_name: toy_event(function_name)),
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCES, TOY.decorator, TOY)
    monkeypatch.setitem(LOCAL_SOURCES, TOY_LOCAL.source, TOY_LOCAL)


def toy_app() -> App:
    app = App("toys")

    @app.on_toy_event(thing="ball", every="rate(1 minute)")
    def on_toy(event: ToyEvent) -> dict[str, str]:
        return {"got": event.thing}

    @app.middleware("toy")
    def tag(event: Any, get_response: Any) -> Any:
        return {**get_response(event), "via": type(event).__name__}

    return app


def test_the_decorator_records_and_the_handler_gets_the_event_class(toy: None) -> None:
    app = toy_app()
    assert app.event_sources == [
        ToyConfig(name="on_toy", handler_string="app.on_toy", thing="ball", every="rate(1 minute)")
    ]
    handler = app.handlers["on_toy"]
    assert handler.kind == "on_toy_event"
    assert handler({"toy": {"thing": "kite"}}, None) == {"got": "kite", "via": "ToyEvent"}
    with pytest.raises(ValueError, match="not one the toy service sends"):
        handler({"other": 1}, None)


def test_blueprints_get_the_decorator_too_and_bad_fields_fail_at_definition(toy: None) -> None:
    blueprint = Blueprint(__name__)
    blueprint.on_toy_event(thing="yo-yo", name="spin")(lambda event: event.thing)
    app = App("toys")
    app.register_blueprint(blueprint, name_prefix="bp_")
    assert [(r.name, r.thing) for r in app.event_sources] == [("bp_spin", "yo-yo")]
    with pytest.raises(TypeError, match=r"on_toy_event\(\) takes \['thing', 'every'\]"):
        app.on_toy_event(colour="red")


def test_an_undeclared_decorator_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="'App' object has no attribute 'on_toy_event'"):
        App("toys").on_toy_event  # noqa: B018


def test_the_test_client_generates_its_events(toy: None) -> None:
    app = toy_app()
    with Client(app) as client:
        event = client.events.generate_toy_event("drum", loud=True)
        assert event == {"toy": {"thing": "DRUM"}}
        assert client.lambda_.invoke("on_toy", event).payload == {"got": "DRUM", "via": "ToyEvent"}
        assert "generate_toy_event" in dir(client.events)


def test_generate_event_has_a_command_for_it(toy: None) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["generate-event", "toy", "--thing", "top", "--loud"])
    assert (result.exit_code, json.loads(result.output)) == (0, {"toy": {"thing": "TOP"}})
    listing = runner.invoke(cli, ["generate-event", "--help"]).output
    assert "toy" in listing and "A toy event." in listing
    assert "[default: ball]" in runner.invoke(cli, ["generate-event", "toy", "--help"]).output


TOY_APP = """
from microframework import App

app = App("toys")


@app.on_toy_event(thing="ball", every="rate(1 minute)")
def on_toy(event):
    return {"got": event.thing}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "app.py").write_text(TOY_APP)
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "toys"}')
    before = dict(os.environ)
    yield tmp_path
    os.environ.clear()
    os.environ.update(before)


def invoke_local(
    capsys: pytest.CaptureFixture[str], project: Path, event: Any
) -> tuple[int, str, str]:
    (project / "event.json").write_text(json.dumps(event))
    args = ["--project-dir", str(project), "invoke", "on_toy", "--local"]
    with pytest.raises(SystemExit) as info:
        main([*args, "--event", str(project / "event.json")])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def test_invoke_local_runs_it_and_names_its_event_on_a_mismatch(
    toy: None, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke_local(capsys, project, toy_event("kite"))
    assert (code, json.loads(out), err) == (0, {"got": "kite"}, "")
    sqs = {"Records": [{"eventSource": "aws:sqs", "body": "x"}]}
    code, out, err = invoke_local(capsys, project, sqs)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "Error: handler 'on_toy' (@app.on_toy_event) expects a toy event, but the event is an"
        " SQS message batch: try 'fw generate-event toy | fw invoke on_toy --local'"
    )


def test_fw_local_lists_and_fires_it(toy: None, project: Path) -> None:
    from cli.commands.local import _fire, _GatewayLoader, _schedule_jobs, _tables

    loader = _GatewayLoader(project, "dev")
    loader()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    jobs = _schedule_jobs(loader, start)
    assert [(job.name, job.source) for job in jobs] == [("on_toy", TOY_LOCAL)]
    assert "toys named ball" in _tables(loader.app, jobs)
    lines: list[str] = []
    log = type("Log", (), {"message": staticmethod(lines.append)})()
    scheduler = Scheduler(jobs, _fire(loader, log), clock=lambda: start)
    scheduler.run_due(datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc))
    assert lines == [
        'toy on_toy fired at 00:01:00Z -> {"got": "toys-dev-on_toy"}; next 2026-01-01 00:02:00Z'
    ]


def test_every_declaration_is_whole() -> None:
    """Each runtime declaration has a typed method with Chalice's signature, and each local
    half completes a runtime one with a distinct command."""
    for decorator, source in SOURCES.items():
        assert source.decorator == decorator and callable(vars(Scaffold).get(decorator))
        assert issubclass(source.event, BaseLambdaEvent) and issubclass(source.record, _Record)
    assert len({s.record.kind for s in SOURCES.values()}) == len(SOURCES)
    # The websocket handlers' local half completes microframework.websocket's declaration.
    assert set(LOCAL_SOURCES) <= set(SOURCES) | {"websocket"}
    assert len({local.command for local in LOCAL_SOURCES.values()}) == len(LOCAL_SOURCES)
