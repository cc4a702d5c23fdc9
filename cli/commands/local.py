"""``fw local``: serve the app on localhost as API Gateway and Lambda would run it."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from deployer.errors import FwError

from ..output import echo, style, table


class _GatewayLoader:
    """Applies the stage's environment, imports the app, and wraps it in a gateway."""

    def __init__(self, project_dir: Path, stage: str) -> None:
        self.project_dir = project_dir
        self.stage = stage
        self._applied: dict[str, str | None] = {}  # variable -> its value before fw set it
        self.app: Any = None
        self.function_prefix = ""
        self.memory_size = 128
        self.timeout = 60

    def _apply_environment(self, variables: dict[str, str]) -> None:
        # A variable removed from the config since the last load goes back to what it was.
        for name in [n for n in self._applied if n not in variables]:
            before = self._applied.pop(name)
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before
        for name, value in variables.items():
            self._applied.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def __call__(self) -> Any:
        from deployer.project.app_loader import AppLoadError, load_app
        from deployer.project.config import load_config
        from microframework.gateway import LocalGateway

        from ..reloader import UserInterrupt, import_stopped

        config = load_config(self.project_dir, self.stage)
        function = config.function(None)
        # Before the import: module-level code in app.py reads the environment.
        self._apply_environment(function.environment_variables)
        try:
            app = load_app(self.project_dir)
        except (FwError, UserInterrupt):
            raise
        except BaseException as err:  # noqa: BLE001 - sys.exit() in app.py stops the import only
            raise AppLoadError(import_stopped(err, self.project_dir)) from None
        self.app = app
        self.function_prefix = f"{config.app_name}-{self.stage}"
        self.memory_size = function.lambda_memory_size
        self.timeout = function.lambda_timeout
        return LocalGateway(
            app,
            stage=config.api_gateway_stage,
            function_name=self.function_prefix,
            memory_size=function.lambda_memory_size,
            timeout=function.lambda_timeout,
            endpoint_type=config.api_gateway_endpoint_type,
        )


def _source(record: Any) -> str:
    """What triggers an event handler, in a few words for the startup table."""
    from microframework.local_sources import local_source_of

    local = local_source_of(record)
    return local.trigger(record) if local is not None else "-"


def _tables(app: Any, jobs: list[Any]) -> str:
    """The routes, then the event handlers (with when each schedule fires next, if it runs)."""
    from ..scheduler import next_fire_text

    next_fire = {job.name: next_fire_text(job) for job in jobs}
    routes = [
        (method, path, entry.view_name)
        for path, by_method in sorted(app.routes.items())
        for method, entry in sorted(by_method.items())
    ]
    handlers = [
        (r.kind, r.name, _source(r) + (f", {next_fire[r.name]}" if r.name in next_fire else ""))
        for r in app.event_sources
    ]
    handlers += [("lambda", f.name, "invoke") for f in app.pure_lambda_functions]
    handlers += [
        ("authorizer", a.name, f"header {a.header or 'Authorization'}")
        for a in app.builtin_auth_handlers
    ]
    handlers += [
        ("websocket", getattr(handler, "__name__", "-"), route)
        for route, handler in (getattr(app, "websocket_handlers", None) or {}).items()
    ]
    lines = [table(["METHOD", "PATH", "VIEW"], routes) if routes else "  (no routes)"]
    if handlers:
        lines += ["", table(["KIND", "NAME", "SOURCE"], handlers)]
    return "\n".join(lines)


def _banner(app: Any, url: str, jobs: list[Any]) -> str:
    if app is None:  # the first load failed: the server answers 500 until a save fixes it
        return f"Serving on {style(url, 'cyan')}  (Ctrl-C to stop)"
    head = f"Serving {style(app.app_name, 'bold')} on {style(url, 'cyan')}  (Ctrl-C to stop)"
    if getattr(app, "websocket_handlers", None):
        # The same port: API Gateway's wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}.
        head += f"\nWebsockets on {style('ws://' + url.partition('://')[2], 'cyan')}"
    return head + "\n\n" + _tables(app, jobs)


def _network_warning(host: str) -> str | None:
    """A warning when ``host`` is not a loopback address: other machines can reach the app."""
    import socket

    try:
        addresses = {ipaddress.ip_address(host.strip("[]"))}
    except ValueError:  # a name: what it resolves to decides
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return None  # binding will fail and say so
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    if all(address.is_loopback for address in addresses):
        return None
    return (
        f"Warning: --host {host} is not a loopback address: the app is reachable from the"
        " network, not only from this machine (its views run with your AWS credentials);"
        " use --host 127.0.0.1 to keep it local"
    )


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _restore(handlers: dict[signal.Signals, Any]) -> None:
    for signum, handler in handlers.items():
        # None: it was not set from Python; Python's own handlers are the defaults.
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, handler if handler is not None else default)


def _is_project(project_dir: Path) -> bool:
    """An app.py and a config file: a failed first load is then worth serving until fixed."""
    from deployer.project.chalice_layout import find_config

    return (project_dir / "app.py").is_file() and find_config(project_dir, note=False) is not None


def _schedule_jobs(loader: _GatewayLoader, anchor: datetime) -> list[Any]:
    """One job per handler of a source ``fw local`` fires by itself (``@app.schedule``); rates
    count from ``anchor`` (when ``fw local`` started)."""
    from microframework.local_sources import local_source_of

    from ..scheduler import Job, parse_schedule

    jobs = []
    for record in loader.app.event_sources:
        local = local_source_of(record)
        if local is None or local.timer is None:
            continue
        try:
            schedule = parse_schedule(local.timer.expression(record), anchor=anchor)
        except ValueError as err:
            raise FwError(f"{local.command} {record.name!r}: {err}") from None
        jobs.append(Job(record.name, schedule, loader.app.handlers[record.name], source=local))
    return jobs


def _fire(loader: _GatewayLoader, log: Any) -> Any:
    from microframework.gateway import LambdaContext

    from ..scheduler import next_fire_text

    def fire(job: Any, now: datetime) -> None:
        name = f"{loader.function_prefix}-{job.name}"
        what = f"{job.source.command} {job.name}"
        try:
            result = job.handler(
                job.source.timer.event(name),
                LambdaContext(name, loader.memory_size, loader.timeout),
            )
        except Exception as err:  # noqa: BLE001 - report and keep the schedule running
            log.message(f"{what}: {type(err).__name__}: {err}; {next_fire_text(job)}")
            return
        log.message(
            f"{what} fired at {now:%H:%M:%S}Z -> {json.dumps(result, default=str)};"
            f" {next_fire_text(job)}"
        )

    return fire


def _bind(host: str, port: int, slot: Any, log: Any) -> Any:
    from ..local import serve

    try:
        return serve(host, port, slot.get, log)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise FwError(f"port {port} is in use: pass --port") from None
        if err.errno == errno.EACCES:
            raise FwError(
                f"no permission to listen on port {port}: pass --port above 1023"
            ) from None
        raise FwError(
            f"cannot listen on {host}:{port}: {err.strerror or err}; check --host"
        ) from None


@click.command("local")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port."
)
@click.option("--stage", default="dev", show_default=True, help="The stage whose config to use.")
@click.option(
    "--autoreload/--no-autoreload",
    default=True,
    show_default=True,
    help="Re-import the app when a .py file of the project changes.",
)
@click.option(
    "--schedules/--no-schedules",
    default=False,
    show_default=True,
    help="Also run @app.schedule handlers on their rate/cron while serving.",
)
@click.pass_context
def command(
    ctx: click.Context, host: str, port: int, stage: str, autoreload: bool, schedules: bool
) -> None:
    """Serve the app locally, as API Gateway and Lambda would."""
    from deployer.project.app_loader import cli_mode

    from ..local import AccessLog
    from ..reloader import AppSlot, Reloader, UserInterrupt, forget_project_modules

    def interrupt(signum: int, frame: Any) -> None:
        raise UserInterrupt

    try:
        # Before the first import: a KeyboardInterrupt that app.py raises is then told apart
        # from Ctrl-C. SIGTERM stops cleanly too; a shell starts background jobs with SIGINT
        # ignored, and fw local still wants Ctrl-C/kill -INT.
        before = {signum: signal.signal(signum, interrupt) for signum in _STOP_SIGNALS}
        ctx.call_on_close(lambda: _restore(before))
    except ValueError:
        pass  # not the main thread (embedded use): Ctrl-C handling is the caller's

    # For as long as it serves, as under `chalice local`: views may read it per request.
    ctx.with_resource(cli_mode())
    project_dir: Path = ctx.obj["project_dir"]
    loader = _GatewayLoader(project_dir, stage)
    slot: AppSlot[Any] = AppSlot(loader)
    # The files as they are before the first import: a save made while fw local starts (before
    # the watcher's thread runs) is then still a change.
    reloader = Reloader(project_dir, lambda paths: on_change(paths)) if autoreload else None
    error = slot.reload()
    if error is not None and not (autoreload and _is_project(project_dir)):
        raise FwError(error)  # no save can fix it (or none is watched): stop here
    started = datetime.now(timezone.utc)
    # A bad expression fails first, while the app loads.
    jobs = _schedule_jobs(loader, started) if schedules and error is None else []
    warning = _network_warning(host)
    if warning is not None:
        echo(style(warning, "yellow", stream=sys.stderr), err=True)
    log = AccessLog()
    server = _bind(host, port, slot, log)

    scheduler = None
    if schedules:
        from ..scheduler import Scheduler

        scheduler = Scheduler(jobs, _fire(loader, log))
    shown_host = f"[{host}]" if ":" in host else host
    echo(_banner(loader.app, f"http://{shown_host}:{server.port}/", jobs))
    if error is not None:
        echo(style(f"The app failed to load: {error}", "red", stream=sys.stderr), err=True)
        echo("Requests get a 500 until you save a fix.", err=True)
    if scheduler is not None:
        scheduler.start()

    def on_change(paths: list[str]) -> None:
        names = ", ".join(os.path.relpath(p, project_dir) for p in paths[:3])
        forget_project_modules(project_dir)
        problem = slot.reload()
        if problem is not None:
            still = (
                "still serving the last version that loaded" if slot.loaded else "500 until fixed"
            )
            message = f"Reload failed ({names}): {problem}; {still}"
            log.message(style(message, "red", stream=sys.stderr))
            return
        log.message(style(f"Reloaded ({names})", "green", stream=sys.stderr))
        jobs: list[Any] = []
        if scheduler is not None:
            try:
                scheduler.set_jobs(_schedule_jobs(loader, started))
                jobs = scheduler.jobs
            except FwError as err:
                log.message(f"Schedules not updated: {err}")
        echo(_tables(loader.app, jobs))

    if reloader is not None:
        reloader.start()

    interrupted = False
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        server.server_close()
        if reloader is not None:
            reloader.stop()
        if scheduler is not None:
            scheduler.stop()
        log.message("Stopped.")
        log.close()
    if interrupted:
        # Ctrl-C ends every fw command with the shell's code for SIGINT (128 + 2), so a script
        # or a supervisor can tell an interrupted server from one that stopped by itself.
        raise SystemExit(130)
