"""Billed time from recorded time, checked against the contracts' own words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.rounding import Rounding, cap_to_quote

SETTINGS = settings(max_examples=200, deadline=None)

QUARTER_HOUR = Rounding(unit=15)  # learning-helpdesk: "the smallest unit is 15 minutes"
HALF_HOUR = Rounding(unit=30)  # hosting-support: "every started half hour is due"
AFTER_CANCELLATION = Rounding(unit=1, minimum=60)  # maintenance: "a minimum of 1 hour"


@pytest.mark.parametrize(("raw", "billed"), [(20, 30), (50, 60), (15, 15), (1, 15), (0, 0)])
def test_fifteen_minute_unit(raw: int, billed: int) -> None:
    assert QUARTER_HOUR.bill(raw) == billed


@pytest.mark.parametrize(("raw", "billed"), [(31, 60), (30, 30), (70, 90), (1, 30), (0, 0)])
def test_every_started_half_hour_is_due(raw: int, billed: int) -> None:
    assert HALF_HOUR.bill(raw) == billed


@pytest.mark.parametrize(("raw", "billed"), [(20, 60), (60, 60), (61, 61), (95, 95)])
def test_minimum_of_one_hour_after_cancellation(raw: int, billed: int) -> None:
    assert AFTER_CANCELLATION.bill(raw) == billed


def test_no_work_bills_nothing_even_with_a_minimum() -> None:
    assert AFTER_CANCELLATION.bill(0) == 0
    assert Rounding(unit=30, minimum=60).bill(0) == 0


def test_minimum_and_unit_together() -> None:
    rule = Rounding(unit=30, minimum=60)
    assert rule.bill(10) == 60
    assert rule.bill(61) == 90


def test_default_bills_the_recorded_time() -> None:
    assert Rounding().bill(37) == 37


def test_quote_caps_the_rounded_amount() -> None:
    # A 2 h quote with 2 h 40 min worked: only the quoted time is billed.
    assert cap_to_quote(HALF_HOUR.bill(160), 120) == 120
    # 1 h 10 min worked on a 2 h quote: the actual (rounded) time is billed.
    assert cap_to_quote(HALF_HOUR.bill(70), 120) == 90


def test_quote_cap_is_applied_after_rounding() -> None:
    # 1 h 50 min rounds to 2 h, which the 1 h 55 min quote then caps.
    assert cap_to_quote(HALF_HOUR.bill(110), 115) == 115


def test_no_quote_no_cap() -> None:
    assert cap_to_quote(150, None) == 150


@pytest.mark.parametrize(
    ("unit", "minimum", "message"),
    [
        (0, 0, "at least 1 minute"),
        (-15, 0, "at least 1 minute"),
        (15, -15, "cannot be negative"),
        (15, 50, "multiple of the unit"),
    ],
)
def test_invalid_rules_are_refused(unit: int, minimum: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rounding(unit=unit, minimum=minimum)


@pytest.mark.parametrize(("unit", "minimum"), [(1.5, 0), (15, 60.0), (True, 0)])
def test_rules_need_int_minutes(unit: object, minimum: object) -> None:
    with pytest.raises(TypeError):
        Rounding(unit=unit, minimum=minimum)  # type: ignore[arg-type]


def test_negative_work_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        QUARTER_HOUR.bill(-1)


@pytest.mark.parametrize(("billed", "quoted"), [(-1, 60), (60, -1)])
def test_negative_quote_arguments_are_refused(billed: int, quoted: int) -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        cap_to_quote(billed, quoted)


def test_rule_is_immutable() -> None:
    with pytest.raises(AttributeError):
        QUARTER_HOUR.unit = 30  # type: ignore[misc]


units = st.integers(min_value=1, max_value=240)
raw_minutes = st.integers(min_value=0, max_value=100_000)


@st.composite
def rules(draw: st.DrawFn) -> Rounding:
    unit = draw(units)
    return Rounding(unit=unit, minimum=unit * draw(st.integers(min_value=0, max_value=8)))


@SETTINGS
@given(units, raw_minutes)
def test_rounding_without_minimum_adds_less_than_one_unit(unit: int, raw: int) -> None:
    billed = Rounding(unit=unit).bill(raw)
    assert billed >= raw
    assert billed - raw < unit
    assert billed % unit == 0


@SETTINGS
@given(rules(), raw_minutes)
def test_billed_is_whole_units_and_never_below_work(rule: Rounding, raw: int) -> None:
    billed = rule.bill(raw)
    assert billed >= raw
    assert billed % rule.unit == 0
    if raw > 0:
        assert billed >= rule.minimum


@SETTINGS
@given(rules(), raw_minutes, raw_minutes)
def test_billing_is_monotonic(rule: Rounding, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert rule.bill(low) <= rule.bill(high)


@SETTINGS
@given(rules(), raw_minutes, st.integers(min_value=0, max_value=100_000))
def test_quote_is_never_exceeded(rule: Rounding, raw: int, quoted: int) -> None:
    billed = rule.bill(raw)
    capped = cap_to_quote(billed, quoted)
    assert capped == min(billed, quoted)
    assert capped <= quoted
