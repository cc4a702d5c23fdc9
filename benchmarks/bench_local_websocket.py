"""``fw local``'s websockets under load: 50 clients echoing through the management API.

Run: ``.venv/bin/python benchmarks/bench_local_websocket.py [--clients 50] [--duration 5]
[--idle 500]``.

``fw local`` runs as a subprocess serving a Chalice-style echo app: each message goes to the
``$default`` handler, which posts it back with ``app.websocket_api.send`` (a boto3 call to the
server's own ``@connections`` API), as the deployed app would through API Gateway. Each client
sends its next message when the previous one comes back, so the numbers are round trips: one
frame in, one handler invocation, one HTTP POST, one frame out. The load comes from the
``websockets`` client library (asyncio) in this process; on 2 cores it shares the CPU with the
server.

Also measured: the server's memory with ``--idle`` idle connections open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FW = [sys.executable, "-c", "from cli.main import main; main()"]

APP = """
from microframework import App

app = App("echo")
app.experimental_feature_flags.update(["WEBSOCKETS"])


@app.on_ws_message()
def message(event):
    app.websocket_api.send(event.connection_id, event.body)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(project: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AWS_REGION="us-east-1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [*FW, "local", "--no-autoreload", "--port", str(port)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("fw local exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("fw local did not start")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _echo_load(uri: str, clients: int, duration: float) -> tuple[list[float], float]:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    sockets = [await connect(uri) for _ in range(clients)]
    for ws in sockets:  # warm up: the first send creates the app's boto3 client
        await ws.send("warm")
        await ws.recv()
    stop_at = time.monotonic() + duration

    async def client(ws: object) -> None:
        index = 0
        while time.monotonic() < stop_at:
            text = json.dumps({"n": index})
            started = time.perf_counter()
            await ws.send(text)  # type: ignore[attr-defined]
            assert await ws.recv() == text  # type: ignore[attr-defined]
            latencies.append(time.perf_counter() - started)
            index += 1

    started = time.monotonic()
    await asyncio.gather(*(client(ws) for ws in sockets))
    elapsed = time.monotonic() - started
    for ws in sockets:
        await ws.close()
    return latencies, elapsed


async def _idle(uri: str, count: int, pid: int) -> tuple[float, float, float]:
    from websockets.asyncio.client import connect

    before = _rss_mb(pid)
    started = time.monotonic()
    sockets = [await connect(uri, open_timeout=30) for _ in range(count)]
    opened = time.monotonic() - started
    await asyncio.sleep(0.5)
    after = _rss_mb(pid)
    for ws in sockets:
        await ws.close()
    return before, after, opened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fw-bench-ws-") as tmp:
        project = Path(tmp)
        (project / "app.py").write_text(APP)
        (project / ".fw").mkdir()
        config = {"version": "1.0", "app_name": "echo", "stages": {"dev": {}}}
        (project / ".fw" / "config.json").write_text(json.dumps(config))
        port = _free_port()
        proc = _start(project, port)
        uri = f"ws://127.0.0.1:{port}/"
        try:
            latencies, elapsed = asyncio.run(_echo_load(uri, args.clients, args.duration))
            before, after, opened = asyncio.run(_idle(uri, args.idle, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    latencies.sort()
    ms = [value * 1000 for value in latencies]

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * p))]

    print(f"{args.clients} echoing clients, {args.duration:.0f}s: {len(ms)} round trips")
    print(f"  messages/s      {len(ms) / elapsed:10.0f}")
    print(f"  latency mean    {statistics.fmean(ms):10.2f} ms")
    print(f"  latency p50     {pct(0.50):10.2f} ms")
    print(f"  latency p95     {pct(0.95):10.2f} ms")
    print(f"  latency p99     {pct(0.99):10.2f} ms")
    print(f"{args.idle} idle connections: opened in {opened:.2f}s")
    print(f"  server RSS      {before:7.1f} MB -> {after:.1f} MB")


if __name__ == "__main__":
    main()
