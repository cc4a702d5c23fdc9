"""Schedule expressions for ``@app.schedule``, checked when the app is defined, not at deploy."""

from __future__ import annotations


class ScheduleExpression:
    """An EventBridge schedule expression; ``to_string()`` gives ``rate(...)`` or ``cron(...)``."""

    def to_string(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.to_string()


class Rate(ScheduleExpression):
    """``Rate(5, unit=Rate.MINUTES)`` -> ``rate(5 minutes)``; EventBridge wants the singular for 1."""

    MINUTES = "MINUTES"
    HOURS = "HOURS"
    DAYS = "DAYS"

    def __init__(self, value: int, unit: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Rate value must be a positive integer, got {value!r}")
        if unit not in (self.MINUTES, self.HOURS, self.DAYS):
            raise ValueError(
                f"Rate unit must be Rate.MINUTES, Rate.HOURS or Rate.DAYS, got {unit!r}"
            )
        self.value = value
        self.unit = unit

    def to_string(self) -> str:
        unit = self.unit.lower()
        if self.value == 1:
            unit = unit[:-1]
        return f"rate({self.value} {unit})"


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# Field name, its numeric range, and its names (EventBridge's cron grammar). The service has the
# final word; this catches what it would reject, when the app is defined rather than at deploy.
_CRON_FIELDS = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day_of_month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day_of_week", 1, 7, _DAYS),
    ("year", 1970, 2199, ()),
)


def _cron_atom_ok(atom: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if atom in names:
        return True
    return atom.isdigit() and low <= int(atom) <= high


def _cron_field_ok(field: str, text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text == "?":
        return field in ("day_of_month", "day_of_week")
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return False
        if base == "*":
            continue
        if (
            field == "day_of_month"
            and not slash
            and (
                base in ("L", "LW")
                or (base.endswith("W") and _cron_atom_ok(base[:-1], low, high, ()))
            )
        ):
            continue
        if field == "day_of_week" and not slash:
            if base == "L" or (base.endswith("L") and _cron_atom_ok(base[:-1], low, high, names)):
                continue
            day, hash_, nth = base.partition("#")
            if hash_:
                if _cron_atom_ok(day, low, high, names) and nth in ("1", "2", "3", "4", "5"):
                    continue
                return False
        first, dash, last = base.partition("-")
        if not _cron_atom_ok(first, low, high, names):
            return False
        if dash and not _cron_atom_ok(last, low, high, names):
            return False
    return True


class Cron(ScheduleExpression):
    """``Cron(0, 10, '*', '*', '?', '*')`` -> ``cron(0 10 * * ? *)``."""

    def __init__(
        self,
        minutes: str | int,
        hours: str | int,
        day_of_month: str | int,
        month: str | int,
        day_of_week: str | int,
        year: str | int,
    ) -> None:
        values = (minutes, hours, day_of_month, month, day_of_week, year)
        for (field, low, high, names), value in zip(_CRON_FIELDS, values, strict=True):
            text = str(value).upper()
            if isinstance(value, bool) or not _cron_field_ok(field, text, low, high, names):
                raise ValueError(f"Cron {field} is not a valid cron field: {value!r}")
        if str(day_of_month) != "?" and str(day_of_week) != "?":
            # EventBridge rejects a rule that fixes both; say so before a deploy fails on it.
            raise ValueError(
                f"Cron needs '?' in day_of_month or day_of_week, got {day_of_month!r} and {day_of_week!r}"
            )
        self.minutes, self.hours, self.day_of_month = minutes, hours, day_of_month
        self.month, self.day_of_week, self.year = month, day_of_week, year

    def to_string(self) -> str:
        fields = (
            self.minutes,
            self.hours,
            self.day_of_month,
            self.month,
            self.day_of_week,
            self.year,
        )
        return "cron({})".format(" ".join(str(f) for f in fields))


def expression_string(expression: str | ScheduleExpression) -> str:
    """Normalize a schedule to its string form, rejecting what EventBridge would."""
    if isinstance(expression, ScheduleExpression):
        return expression.to_string()
    if isinstance(expression, str):
        text = expression.strip()
        if (text.startswith("rate(") or text.startswith("cron(")) and text.endswith(")"):
            return text
    raise ValueError(
        f"schedule expression must be a Rate, a Cron, or a 'rate(...)'/'cron(...)' string, got {expression!r}"
    )
