"""Durations as staff write them after ``#time``, and as maildesk shows them."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.durations import (
    MAX_ENTRY_MINUTES,
    DurationError,
    format_compact,
    format_minutes,
    parse_duration,
)

SETTINGS = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1h30", 90),
        ("1h 30m", 90),
        ("1h30m", 90),
        ("1 h 30 min", 90),
        ("1 hour 30 minutes", 90),
        ("2 hours", 120),
        ("1hr", 60),
        ("1hrs 5mins", 65),
        ("1h05", 65),
        ("1h5", 65),
        ("45m", 45),
        ("45 min", 45),
        ("45 MIN", 45),
        ("90 minutes", 90),
        ("1 minute", 1),
        ("1:30", 90),
        ("0:45", 45),
        ("10:05", 605),
        ("0.5h", 30),
        ("1,5h", 90),
        ("1,5 h", 90),
        ("1.25h", 75),
        ("0.05h", 3),
        ("2h", 120),
        ("2H", 120),
        ("1u30", 90),
        ("2 uur", 120),
        ("3 heures", 180),
        ("20 mn", 20),
        ("  1h30  ", 90),
        ("\u00a01h30\t", 90),
        ("24h", MAX_ENTRY_MINUTES),
        ("23h59", MAX_ENTRY_MINUTES - 1),
    ],
)
def test_accepted_forms(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no duration given"),
        ("   ", "no duration given"),
        ("90", "has no unit: write 90m for minutes or 90h for hours"),
        ("1.5", "has no unit: write 1.5h"),
        ("0m", "is zero"),
        ("0h", "is zero"),
        ("0:00", "is zero"),
        ("0.0h", "is zero"),
        ("-1h", "cannot be negative"),
        ("-30m", "cannot be negative"),
        ("\u221230m", "cannot be negative"),
        ("25h", "more than 24 h in one entry"),
        ("24h01", "more than 24 h in one entry"),
        ("24:01", "more than 24 h in one entry"),
        ("1441m", "more than 24 h in one entry"),
        ("0.3m", "minutes must be a whole number"),
        ("1,5 min", "minutes must be a whole number"),
        ("1.000m", "minutes must be a whole number"),
        ("1h 30.5m", "minutes must be a whole number"),
        ("0.01h", "0.6 minutes, not a whole number of minutes"),
        ("1.001h", "not a whole number of minutes"),
        ("1.5h30", "mixes decimal hours with minutes"),
        ("1h90", "minutes after the hours must be below 60"),
        ("1h 60m", "minutes after the hours must be below 60"),
        ("1:75", "minutes after ':' must be below 60"),
        ("1:5", "is not a duration"),
        ("garbage", "is not a duration"),
        ("h", "is not a duration"),
        ("1h30x", "is not a duration"),
        ("+1h", "is not a duration"),
        ("1e2m", "is not a duration"),
        (".5h", "is not a duration"),
        ("1h30 fixing the login page", "is not a duration"),
        ("\u0661h", "is not a duration"),  # an Arabic-Indic digit one
        ("9" * 100 + "h", "too long for a duration"),
    ],
)
def test_rejected_forms_say_why(text: str, fragment: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert fragment in str(caught.value)


def test_rejected_text_is_quoted_back_to_the_writer() -> None:
    with pytest.raises(DurationError, match="'1h90'"):
        parse_duration("  1h90 ")


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


def test_max_minutes_moves_the_typo_guard() -> None:
    assert parse_duration("40h", max_minutes=None) == 2400
    assert parse_duration("2h", max_minutes=120) == 120
    with pytest.raises(DurationError, match="more than 1 h 30 min in one entry"):
        parse_duration("2h", max_minutes=90)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (90, "1 h 30 min"),
        (45, "45 min"),
        (120, "2 h"),
        (0, "0 min"),
        (1, "1 min"),
        (61, "1 h 1 min"),
        (-75, "-1 h 15 min"),
        (-30, "-30 min"),
        (-120, "-2 h"),
        (2400, "40 h"),
    ],
)
def test_format_minutes(minutes: int, text: str) -> None:
    assert format_minutes(minutes) == text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(90, "1h30"), (65, "1h05"), (45, "45m"), (120, "2h"), (0, "0m"), (-75, "-1h15")],
)
def test_format_compact(minutes: int, text: str) -> None:
    assert format_compact(minutes) == text


@pytest.mark.parametrize("value", [1.5, True, "90"])
def test_formatting_needs_an_int(value: object) -> None:
    with pytest.raises(TypeError):
        format_minutes(value)  # type: ignore[arg-type]


entry_minutes = st.integers(min_value=1, max_value=MAX_ENTRY_MINUTES)


@SETTINGS
@given(entry_minutes)
def test_compact_form_reads_back(minutes: int) -> None:
    assert parse_duration(format_compact(minutes)) == minutes


@SETTINGS
@given(entry_minutes)
def test_displayed_form_reads_back(minutes: int) -> None:
    assert parse_duration(format_minutes(minutes)) == minutes


@SETTINGS
@given(entry_minutes)
def test_clock_and_minute_forms_agree(minutes: int) -> None:
    hours, rest = divmod(minutes, 60)
    assert parse_duration(f"{hours}:{rest:02d}") == minutes
    assert parse_duration(f"{minutes}m") == minutes
    assert parse_duration(f"{hours}h {rest}m") == minutes


@SETTINGS
@given(
    st.integers(min_value=0, max_value=24),
    st.integers(min_value=1, max_value=9999),
    st.sampled_from([".", ","]),
)
def test_decimal_hours_are_exact(whole: int, digits: int, separator: str) -> None:
    fraction = f"{digits:04d}"
    hours = Fraction(whole) + Fraction(int(fraction), 10_000)
    text = f"{whole}{separator}{fraction}h"
    exact = hours * 60
    if exact.denominator != 1:
        with pytest.raises(DurationError, match="not a whole number of minutes"):
            parse_duration(text, max_minutes=None)
    else:
        assert parse_duration(text, max_minutes=None) == exact.numerator
