"""microframework.schedule: Rate and Cron expressions, checked at definition."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework import Cron, Rate
from microframework.schedule import expression_string


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1, Rate.MINUTES, "rate(1 minute)"),
        (5, Rate.MINUTES, "rate(5 minutes)"),
        (1, Rate.HOURS, "rate(1 hour)"),
        (2, Rate.DAYS, "rate(2 days)"),
    ],
    ids=["one-minute", "minutes", "one-hour", "days"],
)
def test_rate_to_string(value: int, unit: str, expected: str) -> None:
    assert Rate(value, unit=unit).to_string() == expected
    assert str(Rate(value, unit=unit)) == expected


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0, Rate.MINUTES, "0"),
        (-3, Rate.HOURS, "-3"),
        (1.5, Rate.DAYS, "1.5"),
        ("5", Rate.DAYS, "'5'"),
        (True, Rate.DAYS, "True"),
        (5, "minutes", "'minutes'"),
        (5, "WEEKS", "'WEEKS'"),
    ],
    ids=["zero", "negative", "float", "string", "bool", "lowercase-unit", "unknown-unit"],
)
def test_rate_rejects_bad_values_naming_them(value: Any, unit: str, shown: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {shown}")):
        Rate(value, unit=unit)


@given(st.integers(min_value=2, max_value=10**6), st.sampled_from(["MINUTES", "HOURS", "DAYS"]))
def test_rate_plural_for_any_positive_value(value: int, unit: str) -> None:
    assert Rate(value, unit=unit).to_string() == f"rate({value} {unit.lower()})"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ((0, 10, "*", "*", "?", "*"), "cron(0 10 * * ? *)"),
        ("0/15 8-17 ? * MON-FRI *".split(), "cron(0/15 8-17 ? * MON-FRI *)"),
        ("0 12 L JAN,DEC ? 2030".split(), "cron(0 12 L JAN,DEC ? 2030)"),
        ("0 0 ? * 6#3 *".split(), "cron(0 0 ? * 6#3 *)"),
        ("30 2 15W * ? *".split(), "cron(30 2 15W * ? *)"),
    ],
    ids=["daily", "weekdays", "last-day", "third-friday", "weekday-nearest"],
)
def test_cron_to_string(fields: Any, expected: str) -> None:
    assert Cron(*fields).to_string() == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((0, 10, "*", "*", "*", "*"), "day_of_month or day_of_week, got '*' and '*'"),
        ((0, 10, 1, "*", "MON", "*"), "got 1 and 'MON'"),
        (("0 5", 10, "*", "*", "?", "*"), "minutes is not a valid cron field: '0 5'"),
        ((0, "x", "*", "*", "?", "*"), "hours is not a valid cron field: 'x'"),
        ((0, 10, "*", "ZZZ", "?", "*"), "month is not a valid cron field: 'ZZZ'"),
        ((0, 10, "?", "*", "MON;", "*"), "day_of_week is not a valid cron field: 'MON;'"),
        ((0, 10, "*", "*", "?", ""), "year is not a valid cron field: ''"),
        ((True, 10, "*", "*", "?", "*"), "minutes is not a valid cron field: True"),
    ],
    ids=[
        "both-days",
        "both-days-set",
        "space",
        "letters",
        "month-name",
        "bad-char",
        "empty",
        "bool",
    ],
)
def test_cron_rejects_bad_fields_naming_them(fields: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Cron(*fields)


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ((60, 0, "*", "*", "?", "*"), "60"),
        ((0, 24, "*", "*", "?", "*"), "24"),
        ((-1, 0, "*", "*", "?", "*"), "-1"),
        ((0, 0, 32, "*", "?", "*"), "32"),
        ((0, 0, "?", 13, "*", "*"), "13"),
        ((0, 0, "*", "FOO", "?", "*"), "'FOO'"),
    ],
    ids=["minute-60", "hour-24", "negative", "day-32", "month-13", "month-FOO"],
)
def test_cron_rejects_out_of_range_numbers(fields: Any, shown: str) -> None:
    with pytest.raises(ValueError, match=re.escape(shown)):
        Cron(*fields)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (Rate(3, unit=Rate.HOURS), "rate(3 hours)"),
        (Cron(0, 1, "?", "*", "SUN", "*"), "cron(0 1 ? * SUN *)"),
        ("rate(1 day)", "rate(1 day)"),
        ("  cron(0 1 * * ? *) ", "cron(0 1 * * ? *)"),
    ],
    ids=["rate", "cron", "rate-string", "cron-string-padded"],
)
def test_expression_string(expression: Any, expected: str) -> None:
    assert expression_string(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["every 5 minutes", "rate(5 minutes", 5, None],
    ids=["prose", "unclosed", "int", "none"],
)
def test_expression_string_rejects_other_values(expression: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {expression!r}")):
        expression_string(expression)
