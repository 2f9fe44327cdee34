"""Business-calendar arithmetic: the contracts' own examples, DST days, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.sla.calendar import END_OF_DAY, BusinessCalendar, parse_hours

BRUSSELS = ZoneInfo("Europe/Brussels")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)
WEEKDAYS = range(5)


def office(
    tz: str = "Europe/Brussels",
    country: str | None = "BE",
    *,
    holiday_subdivision: str | None = None,
    closed_dates: frozenset[date] = frozenset(),
    closed_ranges: tuple[tuple[date, date], ...] = (),
) -> BusinessCalendar:
    """The learning-platform helpdesk: Mon–Fri 08:30–18:00, no support on public holidays."""
    hours = parse_hours("08:30-18:00")
    return BusinessCalendar(
        timezone=tz,
        weekly={day: hours for day in WEEKDAYS},
        holiday_country=country,
        holiday_subdivision=holiday_subdivision,
        closed_dates=closed_dates,
        closed_ranges=closed_ranges,
    )


OFFICE_BE = office()
LUNCH_NL = BusinessCalendar(
    timezone="Europe/Amsterdam",
    weekly={day: parse_hours("08:30-12:00,13:00-18:00") for day in WEEKDAYS},
    holiday_country="NL",
    closed_ranges=((date(2026, 12, 24), date(2027, 1, 1)),),
)
# Hours that straddle the 02:00–03:00 change on the last Sundays of March and October.
NIGHT_BE = BusinessCalendar(
    timezone="Europe/Brussels",
    weekly={
        5: parse_hours("22:00-24:00"),
        6: parse_hours("00:00-00:30,01:00-02:30,02:45-03:15,23:00-24:00"),
    },
)
ALWAYS_BE = BusinessCalendar.always_open("Europe/Brussels")


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


# -- the contracts' examples -----------------------------------------------------------------


def test_friday_evening_normal_ticket_is_due_monday_noon() -> None:
    received = local(BRUSSELS, 2026, 3, 6, 17, 30)  # a Friday
    due = OFFICE_BE.add_business(received, 240)
    assert due == local(BRUSSELS, 2026, 3, 9, 12, 0)
    assert due.tzinfo is UTC
    assert OFFICE_BE.business_between(received, due) == 240


def test_easter_monday_is_closed_in_belgium_and_a_report_waits_for_tuesday() -> None:
    easter_monday = date(2026, 4, 6)
    assert OFFICE_BE.is_closed_day(easter_monday)
    assert OFFICE_BE.describe_closed_day(easter_monday) == "Easter Monday"
    reported = local(BRUSSELS, 2026, 4, 6, 10, 0)
    assert not OFFICE_BE.is_open(reported)
    assert OFFICE_BE.next_open(reported) == local(BRUSSELS, 2026, 4, 7, 8, 30)
    assert OFFICE_BE.add_business(reported, 0) == local(BRUSSELS, 2026, 4, 7, 8, 30)
    assert OFFICE_BE.add_business(reported, 60) == local(BRUSSELS, 2026, 4, 7, 9, 30)


def test_an_ordinary_day_is_not_closed() -> None:
    assert not OFFICE_BE.is_closed_day(date(2026, 4, 7))
    assert OFFICE_BE.describe_closed_day(date(2026, 4, 7)) is None
    # A weekend is outside the weekly hours, not a closed day.
    assert not OFFICE_BE.is_closed_day(date(2026, 4, 11))


def test_two_business_days_are_two_times_nine_and_a_half_hours() -> None:
    tuesday = local(BRUSSELS, 2026, 3, 10, 10, 0)
    assert OFFICE_BE.add_business(tuesday, 2 * 570) == local(BRUSSELS, 2026, 3, 12, 10, 0)
    monday = local(BRUSSELS, 2026, 3, 9, 8, 30)
    assert OFFICE_BE.business_between(monday, monday + timedelta(days=7)) == 5 * 570


def test_lunch_break_is_not_business_time() -> None:
    assert LUNCH_NL.is_open(local(AMSTERDAM, 2026, 3, 10, 11, 59))
    assert not LUNCH_NL.is_open(local(AMSTERDAM, 2026, 3, 10, 12, 0))
    assert LUNCH_NL.is_open(local(AMSTERDAM, 2026, 3, 10, 13, 0))
    morning = local(AMSTERDAM, 2026, 3, 10, 11, 30)
    assert LUNCH_NL.add_business(morning, 60) == local(AMSTERDAM, 2026, 3, 10, 13, 30)
    assert LUNCH_NL.business_between(morning, local(AMSTERDAM, 2026, 3, 10, 14, 0)) == 90
    assert LUNCH_NL.next_open(local(AMSTERDAM, 2026, 3, 10, 12, 15)) == local(
        AMSTERDAM, 2026, 3, 10, 13, 0
    )


def test_a_deadline_that_fills_a_period_is_its_closing_time() -> None:
    start = local(AMSTERDAM, 2026, 3, 10, 11, 0)
    assert LUNCH_NL.add_business(start, 60) == local(AMSTERDAM, 2026, 3, 10, 12, 0)
    friday = local(BRUSSELS, 2026, 3, 6, 17, 0)
    assert OFFICE_BE.add_business(friday, 60) == local(BRUSSELS, 2026, 3, 6, 18, 0)


def test_year_end_closure_range() -> None:
    assert LUNCH_NL.describe_closed_day(date(2026, 12, 28)) == "closure"
    assert LUNCH_NL.describe_closed_day(date(2026, 12, 25)) == "Christmas Day"
    assert not LUNCH_NL.is_closed_day(date(2026, 12, 23))
    wednesday = local(AMSTERDAM, 2026, 12, 23, 17, 0)
    assert LUNCH_NL.add_business(wednesday, 120) == local(AMSTERDAM, 2027, 1, 4, 9, 30)
    assert LUNCH_NL.business_between(wednesday, local(AMSTERDAM, 2027, 1, 4, 9, 30)) == 120


def test_extra_closed_date() -> None:
    bank_closed = office(closed_dates=frozenset({date(2026, 3, 11)}))
    assert bank_closed.describe_closed_day(date(2026, 3, 11)) == "closure"
    tuesday = local(BRUSSELS, 2026, 3, 10, 17, 0)
    assert bank_closed.add_business(tuesday, 120) == local(BRUSSELS, 2026, 3, 12, 9, 30)


def test_subdivision_holidays() -> None:
    bavaria = office("Europe/Berlin", "DE", holiday_subdivision="BY")
    berlin = office("Europe/Berlin", "DE", holiday_subdivision="BE")
    epiphany = date(2026, 1, 6)
    assert bavaria.is_closed_day(epiphany)
    assert not berlin.is_closed_day(epiphany)


def test_inputs_in_any_zone_and_seconds_are_dropped() -> None:
    received = local(BRUSSELS, 2026, 3, 6, 17, 30).astimezone(NEW_YORK)
    assert OFFICE_BE.add_business(received, 240) == local(BRUSSELS, 2026, 3, 9, 12, 0)
    with_seconds = local(BRUSSELS, 2026, 3, 6, 17, 30) + timedelta(seconds=45, microseconds=7)
    assert OFFICE_BE.add_business(with_seconds, 240) == local(BRUSSELS, 2026, 3, 9, 12, 0)
    assert OFFICE_BE.next_open(with_seconds) == local(BRUSSELS, 2026, 3, 6, 17, 30)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 6, 17, 30)
    aware = naive.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE_BE.is_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE_BE.add_business(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE_BE.next_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        OFFICE_BE.business_between(aware, naive)


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        OFFICE_BE.add_business(local(BRUSSELS, 2026, 3, 6, 10, 0), -1)


def test_equal_calendars_compare_and_hash_equal() -> None:
    assert office() == OFFICE_BE
    assert hash(office()) == hash(OFFICE_BE)
    assert office(country="NL") != OFFICE_BE


# -- daylight saving time ----------------------------------------------------------------------


@pytest.mark.parametrize("tz", [BRUSSELS, AMSTERDAM], ids=str)
@pytest.mark.parametrize("friday", [date(2026, 3, 27), date(2026, 10, 23)], ids=str)
def test_friday_ticket_due_monday_is_not_shifted_by_the_sunday_change(
    tz: ZoneInfo, friday: date
) -> None:
    cal = office(str(tz), country=None)
    received = local(tz, friday.year, friday.month, friday.day, 17, 30)
    monday = friday + timedelta(days=3)
    due = cal.add_business(received, 240)
    assert due == local(tz, monday.year, monday.month, monday.day, 12, 0)
    assert cal.business_between(received, due) == 240


@pytest.mark.parametrize("tz", [BRUSSELS, AMSTERDAM], ids=str)
@pytest.mark.parametrize(
    ("sunday", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)], ids=str
)
def test_always_open_counts_real_minutes_on_the_change_day(
    tz: ZoneInfo, sunday: date, hours: int
) -> None:
    cal = BusinessCalendar.always_open(str(tz))
    midnight = datetime.combine(sunday, time(0), tz)
    next_midnight = datetime.combine(sunday + timedelta(days=1), time(0), tz)
    assert cal.business_between(midnight, next_midnight) == hours * 60
    saturday_noon = midnight - timedelta(hours=12)
    monday_noon = datetime.combine(sunday + timedelta(days=1), time(12), tz)
    real = (monday_noon.astimezone(UTC) - saturday_noon.astimezone(UTC)) // MINUTE
    assert real == (hours + 24) * 60
    assert cal.business_between(saturday_noon, monday_noon) == real


def test_half_hour_dst_change_counts_real_minutes() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # clocks move by 30 minutes
    cal = BusinessCalendar.always_open("Australia/Lord_Howe")
    day = date(2026, 10, 4)
    midnight = datetime.combine(day, time(0), lord_howe)
    assert cal.business_between(midnight, midnight + timedelta(days=1)) == 23 * 60 + 30


def test_hours_in_the_skipped_hour_open_when_the_clock_jumps() -> None:
    # On 2026-03-29 the clock jumps from 02:00 to 03:00: 02:30 never shows, so support opens
    # at the jump, when the clock first reads a time inside 02:30–04:00.
    cal = BusinessCalendar("Europe/Brussels", {6: parse_hours("02:30-04:00")})
    change = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert not cal.is_open(change - MINUTE)
    assert cal.is_open(change)
    assert cal.next_open(change - timedelta(minutes=20)) == change
    day = datetime.combine(date(2026, 3, 29), time(0), BRUSSELS)
    assert cal.business_between(day, day + timedelta(days=1)) == 60
    assert cal.business_between(day - timedelta(days=7), day - timedelta(days=6)) == 90
    # 00:00–00:30, 01:00–02:00 (then the jump), 03:00–03:15, 23:00–24:00.
    assert NIGHT_BE.business_between(day, day + timedelta(days=1)) == 30 + 60 + 15 + 60


def test_hours_in_the_repeated_hour_count_each_time_the_clock_shows_them() -> None:
    day = datetime.combine(date(2026, 10, 25), time(0), BRUSSELS)
    # 00:00–00:30; 01:00–02:30 summer time; 02:45–03:00 summer time (then back to 02:00);
    # 02:00–02:30 and 02:45–03:15 winter time; 23:00–24:00.
    expected = 30 + 90 + 15 + 30 + 30 + 60
    assert NIGHT_BE.business_between(day, day + timedelta(days=1)) == expected
    second_two_oclock = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 winter time
    assert NIGHT_BE.is_open(second_two_oclock)
    assert not NIGHT_BE.is_open(second_two_oclock - timedelta(minutes=25))  # 02:35 summer


# -- parse_hours and construction --------------------------------------------------------------


def test_parse_hours() -> None:
    assert parse_hours("08:30-12:00,13:00-18:00") == (
        (time(8, 30), time(12, 0)),
        (time(13, 0), time(18, 0)),
    )
    assert parse_hours(" 9:00-17:00 ") == ((time(9, 0), time(17, 0)),)
    assert parse_hours("00:00-24:00") == ((time(0), END_OF_DAY),)
    assert parse_hours("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "8-12",
        "08:30 to 12:00",
        "08:30-12:00,",
        "08:30-25:00",
        "08:60-09:00",
        "24:00-24:00",
        "12:00-08:00",
        "09:00-09:00",
        "08:00-12:00,11:00-13:00",
        "13:00-18:00,08:30-12:00",
    ],
)
def test_parse_hours_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="bad opening hours"):
        parse_hours(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekly": {}}, "at least one weekday"),
        ({"weekly": {5: ()}}, "at least one weekday"),
        ({"weekly": {7: ((time(9), time(17)),)}}, "weekday"),
        ({"timezone": "Europe/Nowhere"}, "time zone"),
        ({"holiday_country": "XX"}, "holiday"),
        ({"holiday_subdivision": "BRU"}, "holiday_country"),
        ({"closed_ranges": ((date(2027, 1, 1), date(2026, 12, 24)),)}, "ends before"),
        ({"weekly": {0: ((time(9, 0, 30), time(17)),)}}, "whole minutes"),
        ({"weekly": {0: ((time(17), time(9)),)}}, "start before"),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"timezone": "UTC", "weekly": {0: ((time(9), time(17)),)}}
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**(args | kwargs))  # type: ignore[arg-type]


def test_a_calendar_closed_for_years_raises_instead_of_looping() -> None:
    cal = office(closed_ranges=((date(2026, 1, 1), date(2030, 12, 31)),))
    start = local(BRUSSELS, 2026, 3, 6, 10, 0)
    with pytest.raises(ValueError, match="no business time"):
        cal.add_business(start, 60)
    with pytest.raises(ValueError, match="no business time"):
        cal.next_open(start)
    assert cal.business_between(start, start + timedelta(days=30)) == 0


# -- properties --------------------------------------------------------------------------------

PROPERTY = settings(max_examples=80, deadline=None)
CALENDARS = st.sampled_from([OFFICE_BE, LUNCH_NL, NIGHT_BE, ALWAYS_BE])
ZONES = st.sampled_from([UTC, BRUSSELS, AMSTERDAM, NEW_YORK, ZoneInfo("Australia/Lord_Howe")])
DST_CHANGES = [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]

anywhere = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=ZONES
)
near_dst_change = st.builds(
    lambda change, seconds: change + timedelta(seconds=seconds),
    st.sampled_from(DST_CHANGES),
    st.integers(-3 * 86400, 3 * 86400),
)
instants = st.one_of(anywhere, near_dst_change)
minutes = st.integers(0, 5 * 570 * 2)


def wall_clock_open(cal: BusinessCalendar, at: datetime) -> bool:
    """The definition of "open", straight from the local wall clock (the oracle)."""
    # Through UTC: astimezone() to an input's own zone would keep a skipped wall time as is.
    wall = at.astimezone(UTC).astimezone(ZoneInfo(cal.timezone))
    if cal.is_closed_day(wall.date()):
        return False
    now = wall.time()
    return any(
        start <= now and (end == END_OF_DAY or now < end)
        for start, end in cal.weekly.get(wall.weekday(), ())
    )


def floor_minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


@PROPERTY
@given(CALENDARS, instants)
def test_is_open_follows_the_wall_clock(cal: BusinessCalendar, at: datetime) -> None:
    assert cal.is_open(at) == wall_clock_open(cal, at)


@settings(max_examples=25, deadline=None)
@given(CALENDARS, instants, st.integers(0, 2 * 24 * 60))
def test_business_between_counts_open_minutes(cal: BusinessCalendar, a: datetime, n: int) -> None:
    start = floor_minute(a)
    expected = sum(wall_clock_open(cal, start + k * MINUTE) for k in range(n))
    assert cal.business_between(a, start + n * MINUTE) == expected


@PROPERTY
@given(CALENDARS, instants, minutes, minutes)
def test_add_business_is_monotonic(cal: BusinessCalendar, a: datetime, m: int, n: int) -> None:
    low, high = sorted((m, n))
    assert cal.add_business(a, low) <= cal.add_business(a, high)
    if low < high:
        assert cal.add_business(a, low) < cal.add_business(a, high)


@PROPERTY
@given(CALENDARS, instants, minutes)
def test_business_between_undoes_add_business(cal: BusinessCalendar, a: datetime, m: int) -> None:
    assert cal.business_between(a, cal.add_business(a, m)) == m


@PROPERTY
@given(CALENDARS, instants, minutes.filter(lambda m: m > 0))
def test_a_deadline_never_falls_inside_a_closed_period(
    cal: BusinessCalendar, a: datetime, m: int
) -> None:
    due = cal.add_business(a, m)
    assert due.tzinfo is UTC
    assert cal.is_open(due - MINUTE)


@PROPERTY
@given(CALENDARS, instants)
def test_next_open_is_the_clock_start(cal: BusinessCalendar, a: datetime) -> None:
    opening = cal.next_open(a)
    assert opening >= floor_minute(a)
    assert cal.is_open(opening)
    assert cal.business_between(a, opening) == 0
    assert cal.add_business(a, 0) == opening


@PROPERTY
@given(ZONES, instants, instants, st.integers(0, 20 * 24 * 60))
def test_always_open_is_plain_utc_arithmetic(
    zone: ZoneInfo, a: datetime, b: datetime, m: int
) -> None:
    cal = BusinessCalendar.always_open(str(zone))
    assert cal.add_business(a, m) == floor_minute(a) + m * MINUTE
    assert cal.business_between(a, b) == max(0, (floor_minute(b) - floor_minute(a)) // MINUTE)


@PROPERTY
@given(CALENDARS, instants, st.integers(0, 10 * 24 * 60), st.integers(0, 10 * 24 * 60))
def test_business_between_adds_up(cal: BusinessCalendar, a: datetime, x: int, y: int) -> None:
    a = a.astimezone(UTC)  # real-time steps: aware arithmetic in a local zone is wall-clock
    b = a + timedelta(minutes=x, seconds=17)
    c = b + timedelta(minutes=y, seconds=51)
    assert cal.business_between(a, b) + cal.business_between(b, c) == cal.business_between(a, c)
    assert cal.business_between(c, a) == 0
