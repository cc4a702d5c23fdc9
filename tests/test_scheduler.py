"""The schedule-expression parser and the local firing loop."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.scheduler import CronSchedule, Job, RateSchedule, Scheduler, parse_schedule

UTC = timezone.utc
START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # a Thursday


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 ? * MON-FRI *)", START, at(2026, 1, 1, 12, 0)),
        ("cron(0 12 ? * MON-FRI *)", at(2026, 1, 2, 12, 0), at(2026, 1, 5, 12, 0)),
        ("cron(*/15 * * * ? *)", at(2026, 1, 1, 0, 14, 59), at(2026, 1, 1, 0, 15)),
        ("cron(0/20 8-10 * * ? *)", START, at(2026, 1, 1, 8, 0)),
        ("cron(5,35 * * * ? *)", at(2026, 1, 1, 0, 5), at(2026, 1, 1, 0, 35)),
        ("cron(15 10 L * ? *)", START, at(2026, 1, 31, 10, 15)),
        ("cron(0 0 L 2 ? *)", START, at(2026, 2, 28, 0, 0)),
        ("cron(0 0 L-2 * ? *)", START, at(2026, 1, 29, 0, 0)),
        ("cron(0 0 LW * ? *)", START, at(2026, 1, 30, 0, 0)),
        ("cron(0 0 1W * ? *)", START, at(2026, 2, 2, 0, 0)),
        ("cron(0 0 31W * ? *)", START, at(2026, 1, 30, 0, 0)),
        ("cron(0 0 ? * 6#3 *)", START, at(2026, 1, 16, 0, 0)),
        ("cron(0 0 ? * MON#1 *)", START, at(2026, 1, 5, 0, 0)),
        ("cron(0 0 ? * 2L *)", START, at(2026, 1, 26, 0, 0)),
        ("cron(0 0 ? * L *)", START, at(2026, 1, 3, 0, 0)),
        ("cron(0 0 ? * FRI-MON *)", START, at(2026, 1, 2, 0, 0)),
        ("cron(0 0 29 FEB ? *)", START, at(2028, 2, 29, 0, 0)),
        ("cron(0 0 1 JAN,JUL ? 2027-2030/2)", START, at(2027, 1, 1, 0, 0)),
        ("cron(0 0 1 1 ? 2020)", START, None),
        ("cron(0 0 31 4 ? *)", START, None),
        ("rate(5 minutes)", START, at(2026, 1, 1, 0, 5)),
        ("rate(1 hour)", at(2026, 1, 1, 1, 30), at(2026, 1, 1, 2, 0)),
        ("rate(2 days)", START, at(2026, 1, 3, 0, 0)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_next_fire_time(expression: str, after: datetime, expected: datetime | None) -> None:
    assert parse_schedule(expression, anchor=START).next_after(after) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(5 minute)", "rate(5 minutes)"),
        ("rate(0 minutes)", "rate(0 minutes)"),
        ("rate(5 weeks)", "rate(N minutes|hours|days)"),
        ("cron(0 12 * * *)", "6 fields"),
        ("cron(0 12 * * * *)", "exactly one of"),
        ("cron(0 12 ? * ? *)", "exactly one of"),
        ("cron(60 12 * * ? *)", "minutes: 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours"),
        ("cron(0 0 ? * 8 *)", "day-of-week"),
        ("cron(0 0 ? * MON#6 *)", "day-of-week"),
        ("cron(0 0 ? FOO * *)", "month"),
        ("cron(*/0 0 * * ? *)", "bad step"),
        ("cron(1,,2 0 * * ? *)", "empty item"),
        ("every 5 minutes", "use 'rate(...)' or 'cron(...)'"),
    ],
)
def test_bad_expressions_name_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match="bad") as info:
        parse_schedule(expression)
    assert message in str(info.value)


def _field(values: st.SearchStrategy[int], low: int, high: int) -> st.SearchStrategy[str]:
    single = values.map(str)
    ranged = st.tuples(values, values).map(lambda p: f"{min(p)}-{max(p)}")
    stepped = st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, high - low + 1)).map(
        lambda p: f"{p[0]}/{p[1]}"
    )
    item = st.one_of(st.just("*"), single, ranged, stepped)
    return st.lists(item, min_size=1, max_size=3).map(",".join)


cron_fields = st.tuples(
    _field(st.integers(0, 59), 0, 59),
    _field(st.integers(0, 23), 0, 23),
    st.one_of(
        st.tuples(_field(st.integers(1, 28), 1, 31), st.just("?")),
        st.tuples(st.just("?"), _field(st.integers(1, 7), 1, 7)),
        st.tuples(st.sampled_from(["L", "LW", "15W", "L-3"]), st.just("?")),
        st.tuples(st.just("?"), st.sampled_from(["2#1", "6L", "MON-FRI", "L"])),
    ),
    _field(st.integers(1, 12), 1, 12),
)
moments = st.datetimes(datetime(2020, 1, 1), datetime(2150, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=150, deadline=None)
@given(cron_fields, moments)
def test_cron_next_is_the_first_match_after(fields: tuple, moment: datetime) -> None:
    minutes, hours, (dom, dow), month = fields
    cron = CronSchedule(f"{minutes} {hours} {dom} {month} {dow} *")
    found = cron.next_after(moment)
    assert found is not None and found > moment
    assert found.second == 0 and cron.matches(found)
    # Nothing matches in between: check minute by minute when the gap is short.
    if found - moment < timedelta(days=2):
        probe = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while probe < found:
            assert not cron.matches(probe), probe
            probe += timedelta(minutes=1)
    assert cron.next_after(found - timedelta(seconds=30)) == found


@given(st.integers(1, 500), st.sampled_from(["minutes", "hours", "days"]), moments)
def test_rate_fires_on_its_grid(value: int, unit: str, moment: datetime) -> None:
    unit = unit.rstrip("s") if value == 1 else unit
    rate = parse_schedule(f"rate({value} {unit})", anchor=START)
    assert isinstance(rate, RateSchedule)
    found = rate.next_after(moment)
    assert found > moment and found - rate.interval <= max(moment, START - rate.interval)
    assert (found - START) % rate.interval == timedelta(0)


def test_run_due_fires_due_jobs_once_and_moves_on() -> None:
    fired: list[str] = []
    scheduler = Scheduler(
        [Job("tick", parse_schedule("rate(1 minute)", anchor=START), lambda e, c: None)],
        fire=lambda job, now: fired.append(job.name),
        clock=lambda: START,
    )
    assert scheduler.run_due(START) == []
    assert [j.name for j in scheduler.run_due(START + timedelta(minutes=5))] == ["tick"]
    assert fired == ["tick"]  # missed slots fire once, not five times
    assert scheduler.jobs[0].next_fire == START + timedelta(minutes=6)


class _Every:
    """A schedule firing every ``seconds``, so the thread can be seen working in a test."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)


def test_the_thread_fires_until_stopped() -> None:
    calls = threading.Semaphore(0)
    scheduler = Scheduler(
        [Job("fast", _Every(0.02), lambda e, c: None)], fire=lambda j, n: calls.release()
    )
    scheduler.start()
    try:
        assert all(calls.acquire(timeout=10) for _ in range(3))
    finally:
        scheduler.stop()
    time.sleep(0.05)
    while calls.acquire(timeout=0):
        pass
    assert not calls.acquire(timeout=0.1)


def test_set_jobs_keeps_a_surviving_jobs_time() -> None:
    scheduler = Scheduler(
        [Job("a", parse_schedule("rate(1 hour)", anchor=START), lambda e, c: None)],
        fire=lambda j, n: None,
        clock=lambda: START + timedelta(minutes=10),
    )
    kept = scheduler.jobs[0].next_fire
    scheduler.set_jobs(
        [
            Job("a", parse_schedule("rate(1 hour)", anchor=START), lambda e, c: None),
            Job("b", parse_schedule("cron(0 0 * * ? *)"), lambda e, c: None),
        ]
    )
    assert [j.next_fire for j in scheduler.jobs] == [kept, at(2026, 1, 2, 0, 0)]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("rate(1 day)", "rate(5 minutes)", START + timedelta(minutes=15)),
        ("cron(0 0 * * ? *)", "cron(30 * * * ? *)", at(2026, 1, 1, 0, 30)),
    ],
    ids=["rate", "cron"],
)
def test_set_jobs_reschedules_a_job_whose_expression_changed(
    before: str, after: str, expected: datetime
) -> None:
    scheduler = Scheduler(
        [Job("a", parse_schedule(before, anchor=START), lambda e, c: None)],
        fire=lambda j, n: None,
        clock=lambda: START + timedelta(minutes=10),
    )
    scheduler.set_jobs([Job("a", parse_schedule(after, anchor=START), lambda e, c: None)])
    assert scheduler.jobs[0].next_fire == expected


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, line: str) -> None:
        self.lines.append(line)


def test_fw_local_fires_the_apps_schedules_with_schedule_events(tmp_path) -> None:
    from cli.commands.local import _fire, _GatewayLoader, _schedule_jobs

    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "sched"}')
    (tmp_path / "app.py").write_text(
        "from microframework import App\n"
        "app = App('sched')\n"
        "@app.schedule('cron(0/5 * * * ? *)')\n"
        "def tick(event):\n"
        "    return {'rule': event.resources[0], 'type': event.detail_type}\n"
        "@app.schedule('rate(1 hour)')\n"
        "def broken(event):\n"
        "    raise RuntimeError('no database')\n"
    )
    loader = _GatewayLoader(tmp_path, "dev")
    loader()
    log = _Log()
    scheduler = Scheduler(_schedule_jobs(loader, START), _fire(loader, log), clock=lambda: START)
    assert [j.next_fire for j in scheduler.jobs] == [at(2026, 1, 1, 0, 5), at(2026, 1, 1, 1, 0)]
    scheduler.run_due(at(2026, 1, 1, 1, 0))
    assert log.lines == [
        'schedule tick fired at 01:00:00Z -> {"rule": "arn:aws:events:us-east-1:123456789012:'
        'rule/sched-dev-tick", "type": "Scheduled Event"}; next 2026-01-01 01:05:00Z',
        "schedule broken: RuntimeError: no database; next 2026-01-01 02:00:00Z",
    ]


def test_fw_local_refuses_a_bad_schedule_at_startup(tmp_path) -> None:
    from cli.commands.local import _GatewayLoader, _schedule_jobs
    from deployer.errors import FwError

    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "sched"}')
    (tmp_path / "app.py").write_text(
        "from microframework import App\n"
        "app = App('sched')\n"
        "@app.schedule('rate(1 minutes)')\n"
        "def tick(event):\n"
        "    pass\n"
    )
    loader = _GatewayLoader(tmp_path, "dev")
    loader()
    with pytest.raises(FwError, match="schedule 'tick': bad rate expression 'rate\\(1 minutes\\)'"):
        _schedule_jobs(loader, START)
