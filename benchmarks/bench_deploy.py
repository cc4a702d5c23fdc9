"""Deploy timings against moto: AWS latency's share of a deploy, and fw next to Chalice.

Run: ``.venv/bin/python benchmarks/bench_deploy.py [--runs N] [--delay MS] [--workers N]
[--only latency|noop]``. The script starts its own moto server on a free loopback port.

Latency: a six-function app (REST API, schedule, S3, SQS, SNS and a plain function) is deployed
through a loopback proxy that holds every call to moto for 0 ms and then ``--delay`` ms (150 by
default, about what an AWS control-plane call takes): a first deploy, then a redeploy after a
code change (all six functions' code). The AWS-time ratio is (wall at the delay - wall at 0) /
(calls x delay): 1.0 when every call waits for the one before it, lower when calls overlap.
``--workers`` passes that many to ``deploy(workers=...)`` (8 by default, as ``fw deploy``;
1, one step at a time, is the sequential baseline).

No-op: the same events-only app is deployed once with each tool, then N no-op redeploys of
each are timed (median) and their AWS write calls counted (any operation not named
Get*/List*/Describe*/Head*).

Both tools run in this process with their imports warm, so the numbers compare the deploy
logic, not interpreter start-up. Chalice's session is created inside its CLI, so the counting
hook is added by wrapping ``chalice.cli.factory.create_botocore_session`` (benchmark only).
Chalice works against moto for events-only apps (no REST API) when AWS_ENDPOINT_URL is set.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from _proxy import Decision, Forward, proxy  # noqa: E402 (tests/_proxy.py)

from deployer.deploy.aws import is_write_operation  # noqa: E402
from deployer.deploy.run import deploy  # noqa: E402

HANDLERS = """
@app.schedule("rate(5 minutes)")
def every_five(event):
    return None


@app.on_sqs_message(queue="bench-jobs", batch_size=5)
def work(event):
    return None


@app.on_sns_message(topic="bench-news")
def news(event):
    return None


@app.lambda_function()
def plain(event, context):
    return {}
"""

FW_APP = 'from microframework import App\n\napp = App("bench")\n' + HANDLERS
CHALICE_APP = 'from chalice import Chalice\n\napp = Chalice(app_name="bench")\n' + HANDLERS
FW_CONFIG = {"version": "1.0", "app_name": "bench", "stages": {"dev": {}}}
CHALICE_CONFIG = {"version": "2.0", "app_name": "bench", "stages": {"dev": {}}}


class CallCounter:
    """A botocore before-call hook: every operation name, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs["model"].name)

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if is_write_operation(c)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        _post(f"{endpoint}/moto-api/config", {"lambda": {"use_docker": False}})
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _set_environment(endpoint: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    os.environ.pop("AWS_PROFILE", None)


def _project(root: Path, config_dir: str, source: str, config: dict[str, Any]) -> Path:
    (root / config_dir).mkdir(parents=True)
    (root / config_dir / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(source)
    (root / "requirements.txt").write_text("")
    return root


def fw_deploy(project: Path, counter: CallCounter) -> None:
    deploy(project, "dev", on_call=counter)


def chalice_deploy(project: Path, counter: CallCounter) -> None:
    import chalice.cli.factory as factory
    from chalice.cli import cli as chalice_cli

    original = factory.create_botocore_session

    def counted_session(*args: Any, **kwargs: Any) -> Any:
        session = original(*args, **kwargs)
        session.register("before-call", counter)
        return session

    factory.create_botocore_session = counted_session
    # Both apps are modules named "app"; Chalice would reuse fw's from sys.modules.
    sys.modules.pop("app", None)
    try:
        # Chalice prints its progress on stdout/stderr; keep the benchmark's output readable.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            chalice_cli.main(
                args=["--project-dir", str(project), "deploy", "--stage", "dev"],
                standalone_mode=False,
                obj={},
            )
    finally:
        factory.create_botocore_session = original


LATENCY_APP = """\
from microframework import App, Rate

app = App("latency")


@app.route("/")
def index():
    return {"hello": "world"}


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    return None


@app.on_s3_event(bucket="latency-drop")
def dropped(event):
    return None


@app.on_sqs_message(queue="latency-jobs")
def job(event):
    return None


@app.on_sns_message(topic="latency-news")
def news(event):
    return None


@app.lambda_function()
def plain(event, context):
    return {}
"""
LATENCY_CONFIG = {"version": "1.0", "app_name": "latency", "stages": {"dev": {}}}


@attrs.frozen
class Timed:
    wall: float
    calls: int


def _latency_sources(endpoint: str) -> None:
    """The bucket, queue and topic the app's triggers name, made straight in moto; and one
    call to each other service, since moto builds a service's backend on first use (a second
    or so that would otherwise hide part of the proxy's delay behind it)."""
    import boto3

    _post(f"{endpoint}/moto-api/reset", {})
    _post(f"{endpoint}/moto-api/config", {"lambda": {"use_docker": False}})
    boto3.client("sts", endpoint_url=endpoint).get_caller_identity()
    boto3.client("iam", endpoint_url=endpoint).list_roles()
    boto3.client("lambda", endpoint_url=endpoint).list_functions()
    boto3.client("apigateway", endpoint_url=endpoint).get_rest_apis()
    boto3.client("events", endpoint_url=endpoint).list_rules()
    boto3.client("logs", endpoint_url=endpoint).describe_log_groups()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="latency-drop")
    boto3.client("sqs", endpoint_url=endpoint).create_queue(
        QueueName="latency-jobs", Attributes={"VisibilityTimeout": "360"}
    )
    boto3.client("sns", endpoint_url=endpoint).create_topic(Name="latency-news")


def latency_runs(endpoint: str, root: Path, delay_ms: float, workers: int) -> tuple[Timed, Timed]:
    """A first deploy and a code-change redeploy through a proxy adding ``delay_ms`` per call."""
    _latency_sources(endpoint)
    project = _project(root, ".fw", LATENCY_APP, LATENCY_CONFIG)

    def decide(method: str, path: str) -> Decision:
        return Forward(delay_ms / 1000)

    with proxy(endpoint, decide) as server:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        try:
            timed = []
            for change in ("", "\n# a code change: every function's zip differs\n"):
                (project / "app.py").write_text(LATENCY_APP + change)
                sys.modules.pop("app", None)
                before = len(server.seen)
                start = time.perf_counter()
                deploy(project, "dev", workers=workers)
                timed.append(Timed(time.perf_counter() - start, len(server.seen) - before))
        finally:
            os.environ["AWS_ENDPOINT_URL"] = endpoint
    return timed[0], timed[1]


def _median_runs(
    endpoint: str, tmp: Path, delay_ms: float, workers: int, runs: int
) -> tuple[Timed, Timed]:
    results = [
        latency_runs(endpoint, tmp / f"latency-{delay_ms:g}-{index}", delay_ms, workers)
        for index in range(runs)
    ]
    first, redeploy = (
        Timed(
            statistics.median(r[part].wall for r in results),
            max(r[part].calls for r in results),
        )
        for part in (0, 1)
    )
    return first, redeploy


def latency(endpoint: str, tmp: Path, delay_ms: float, workers: int, runs: int) -> None:
    at_zero = _median_runs(endpoint, tmp, 0, workers, runs)
    delayed = _median_runs(endpoint, tmp, delay_ms, workers, runs)
    how = "one step at a time" if workers == 1 else f"{workers} workers"
    print(
        f"Deploy of a six-function app through a proxy adding {delay_ms:g} ms per AWS call"
        f" ({how}; median of {runs}):"
    )
    print(f"  {'':22} {'wall@0':>8} {f'wall@{delay_ms:g}':>9} {'calls':>6} {'AWS-time ratio':>15}")
    for name, zero, slow in zip(
        ("first deploy", "code-change redeploy"), at_zero, delayed, strict=True
    ):
        ratio = (slow.wall - zero.wall) / (slow.calls * delay_ms / 1000)
        print(f"  {name:22} {zero.wall:7.2f}s {slow.wall:8.2f}s {slow.calls:6d} {ratio:15.2f}")


def measure(
    name: str, run: Callable[[Path, CallCounter], None], project: Path, runs: int
) -> tuple[float, list[str]]:
    run(project, CallCounter())  # the first deploy creates everything
    times, writes = [], []
    for _ in range(runs):
        counter = CallCounter()
        start = time.perf_counter()
        run(project, counter)
        times.append(time.perf_counter() - start)
        writes = counter.writes
    return statistics.median(times), writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed no-op redeploys per tool")
    parser.add_argument("--delay", type=float, default=150, help="ms the proxy adds per call")
    parser.add_argument("--workers", type=int, default=8, help="deploy(workers=N); 1 is sequential")
    parser.add_argument("--only", choices=("latency", "noop"), help="run one part only")
    parser.add_argument("--latency-runs", type=int, default=3, help="deploys per delay (median)")
    args = parser.parse_args()
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        _set_environment(endpoint)
        if args.only != "noop":
            latency(endpoint, Path(tmp), args.delay, args.workers, args.latency_runs)
        if args.only == "latency":
            return
        _post(f"{endpoint}/moto-api/reset", {})
        _post(f"{endpoint}/moto-api/config", {"lambda": {"use_docker": False}})
        import boto3

        # Six times the function's 60 s, as Lambda advises (a shorter one is refused).
        boto3.client("sqs").create_queue(
            QueueName="bench-jobs", Attributes={"VisibilityTimeout": "360"}
        )
        boto3.client("sns").create_topic(Name="bench-news")
        fw_project = _project(Path(tmp) / "fw", ".fw", FW_APP, FW_CONFIG)
        chalice_project = _project(Path(tmp) / "chalice", ".chalice", CHALICE_APP, CHALICE_CONFIG)
        fw_time, fw_writes = measure("fw", fw_deploy, fw_project, args.runs)
        chalice_time, chalice_writes = measure(
            "chalice", chalice_deploy, chalice_project, args.runs
        )
    print(f"No-op redeploy of an events-only app (4 functions), median of {args.runs}:")
    print(f"  fw deploy:      {fw_time * 1000:8.1f} ms  {len(fw_writes):3d} write calls")
    print(f"  chalice deploy: {chalice_time * 1000:8.1f} ms  {len(chalice_writes):3d} write calls")
    print(f"  ratio (chalice / fw wall time): {chalice_time / fw_time:.1f}x")
    if chalice_writes:
        kinds = sorted(set(chalice_writes))
        print(f"  chalice writes: {', '.join(kinds)}")
    if fw_writes:
        raise SystemExit(f"fw made write calls on a no-op redeploy: {fw_writes}")


if __name__ == "__main__":
    main()
