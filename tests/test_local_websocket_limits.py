"""``fw local``'s websockets at API Gateway's quotas and at scale: frame and message sizes,
idle and maximum durations, the connection caps, 500 idle + 50 active clients, the handler pool."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import threading
import time
from collections.abc import Iterator

import pytest
from test_local_websocket import INTEGRATION, Record, make_app, served, until, url
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cli.local import LocalServer


@pytest.fixture
def record() -> Record:
    return Record()


@pytest.fixture
def server(record: Record) -> Iterator[LocalServer]:
    with served(make_app(record)) as server:
        yield server


def test_a_slow_handler_blocks_no_other_connection(server: LocalServer) -> None:
    with connect(url(server)) as slow, connect(url(server)) as quick:
        quick.send("warm")  # the app's first post creates its boto3 client: not timed
        assert quick.recv(timeout=5) == "warm"
        slow.send("slow")
        started = time.monotonic()
        quick.send("quick")
        assert quick.recv(timeout=5) == "quick"
        assert time.monotonic() - started < INTEGRATION / 2


def test_a_message_over_128KB_closes_1009_and_one_under_it_echoes_whole(
    server: LocalServer,
) -> None:
    with connect(url(server), max_size=None) as ws:
        text = "x" * (100 * 1024)
        ws.send(iter([text[i : i + 30000] for i in range(0, len(text), 30000)]))
        assert ws.recv(timeout=5) == text  # posted back in 32 KB frames
        with pytest.raises(ConnectionClosed) as closed:
            # 150,000 bytes in frames under 32 KB: the server may close before the last is sent.
            ws.send(iter(["y" * 30000] * 5))
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_idle_connections_are_closed_1001_and_disconnect_runs(record: Record) -> None:
    with served(make_app(record), ws={"idle_seconds": 0.5}) as server:
        with connect(url(server)) as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert 0.4 < time.monotonic() - started < 2
        assert until(lambda: len(record.disconnected) == 1)
        context = record.events[-1]["requestContext"]
        assert (context["eventType"], context["disconnectStatusCode"]) == ("DISCONNECT", 1001)


def test_websockets_do_not_take_http_slots(record: Record) -> None:
    with served(make_app(record), max_connections=2) as server:
        stack = contextlib.ExitStack()
        sockets = [stack.enter_context(connect(url(server))) for _ in range(5)]
        for conn_number in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/")
            assert conn.getresponse().status == 200, conn_number
            conn.close()
        for ws in sockets:
            ws.send("ok")
            assert ws.recv(timeout=5) == "ok"
        stack.close()


async def _capacity(port: int, idle: int, active: int, rounds: int) -> tuple[int, int]:
    from websockets.asyncio.client import connect as aconnect

    uri = f"ws://127.0.0.1:{port}/"
    idles = []
    for _ in range(idle):
        idles.append(await aconnect(uri, open_timeout=20))

    async def chat(number: int) -> int:
        async with aconnect(uri, open_timeout=20) as ws:
            for index in range(rounds):
                await ws.send(f"{number}:{index}")
                assert await asyncio.wait_for(ws.recv(), 20) == f"{number}:{index}"
        return rounds

    done = sum(await asyncio.gather(*(chat(n) for n in range(active))))
    alive = 0
    for ws in idles[:: max(1, idle // 20)]:  # a sample of the idle ones still answers
        await ws.send("awake")
        alive += await asyncio.wait_for(ws.recv(), 20) == "awake"
    for ws in idles:
        await ws.close()
    return done, alive


def test_500_idle_and_50_active_connections(server: LocalServer, record: Record) -> None:
    done, alive = asyncio.run(_capacity(server.port, idle=500, active=50, rounds=4))
    assert done == 200
    assert alive == 20
    assert until(lambda: len(record.disconnected) == 550, seconds=20)


def test_the_handler_pool_queues_only_at_its_maximum_and_recovers() -> None:
    from cli.local.lambdas import _Pool

    pool = _Pool(3)
    release = threading.Event()
    busy = [pool.submit(release.wait, 10) for _ in range(3)]
    queued = [pool.submit(lambda i=i: i) for i in range(5)]
    time.sleep(0.1)
    assert not any(future.done() for future in queued)  # all 3 workers are busy
    release.set()
    assert [future.result(5) for future in queued] == list(range(5))
    assert all(future.result(5) for future in busy)
    assert until(lambda: pool._idle == 3)  # every worker idle again, none lost or counted twice
    assert [pool.submit(lambda: 7).result(5) for _ in range(10)] == [7] * 10


def test_a_busy_connection_still_ends_at_the_maximum_duration(record: Record) -> None:
    with served(make_app(record), ws={"max_seconds": 0.6}) as server:
        with connect(url(server)) as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while time.monotonic() - started < 5:  # never idle
                    ws.send("tick")
                    ws.recv(timeout=5)
                    time.sleep(0.05)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert 0.5 < time.monotonic() - started < 2


def test_websockets_over_their_cap_get_503(record: Record) -> None:
    with served(make_app(record), ws={"max_connections": 2}) as server:
        with connect(url(server)), connect(url(server)):
            with pytest.raises(InvalidStatus) as refused:
                connect(url(server))
            assert refused.value.response.status_code == 503
        with connect(url(server)) as ws:  # the slots came back
            ws.send("again")
            assert ws.recv(timeout=5) == "again"


def test_http_clients_holding_every_http_slot_do_not_stop_posts_to_websockets(
    record: Record,
) -> None:
    with served(make_app(record), max_connections=2) as server:
        with connect(url(server)) as ws:
            held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in "ab"]
            for conn in held:  # answered once, kept alive: each holds an HTTP slot
                conn.request("GET", "/")
                assert conn.getresponse().status == 200
            other = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            other.request("GET", "/")
            assert other.getresponse().status == 503  # HTTP is at its cap...
            for text in ("one", "two", "three"):  # ...the app's posts are not
                ws.send(text)
                assert ws.recv(timeout=5) == text
            for conn in held:
                conn.close()
