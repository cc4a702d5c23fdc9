"""``fw local`` under keep-alive load, next to ``chalice local`` serving the same app.

Run: ``.venv/bin/python benchmarks/bench_local.py [--duration 5] [--rounds 3] [--python-load]``.

Both servers run as subprocesses on loopback ports, with autoreload off, logging to a file.
The load comes from ``wrk -tT -cC -dDs`` when wrk is installed, else from a small Python
generator (C keep-alive ``http.client`` connections, one thread each): fine for chalice's
~170 req/s, but on 2 cores it competes with fw for the CPU, so install wrk for real numbers.

Also measured: route matching with 10 and 1,000 routes, in-process (``route_table.match`` and a
whole ``LocalGateway.handle``) and over HTTP, to show that the app's size costs nothing per request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BIN = Path(sys.executable).parent
FW = [sys.executable, "-c", "from cli.main import main; main()"]
CHALICE = shutil.which("chalice", path=str(BIN))
WRK = shutil.which("wrk")

APP_BODY = """
app = {cls}("bench")


@app.route("/")
def index():
    return {{"hello": "world"}}


@app.route("/users/{{user_id}}")
def user(user_id):
    return {{"user": user_id}}
"""


def _many_routes(count: int) -> str:
    lines = ["from microframework import App", "", 'app = App("many")', ""]
    for index in range(count):
        lines += [
            f'@app.route("/r{index}/items/{{item_id}}")',
            f"def view_{index}(item_id):",
            f'    return {{"route": {index}, "item": item_id}}',
            "",
        ]
    return "\n".join(lines)


def _write_fw(root: Path, source: str, name: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(source)
    (root / ".fw").mkdir()
    config = {"version": "1.0", "app_name": name, "stages": {"dev": {}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    return root


def _write_chalice(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("from chalice import Chalice\n" + APP_BODY.format(cls="Chalice"))
    (root / ".chalice").mkdir()
    config = {
        "version": "2.0",
        "app_name": "bench",
        "stages": {"dev": {"api_gateway_stage": "api"}},
    }
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(command: list[str], cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    proc = subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {' '.join(command)}\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(command)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wrk(url: str, threads: int, connections: int, duration: int) -> tuple[float, float]:
    out = subprocess.run(
        [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    latency_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, latency_ms


def _python_load(url: str, threads: int, connections: int, duration: int) -> tuple[float, float]:
    """C keep-alive connections spread over threads; returns (req/s, mean latency ms)."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    stop_at = time.monotonic() + duration
    counts: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        done, spent = 0, 0.0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            conn.request("GET", "/" + path)
            conn.getresponse().read()
            spent += time.perf_counter() - started
            done += 1
        conn.close()
        with lock:
            counts.append(done)
            latencies.append(spent / max(done, 1))

    workers = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(counts) / elapsed, 1000 * sum(latencies) / len(latencies)


def _load(url: str, args: argparse.Namespace) -> tuple[float, float]:
    run = _wrk if WRK and not args.python_load else _python_load
    return run(url, args.threads, args.connections, args.duration)


def _per_call_us(func, *call_args, repeat: int = 20000) -> float:
    func(*call_args)
    started = time.perf_counter()
    for _ in range(repeat):
        func(*call_args)
    return (time.perf_counter() - started) / repeat * 1e6


def _matching(workdir: Path) -> list[tuple[int, float, float]]:
    from deployer.project.app_loader import load_app
    from microframework.gateway import LocalGateway

    rows = []
    for count in (10, 1000):
        app = load_app(_write_fw(workdir / f"inproc{count}", _many_routes(count), "many"))
        path = f"/r{count - 1}/items/42"
        match_us = _per_call_us(app.route_table.match, path)
        gateway = LocalGateway(app)
        handle_us = _per_call_us(gateway.handle, "GET", path, [("Host", "x")], b"", repeat=5000)
        rows.append((count, match_us, handle_us))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="Median of this many runs each.")
    parser.add_argument("--python-load", action="store_true", help="Use the Python load generator.")
    args = parser.parse_args()
    tool = "wrk" if WRK and not args.python_load else "python http.client"
    print(
        f"load: {tool}, {args.threads} threads, {args.connections} keep-alive connections, {args.duration}s"
    )

    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        workdir = Path(tmp)
        hello = _write_fw(
            workdir / "fw", "from microframework import App\n" + APP_BODY.format(cls="App"), "bench"
        )
        many = _write_fw(workdir / "many", _many_routes(1000), "many")
        servers = [
            ("fw local", FW + ["local", "--no-autoreload"], hello, "/users/7"),
            ("fw local, 1000 routes", FW + ["local", "--no-autoreload"], many, "/r999/items/7"),
        ]
        if CHALICE:
            servers.append(
                (
                    "chalice local",
                    [CHALICE, "local", "--no-autoreload"],
                    _write_chalice(workdir / "chalice"),
                    "/users/7",
                )
            )
        else:
            print("chalice is not installed: skipping it")
        # All servers up at once, measured in turns, median of the rounds: a shared machine's
        # noise then hits every server alike instead of whichever ran during a busy spell.
        running = []
        try:
            for label, command, project, path in servers:
                port = _free_port()
                proc = _start(
                    [*command, "--port", str(port)], project, port, workdir / f"{port}.log"
                )
                running.append((label, proc, f"http://127.0.0.1:{port}{path}"))
            samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in running}
            for _ in range(args.rounds):
                for label, _, url in running:
                    samples[label].append(_load(url, args))
        finally:
            for _, proc, _ in running:
                _stop(proc)
        for label, runs in samples.items():
            runs.sort()
            results[label] = runs[len(runs) // 2]
        matching = _matching(workdir)

    base = results.get("chalice local", (0.0, 0.0))[0]
    print(f"\n{'server':<24}{'req/s':>10}{'avg latency':>14}{'vs chalice':>12}")
    for label, (rps, latency) in results.items():
        ratio = f"{rps / base:.1f}x" if base else "-"
        print(f"{label:<24}{rps:>10.0f}{latency:>12.2f}ms{ratio:>12}")
    print(f"\n{'routes':<10}{'route_table.match':>20}{'LocalGateway.handle':>22}")
    for count, match_us, handle_us in matching:
        print(f"{count:<10}{match_us:>18.2f}us{handle_us:>20.1f}us")


if __name__ == "__main__":
    main()
