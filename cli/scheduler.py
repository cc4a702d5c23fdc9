"""EventBridge schedule expressions, and the thread that fires ``@app.schedule`` handlers locally.

``parse_schedule("rate(5 minutes)")`` or ``parse_schedule("cron(0 12 ? * MON-FRI *)")`` gives an
object whose ``next_after(t)`` is the next fire time strictly after ``t``. Times are UTC, as
EventBridge evaluates rules in UTC. The cron grammar is EventBridge's six fields (minutes hours
day-of-month month day-of-week year) with ``* ? , - /`` plus ``L``, ``W``, ``#`` and names.
"""

from __future__ import annotations

import bisect
import calendar
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from microframework.local_sources import LocalSource

__all__ = [
    "CronSchedule",
    "Job",
    "RateSchedule",
    "Schedule",
    "Scheduler",
    "next_fire_text",
    "parse_schedule",
]

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
# EventBridge numbers the week from Sunday: 1=SUN ... 7=SAT.
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_YEAR_MIN, _YEAR_MAX = 1970, 2199
_RATE_RE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class RateSchedule:
    """Every ``interval``, counted from ``anchor`` (for ``fw local``, the moment it started)."""

    interval: timedelta
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime:
        if moment < self.anchor:
            return self.anchor
        periods = (moment - self.anchor) // self.interval + 1
        return self.anchor + periods * self.interval


def _aws_weekday(year: int, month: int, day: int) -> int:
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


class _Field:
    """A plain numeric cron field: the sorted values it allows."""

    def __init__(self, values: Iterable[int]) -> None:
        self.values = sorted(set(values))
        self._set = frozenset(self.values)

    def __contains__(self, value: int) -> bool:
        return value in self._set

    def next_from(self, value: int) -> int | None:
        """The smallest allowed value >= ``value``, or None."""
        index = bisect.bisect_left(self.values, value)
        return self.values[index] if index < len(self.values) else None


def _number(token: str, low: int, high: int, names: dict[str, int] | None, what: str) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise ValueError(f"{what}: {token!r} is not a number")
    value = int(token)
    if not low <= value <= high:
        raise ValueError(f"{what}: {value} is outside {low}-{high}")
    return value


def _range_values(
    item: str, low: int, high: int, names: dict[str, int] | None, what: str
) -> list[int]:
    """Values of one list item: ``*``, ``n``, ``a-b``, each with an optional ``/step``."""
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ValueError(f"{what}: bad step in {item!r}")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start = _number(first, low, high, names, what)
        end = _number(last, low, high, names, what)
    else:
        start = _number(base, low, high, names, what)
        end = high if slash else start
    if start <= end:
        return list(range(start, end + 1, step))
    # A range that wraps, like FRI-MON or 22-2 hours.
    span = list(range(start, high + 1)) + list(range(low, end + 1))
    return span[::step]


def _numeric_field(
    text: str, low: int, high: int, what: str, names: dict[str, int] | None = None
) -> _Field:
    values: list[int] = []
    for item in text.split(","):
        if not item:
            raise ValueError(f"{what}: empty item in {text!r}")
        values.extend(_range_values(item, low, high, names, what))
    return _Field(values)


class _DayField:
    """Day-of-month or day-of-week: which days of a given month it allows (``L``/``W``/``#``)."""

    def __init__(self, text: str, weekday: bool) -> None:
        self.text = text
        self.weekday = weekday
        self.any = text == "?"
        what = "day-of-week" if weekday else "day-of-month"
        # Each rule maps (year, month, days in month) to allowed days.
        self._rules: list[Callable[[int, int, int], Iterable[int]]] = []
        self._cache: dict[tuple[int, int], list[int]] = {}
        if self.any:
            return
        for item in text.split(","):
            if not item:
                raise ValueError(f"{what}: empty item in {text!r}")
            self._rules.append(self._day_rule(item) if weekday else self._date_rule(item))

    @staticmethod
    def _date_rule(item: str) -> Callable[[int, int, int], Iterable[int]]:
        what = "day-of-month"
        upper = item.upper()
        if upper == "L":
            return lambda y, m, last: (last,)
        if upper == "LW":
            return lambda y, m, last: (_nearest_weekday(y, m, last, last),)
        if upper.startswith("L-"):
            offset = _number(item[2:], 0, 30, None, what)
            return lambda y, m, last: (last - offset,) if last - offset >= 1 else ()
        if upper.endswith("W"):
            day = _number(item[:-1], 1, 31, None, what)
            return lambda y, m, last: (_nearest_weekday(y, m, day, last),) if day <= last else ()
        values = _range_values(item, 1, 31, None, what)
        return lambda y, m, last: [d for d in values if d <= last]

    @staticmethod
    def _day_rule(item: str) -> Callable[[int, int, int], Iterable[int]]:
        what = "day-of-week"
        upper = item.upper()
        if upper == "L":  # the last day of the week: Saturday
            upper = "SAT"
        if "#" in upper:
            day_text, _, nth_text = upper.partition("#")
            weekday = _number(day_text, 1, 7, _WEEKDAYS, what)
            nth = _number(nth_text, 1, 5, None, what)

            def nth_weekday(y: int, m: int, last: int) -> Iterable[int]:
                first = 1 + (weekday - _aws_weekday(y, m, 1)) % 7
                day = first + 7 * (nth - 1)
                return (day,) if day <= last else ()

            return nth_weekday
        if upper.endswith("L"):
            weekday = _number(upper[:-1], 1, 7, _WEEKDAYS, what)

            def last_weekday(y: int, m: int, last: int) -> Iterable[int]:
                return (last - (_aws_weekday(y, m, last) - weekday) % 7,)

            return last_weekday
        weekdays = set(_range_values(upper, 1, 7, _WEEKDAYS, what))
        return lambda y, m, last: [
            d for d in range(1, last + 1) if _aws_weekday(y, m, d) in weekdays
        ]

    def days(self, year: int, month: int) -> list[int]:
        key = (year, month)
        found = self._cache.get(key)
        if found is None:
            last = calendar.monthrange(year, month)[1]
            found = sorted({d for rule in self._rules for d in rule(year, month, last)})
            if len(self._cache) > 600:  # bounded: a long-running scheduler walks forward forever
                self._cache.clear()
            self._cache[key] = found
        return found


def _nearest_weekday(year: int, month: int, day: int, last: int) -> int:
    """The weekday nearest ``day`` without leaving the month (the ``W`` rule)."""
    weekday = _aws_weekday(year, month, day)
    if weekday == 7:  # Saturday: Friday, or Monday when the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 1:  # Sunday: Monday, or Friday when the last day is a Sunday
        return day + 1 if day < last else day - 2
    return day


class CronSchedule:
    """An EventBridge ``cron(...)`` expression, evaluated in UTC."""

    def __init__(self, fields: str) -> None:
        parts = fields.split()
        if len(parts) != 6:
            raise ValueError(
                f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
                f"got {len(parts)} in {fields!r}"
            )
        minutes, hours, dom, month, dow, year = parts
        self.expression = f"cron({' '.join(parts)})"
        self.minutes = _numeric_field(minutes, 0, 59, "minutes")
        self.hours = _numeric_field(hours, 0, 23, "hours")
        self.months = _numeric_field(month, 1, 12, "month", _MONTHS)
        self.years = _numeric_field(year, _YEAR_MIN, _YEAR_MAX, "year")
        if ("?" in dom and dom != "?") or ("?" in dow and dow != "?"):
            raise ValueError(f"'?' must stand alone in its field, in {self.expression!r}")
        if (dom == "?") == (dow == "?"):
            # EventBridge's rule: exactly one of the two day fields is '?'.
            raise ValueError(
                f"exactly one of day-of-month and day-of-week must be '?', in {self.expression!r}"
            )
        self.day_of_month = _DayField(dom, weekday=False)
        self.day_of_week = _DayField(dow, weekday=True)
        self._days = self.day_of_week if self.day_of_month.any else self.day_of_month

    def matches(self, moment: datetime) -> bool:
        """True when the rule fires in ``moment``'s minute (UTC)."""
        moment = moment.astimezone(timezone.utc)
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and moment.year in self.years
            and moment.day in self._days.days(moment.year, moment.month)
        )

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after ``moment``, or None if there is none."""
        start = moment.astimezone(timezone.utc).replace(second=0, microsecond=0)
        start += timedelta(minutes=1)
        year, month, day, hour, minute = (
            start.year,
            start.month,
            start.day,
            start.hour,
            start.minute,
        )
        # Each step moves to the next allowed value of one field and resets the smaller ones,
        # so the loop runs a handful of times per field, never minute by minute.
        while year <= _YEAR_MAX:
            found = self.years.next_from(year)
            if found is None:
                return None
            if found != year:
                year, month, day, hour, minute = found, 1, 1, 0, 0
            found = self.months.next_from(month)
            if found is None:
                year, month, day, hour, minute = year + 1, 1, 1, 0, 0
                continue
            if found != month:
                month, day, hour, minute = found, 1, 0, 0
            days = self._days.days(year, month)
            index = bisect.bisect_left(days, day)
            if index == len(days):
                month, day, hour, minute = month + 1, 1, 0, 0
                continue
            if days[index] != day:
                day, hour, minute = days[index], 0, 0
            found = self.hours.next_from(hour)
            if found is None:
                day, hour, minute = day + 1, 0, 0
                continue
            if found != hour:
                hour, minute = found, 0
            found = self.minutes.next_from(minute)
            if found is None:
                hour, minute = hour + 1, 0
                continue
            return datetime(year, month, day, hour, found, tzinfo=timezone.utc)
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronSchedule):
            return NotImplemented
        return self.expression == other.expression

    def __hash__(self) -> int:
        return hash(self.expression)

    def __repr__(self) -> str:
        return f"<CronSchedule {self.expression}>"


def parse_schedule(
    expression: str, *, anchor: datetime | None = None
) -> RateSchedule | CronSchedule:
    """Parse ``rate(...)`` or ``cron(...)``; raises ValueError naming what is wrong."""
    text = expression.strip()
    if text.startswith("rate("):
        match = _RATE_RE.fullmatch(text)
        if match is None:
            raise ValueError(
                f"bad rate expression {expression!r}: use 'rate(N minutes|hours|days)'"
            )
        value, unit = int(match.group(1)), match.group(2)
        singular = unit.rstrip("s")
        if value < 1 or (value == 1) != (unit == singular):
            # EventBridge insists on 'rate(1 minute)' but 'rate(5 minutes)'.
            want = f"rate(1 {singular})" if value == 1 else f"rate({value} {singular}s)"
            raise ValueError(f"bad rate expression {expression!r}: EventBridge wants {want!r}")
        start = anchor or datetime.now(timezone.utc)
        return RateSchedule(timedelta(seconds=value * _RATE_UNITS[singular]), start)
    if text.startswith("cron(") and text.endswith(")"):
        try:
            return CronSchedule(text[5:-1])
        except ValueError as err:
            raise ValueError(f"bad cron expression {expression!r}: {err}") from None
    raise ValueError(f"bad schedule expression {expression!r}: use 'rate(...)' or 'cron(...)'")


@dataclass(eq=False)
class Job:
    """One scheduled handler; ``next_fire`` is None once its schedule has no more times.

    ``source``: the local declaration of the handler's event source (what ``fw local`` fires
    it with), when the job comes from an app.
    """

    name: str
    schedule: Schedule
    handler: Callable[[Any, Any], Any]
    next_fire: datetime | None = field(default=None)
    source: LocalSource | None = field(default=None, kw_only=True)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """Fires each job's handler at its times, in a daemon thread, until ``stop()``.

    ``fire(job, now)`` does the call (the CLI builds the event and context and reports errors);
    a job whose time passed while the process was busy fires once, not once per missed slot.
    """

    # Wake at least this often so replaced jobs and a changed wall clock are noticed.
    MAX_SLEEP = 1.0

    def __init__(
        self,
        jobs: Iterable[Job],
        fire: Callable[[Job, datetime], None],
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._fire = fire
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._jobs: list[Job] = []
        self.set_jobs(jobs)

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        """Replace the jobs (after a reload); one left on the same schedule keeps its time."""
        now = self._clock()
        previous = {job.name: job for job in self.jobs}
        fresh = list(jobs)
        for job in fresh:
            old = previous.get(job.name)
            kept = old.next_fire if old is not None and old.schedule == job.schedule else None
            job.next_fire = kept or job.schedule.next_after(now)
        with self._lock:
            self._jobs = fresh

    def run_due(self, now: datetime) -> list[Job]:
        """Fire every job due at ``now``; returns the jobs fired."""
        fired = []
        for job in self.jobs:
            if job.next_fire is not None and job.next_fire <= now:
                job.next_fire = job.schedule.next_after(now)
                self._fire(job, now)
                fired.append(job)
        return fired

    def _seconds_to_next(self) -> float:
        upcoming = [job.next_fire for job in self.jobs if job.next_fire is not None]
        if not upcoming:
            return self.MAX_SLEEP
        wait = (min(upcoming) - self._clock()).total_seconds()
        return min(max(wait, 0.0), self.MAX_SLEEP)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_due(self._clock())
            self._stop.wait(self._seconds_to_next())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fw-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def next_fire_text(job: Job) -> str:
    """When ``job`` fires next, for ``fw local``'s output: ``next 2026-01-01 00:05:00Z``."""
    if job.next_fire is None:
        return "no more times"
    return f"next {job.next_fire.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}Z"
