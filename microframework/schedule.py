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


# Field name, and what one field may hold (EventBridge's cron grammar, loosely: the service has the
# final word, this catches typos early).
_CRON_FIELDS = (
    ("minutes", "0123456789,-*/"),
    ("hours", "0123456789,-*/"),
    ("day_of_month", "0123456789,-*?/LW"),
    ("month", "0123456789,-*/ABCDEFGJLMNOPRSTUVY"),
    ("day_of_week", "0123456789,-*?/L#ADEFHIMNORSTUW"),
    ("year", "0123456789,-*/"),
)


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
        for (field, allowed), value in zip(_CRON_FIELDS, values, strict=True):
            text = str(value)
            if isinstance(value, bool) or not text or any(c not in allowed for c in text.upper()):
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
