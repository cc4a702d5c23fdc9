"""What a stage has in AWS now, read through boto3: the planner's only view of the world.

``RemoteState`` is a read-only protocol with one method, ``ask(read, *args)``, so the planner's
tests can answer it from a dict. The reads themselves belong to the kinds (each kind module's
``READS``: the service a read calls and the function that calls it); the boto3 implementation
here makes only their Get/List/Describe calls. "Does not exist" is ``None`` (or an empty result),
never an exception; any other failure is a DeployError naming the call.
"""

from __future__ import annotations

from typing import Any

from deployer.deploy import kinds
from deployer.deploy.aws import AwsContext
from deployer.deploy.kinds.base import Question, Reader

__all__ = ["BotoRemoteState", "PrefetchedRemoteState"]


class BotoRemoteState:
    """:class:`RemoteState` over boto3 clients; every read makes only read calls."""

    def __init__(self, aws: AwsContext) -> None:
        self._reader = Reader(aws)

    def ask(self, read: str, *args: Any) -> Any:
        return kinds.reads_table()[read].call(self._reader, *args)

    def prepare(self, reads: list[str]) -> None:
        """Create the clients ``reads`` need, before any thread starts: creating boto3 clients
        is not thread-safe (using them is), and only for services a question needs: loading a
        service model is most of a no-op deploy's local time."""
        table = kinds.reads_table()
        for service in dict.fromkeys(table[read].service for read in reads):
            self._reader.client(service)


class PrefetchedRemoteState:
    """A :class:`RemoteState` whose answers were read concurrently, up front.

    The planner asks dozens of independent questions; against AWS each is a round trip of tens
    of milliseconds, so asking them from a thread pool makes a no-op deploy several times
    faster. Questions not prefetched fall through to the wrapped state.
    """

    def __init__(self, inner: BotoRemoteState) -> None:
        self._inner = inner
        self._answers: dict[Question, Any] = {}

    def prefetch(self, questions: list[Question], *, workers: int = 8) -> None:
        """Answer ``(read, args)`` questions concurrently and keep the answers."""
        from concurrent.futures import ThreadPoolExecutor

        unique = list(dict.fromkeys(questions))
        self._inner.prepare([read for read, _ in unique])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {q: pool.submit(self._inner.ask, q[0], *q[1]) for q in unique}
            for question, future in futures.items():
                self._answers[question] = future.result()

    def ask(self, read: str, *args: Any) -> Any:
        key = (read, args)
        if key not in self._answers:
            self._answers[key] = self._inner.ask(read, *args)
        return self._answers[key]
