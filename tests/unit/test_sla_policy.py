"""A policy's [calendar] section becomes the business calendar the SLA clocks count over."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from maildesk.core.policy import CalendarConfig, DateRange
from maildesk.sla.calendar import END_OF_DAY
from maildesk.sla.policy import WEEKDAY_NUMBERS, calendar_from_config

BRUSSELS = ZoneInfo("Europe/Brussels")
WORKWEEK = ("mon", "tue", "wed", "thu", "fri")


def learning_helpdesk(**changes: object) -> CalendarConfig:
    """Office hours Mon–Fri 08:30–18:00 in Brussels, no support on Belgian public holidays."""
    values: dict[str, object] = {
        "timezone": "Europe/Brussels",
        "hours": {day: "08:30-18:00" for day in WORKWEEK},
        "holidays": "BE",
    }
    values.update(changes)
    return CalendarConfig.model_validate(values)


def brussels(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def test_weekday_names_map_to_date_weekday_numbers() -> None:
    assert WEEKDAY_NUMBERS == {
        "mon": 0,
        "tue": 1,
        "wed": 2,
        "thu": 3,
        "fri": 4,
        "sat": 5,
        "sun": 6,
    }
    assert date(2026, 3, 8).weekday() == WEEKDAY_NUMBERS["sun"]


def test_the_learning_helpdesk_calendar() -> None:
    cal = calendar_from_config(learning_helpdesk())
    assert cal.timezone == "Europe/Brussels"
    assert dict(cal.weekly) == {day: ((time(8, 30), time(18, 0)),) for day in range(5)}
    assert cal.holiday_country == "BE"
    assert cal.is_open(brussels(2026, 3, 6, 8, 30))  # a Friday
    assert not cal.is_open(brussels(2026, 3, 6, 18, 0))
    assert not cal.is_open(brussels(2026, 3, 7, 10, 0))  # Saturday


def test_friday_1730_normal_ticket_is_due_monday_noon() -> None:
    cal = calendar_from_config(learning_helpdesk())
    assert cal.add_business(brussels(2026, 3, 6, 17, 30), 4 * 60) == brussels(2026, 3, 9, 12, 0)


def test_easter_monday_2026_report_waits_for_tuesday() -> None:
    cal = calendar_from_config(learning_helpdesk())
    assert cal.describe_closed_day(date(2026, 4, 6)) == "Easter Monday"
    assert cal.next_open(brussels(2026, 4, 6, 10, 0)) == brussels(2026, 4, 7, 8, 30)


def test_without_holidays_easter_monday_is_a_working_day() -> None:
    cal = calendar_from_config(learning_helpdesk(holidays=None))
    assert cal.is_open(brussels(2026, 4, 6, 10, 0))


def test_24_00_ends_an_interval_at_midnight() -> None:
    cal = calendar_from_config(
        learning_helpdesk(hours={"sat": "00:00-24:00", "sun": "20:00-24:00"})
    )
    assert cal.weekly[5] == ((time(0), END_OF_DAY),)
    assert cal.weekly[6] == ((time(20), END_OF_DAY),)
    assert cal.is_open(brussels(2026, 3, 7, 23, 59))
    # Saturday 00:00 to Sunday 00:00, then Sunday 20:00 to Monday 00:00: 24 h + 4 h.
    assert cal.business_between(brussels(2026, 3, 7, 0), brussels(2026, 3, 9, 0)) == 28 * 60


def test_missing_and_empty_weekdays_are_closed() -> None:
    cal = calendar_from_config(learning_helpdesk(hours={"mon": "09:00-12:00", "tue": ""}))
    assert dict(cal.weekly) == {0: ((time(9), time(12)),), 1: ()}
    assert not cal.is_open(brussels(2026, 3, 10, 10, 0))  # a Tuesday
    assert not cal.is_open(brussels(2026, 3, 11, 10, 0))  # a Wednesday, not listed


def test_split_hours_with_a_lunch_break() -> None:
    cal = calendar_from_config(learning_helpdesk(hours={"mon": "08:30-12:00,13:00-18:00"}))
    assert not cal.is_open(brussels(2026, 3, 9, 12, 30))
    assert cal.add_business(brussels(2026, 3, 9, 11, 0), 120) == brussels(2026, 3, 9, 14, 0)


def test_closed_dates_and_ranges_are_closed() -> None:
    cfg = learning_helpdesk(
        closed_dates=[date(2026, 3, 10)],
        closed_ranges=[{"from": date(2026, 12, 24), "to": date(2026, 12, 31)}],
    )
    assert cfg.closed_ranges == (DateRange(start=date(2026, 12, 24), end=date(2026, 12, 31)),)
    cal = calendar_from_config(cfg)
    assert cal.describe_closed_day(date(2026, 3, 10)) == "closure"
    assert cal.describe_closed_day(date(2026, 12, 29)) == "closure"
    assert cal.describe_closed_day(date(2026, 12, 25)) == "Christmas Day"
    assert cal.is_open(brussels(2026, 3, 11, 9, 0))
    assert cal.next_open(brussels(2026, 12, 23, 18, 0)) == brussels(2027, 1, 4, 8, 30)


def test_holiday_subdivision_is_passed_on() -> None:
    # Corpus Christi (4 June 2026) is a public holiday in Bavaria, not in Berlin.
    bavaria = calendar_from_config(
        learning_helpdesk(timezone="Europe/Berlin", holidays="DE", holiday_subdivision="BY")
    )
    berlin = calendar_from_config(
        learning_helpdesk(timezone="Europe/Berlin", holidays="DE", holiday_subdivision="BE")
    )
    assert bavaria.is_closed_day(date(2026, 6, 4))
    assert not berlin.is_closed_day(date(2026, 6, 4))


def test_the_dst_sunday_does_not_shift_a_friday_to_monday_deadline() -> None:
    cal = calendar_from_config(learning_helpdesk())
    due = cal.add_business(brussels(2026, 3, 27, 17, 30), 4 * 60)  # Friday before the change
    assert due == brussels(2026, 3, 30, 12, 0)
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)  # CEST: UTC+2 on Monday


def test_equal_configs_share_one_calendar_and_different_ones_do_not() -> None:
    first = calendar_from_config(learning_helpdesk())
    assert calendar_from_config(learning_helpdesk()) is first
    assert calendar_from_config(learning_helpdesk(holidays="NL")) is not first
    assert calendar_from_config(learning_helpdesk(closed_dates=[date(2026, 3, 10)])) is not first


def test_bad_hours_name_the_weekday() -> None:
    # "18:00-08:30" is refused when the config is read, not by the first mail's due time.
    with pytest.raises(ValueError, match="wed: bad opening hours '18:00-08:30'"):
        learning_helpdesk(hours={"mon": "08:30-18:00", "wed": "18:00-08:30"})


def test_a_week_without_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one weekday"):
        calendar_from_config(learning_helpdesk(hours={}))


def test_an_unknown_holiday_country_is_refused() -> None:
    with pytest.raises(ValueError, match="no holiday table"):
        calendar_from_config(learning_helpdesk(holidays="XX"))
