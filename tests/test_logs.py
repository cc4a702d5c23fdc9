"""microframework.logs: app.log as Chalice sets it up (stdout, its format and levels), loaded lazily."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from microframework import App
from microframework.logs import StdoutHandler


@pytest.fixture
def name(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"fw-logs-{request.node.name}"
    yield name
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = True


def test_log_follows_sys_stdout_as_it_is_when_a_record_is_written(name: str) -> None:
    first, second = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(first):
        log = App(name).log  # set up while one stdout is in place...
    with contextlib.redirect_stdout(second):
        log.error("boom %d", 1)  # ...written while another is
    assert (first.getvalue(), second.getvalue()) == ("", f"{name} - ERROR - boom 1\n")


def test_another_handler_is_kept_and_a_second_app_does_not_double_the_output(name: str) -> None:
    stderr_handler = logging.StreamHandler(sys.stderr)
    logging.getLogger(name).addHandler(stderr_handler)
    assert App(name).log.name == name
    assert App(name).log.name == name
    handlers = logging.getLogger(name).handlers
    assert handlers[0] is stderr_handler
    assert [type(h) for h in handlers[1:]] == [StdoutHandler]


def test_configure_logs_false_leaves_the_logger_alone(name: str) -> None:
    log = App(name, configure_logs=False).log
    assert (log.handlers, log.propagate, log.level) == ([], True, logging.NOTSET)


def test_a_request_that_goes_well_does_not_import_logging() -> None:
    code = (
        "import sys\n"
        "from microframework import App\n"
        "from microframework.sample_events import apigateway_event\n"
        "app = App('quiet')\n"
        "app.route('/')(lambda: {'ok': True})\n"
        "assert app(apigateway_event('GET', '/'), None)['statusCode'] == 200\n"
        "print('logging' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code], cwd=root, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "False\n", "")


def test_log_level_makes_info_show_and_debug_mode_still_wins(name: str) -> None:
    out = io.StringIO()
    app = App(name, log_level="INFO")
    with contextlib.redirect_stdout(out):
        app.log.info("shown %d", 1)
        app.log.debug("hidden")
        app.debug = True
        app.log.debug("debug mode")
        app.debug = False
        app.log.debug("hidden again")
    assert out.getvalue() == f"{name} - INFO - shown 1\n{name} - DEBUG - debug mode\n"


def test_without_log_level_info_stays_hidden_as_in_chalice(name: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        App(name).log.info("hidden")
    assert out.getvalue() == ""


def test_a_bad_log_level_fails_when_the_app_is_made() -> None:
    with pytest.raises(ValueError, match="log_level 'info' is not a logging level; use one of"):
        App("x", log_level="info")


def test_log_level_imports_no_logging_at_cold_start() -> None:
    code = (
        "import sys\n"
        "from microframework import App\n"
        "app = App('new', log_level='INFO')\n"
        "print('logging' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code], cwd=root, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "False\n", "")
