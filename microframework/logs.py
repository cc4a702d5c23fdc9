"""The app's logger, configured as Chalice configures it: to stdout, ``name - LEVEL - message``,
at ERROR (DEBUG in debug mode), not propagated to the root logger.

Imported on the first use of ``app.log`` only: ``logging`` costs a cold start milliseconds, and
a request that goes well logs nothing. Lambda sends stdout and stderr alike to CloudWatch Logs;
stdout is where Chalice writes, so that is where a ported app's tests look (pytest's capsys).
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(name)s - %(levelname)s - %(message)s"


class StdoutHandler(logging.StreamHandler):
    """Writes to ``sys.stdout`` as it is when a record is emitted, not as it was at setup.

    The logger is set up once per app, but a test runner swaps ``sys.stdout`` for each test.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> object:
        return sys.stdout


def app_logger(name: str, debug: bool, configure: bool, level: str | None = None) -> logging.Logger:
    """The logger named after the app; with ``configure``, set up as Chalice does.

    ``level`` (a level name) replaces Chalice's ERROR when given; debug mode still means DEBUG.
    """
    log = logging.getLogger(name)
    if configure:
        if not _writes_to_stdout(log):
            handler = StdoutHandler()
            handler.setFormatter(logging.Formatter(FORMAT))
            log.addHandler(handler)
            log.propagate = False
        set_level(log, debug, level)
    return log


def set_level(log: logging.Logger, debug: bool, level: str | None = None) -> None:
    log.setLevel(logging.DEBUG if debug else (level or logging.ERROR))


def _writes_to_stdout(log: logging.Logger) -> bool:
    # Chalice's test: a handler already sending this logger to stdout (another app object of the
    # same name, or the user's own) is not doubled; one to stderr or a file is kept beside it.
    return any(
        isinstance(h, logging.StreamHandler) and h.stream is sys.stdout for h in log.handlers
    )
