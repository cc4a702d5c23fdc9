"""Handler invocations for ``fw local``'s websockets, off the connection threads and timed as API
Gateway times its integrations.

A connection's thread keeps reading frames while its messages' handlers run, as API Gateway
invokes Lambda once per message without waiting for the previous one; a pool bounds the threads,
and one timer thread (not one per call) enforces the integration timeout.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

__all__ = ["Invoker", "Timers"]

# Handlers running at once across all connections; more wait in the pool's queue (their 29 s
# integration timeout counts from the message, as for a throttled Lambda). Threads start on
# demand, so an idle server holds none.
MAX_INVOCATIONS = 256


class Timers:
    """One daemon thread that calls each callback at its (monotonic) time."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._order), callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fw-timers", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                callback = heapq.heappop(self._heap)[2]
            try:
                callback()
            except Exception:  # a bug in one callback must not stop the others' timers
                traceback.print_exc()


class _Pool:
    """Daemon worker threads, started on demand up to a maximum.

    Not a ThreadPoolExecutor: the interpreter joins its threads at exit, so one handler stuck
    in a long call would keep Ctrl-C from stopping ``fw local``.
    """

    def __init__(self, max_workers: int) -> None:
        self._max = max_workers
        self._lock = threading.Lock()
        self._workers = 0
        self._idle = 0  # workers waiting for a task
        self._backlog = 0  # tasks queued with no worker for them (at the maximum)
        self._tasks: SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = (
            SimpleQueue()
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            # Each task takes an idle worker, or a new one; only at the maximum does it wait
            # for a busy worker to finish.
            if self._idle:
                self._idle -= 1
            elif self._workers < self._max:
                self._workers += 1
                threading.Thread(target=self._work, name="fw-lambda", daemon=True).start()
            else:
                self._backlog += 1
        self._tasks.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            future, fn, args = self._tasks.get()  # the task it was started or woken for
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as error:  # the handler's own: its caller reports it
                    future.set_exception(error)
            del future, fn, args
            with self._lock:
                if self._backlog:
                    self._backlog -= 1  # a queued task is this worker's next
                else:
                    self._idle += 1


class _Outcome:
    """Settled once: by the handler's end or by the timeout, whichever comes first."""

    __slots__ = ("_lock", "settled")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.settled = False

    def claim(self) -> bool:
        with self._lock:
            if self.settled:
                return False
            self.settled = True
            return True


class Invoker:
    """Runs ``handler(event, context)`` in a pool, with a timeout the caller cannot miss."""

    def __init__(self, timeout: float, max_workers: int = MAX_INVOCATIONS) -> None:
        self.timeout = timeout
        self._pool = _Pool(max_workers)
        self.timers = Timers()

    def call(self, handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Any:
        """The handler's result, waited for up to the timeout (raises TimeoutError)."""
        return self._pool.submit(handler, event, context).result(timeout=self.timeout)

    def start(
        self,
        handler: Callable[[Any, Any], Any],
        event: Any,
        context: Any,
        *,
        on_error: Callable[[BaseException], None],
        on_timeout: Callable[[], None],
    ) -> None:
        """Run the handler without waiting; exactly one of success, ``on_error``, ``on_timeout``.

        A handler that overruns keeps running (Lambda does not stop it either), its result unused.
        """
        outcome = _Outcome()
        future = self._pool.submit(handler, event, context)

        def done(finished: Future[Any]) -> None:
            error = finished.exception()
            if outcome.claim() and error is not None:
                on_error(error)

        def expire() -> None:
            if outcome.claim():
                on_timeout()

        self.timers.call_at(time.monotonic() + self.timeout, expire)
        future.add_done_callback(done)

    def submit(self, handler: Callable[[Any, Any], Any], event: Any, context: Any) -> None:
        """Run the handler and forget it ($disconnect: nobody is left to answer)."""
        self._pool.submit(handler, event, context).add_done_callback(_print_error)


def _print_error(finished: Future[Any]) -> None:
    error = finished.exception()
    if error is not None:
        traceback.print_exception(type(error), error, error.__traceback__)
