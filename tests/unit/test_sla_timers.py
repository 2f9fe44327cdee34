"""SLA clocks: the learning-helpdesk contract's examples, each transition's rule, and properties.

The calendar is the learning-platform helpdesk's (Mon–Fri 08:30–18:00, Europe/Brussels,
Belgian public holidays), built from its config the way the daemon builds it; the targets
are the default ``SlaConfig`` ones (High 1 h / 4 h, Normal 4 h / 2 days, Low 8 h / 5 days,
a business day being 8 h).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from maildesk.core.policy import CalendarConfig, SlaConfig
from maildesk.sla.calendar import BusinessCalendar
from maildesk.sla.policy import calendar_from_config
from maildesk.sla.timers import (
    NOT_STARTED,
    SlaState,
    Targets,
    Warnings,
    change_priority,
    describe_due,
    minutes_left,
    pause,
    reopened,
    resolved,
    responded,
    resume,
    start,
    warning_at,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
MINUTE = timedelta(minutes=1)
WORKWEEK = ("mon", "tue", "wed", "thu", "fri")

OFFICE = calendar_from_config(
    CalendarConfig(
        timezone="Europe/Brussels",
        hours={day: "08:30-18:00" for day in WORKWEEK},
        holidays="BE",
    )
)
SLA = SlaConfig()
HIGH = SLA.minutes("high")
NORMAL = SLA.minutes("normal")
LOW = SLA.minutes("low")


def bxl(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A Brussels wall-clock instant (2026 unless told)."""
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def test_the_default_targets_are_the_contracts() -> None:
    assert (HIGH, NORMAL, LOW) == ((60, 240), (240, 960), (480, 2400))


# -- start -------------------------------------------------------------------------------------


def test_friday_1730_normal_ticket_is_due_monday_noon() -> None:
    received = bxl(3, 6, 17, 30)  # Friday
    state = start(OFFICE, NORMAL, received)
    assert state.clock_started_at == received
    assert state.clock_started_at is not None and state.clock_started_at.tzinfo is UTC
    assert state.response_due_at == bxl(3, 9, 12, 0)
    # 30 min on Friday, 570 on Monday, 360 on Tuesday from 08:30.
    assert state.resolution_due_at == bxl(3, 10, 14, 30)
    assert (state.paused_at, state.response_left_minutes, state.resolution_left_minutes) == (
        None,
        None,
        None,
    )
    assert state.running and state.response_open and state.resolution_open


def test_easter_monday_2026_report_waits_for_tuesday() -> None:
    state = start(OFFICE, HIGH, bxl(4, 6, 10, 0))  # Easter Monday
    assert state.response_due_at == bxl(4, 7, 9, 30)
    assert state.resolution_due_at == bxl(4, 7, 12, 30)


def test_the_dst_sunday_does_not_shift_a_friday_to_monday_deadline() -> None:
    # Clocks go forward on Sunday 29 March 2026; Friday is UTC+1, Monday UTC+2.
    state = start(OFFICE, NORMAL, bxl(3, 27, 17, 30))
    assert state.response_due_at == bxl(3, 30, 12, 0)
    assert state.response_due_at == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)


def test_start_refuses_naive_times_and_empty_targets() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start(OFFICE, NORMAL, datetime(2026, 3, 6, 10, 0))
    with pytest.raises(ValueError, match="positive"):
        start(OFFICE, (0, 60), bxl(3, 6, 10))


# -- pause and resume --------------------------------------------------------------------------


def test_pause_and_resume_across_a_weekend_keep_the_minutes_left_exactly() -> None:
    running = start(OFFICE, NORMAL, bxl(3, 6, 10, 0))  # Friday 10:00
    assert running.response_due_at == bxl(3, 6, 14, 0)
    assert running.resolution_due_at == bxl(3, 9, 16, 30)

    paused = pause(running, OFFICE, bxl(3, 6, 11, 0))
    assert paused.paused_at == bxl(3, 6, 11, 0)
    assert (paused.response_due_at, paused.resolution_due_at) == (None, None)
    assert (paused.response_left_minutes, paused.resolution_left_minutes) == (180, 900)
    assert paused.paused and not paused.running

    back = resume(paused, OFFICE, bxl(3, 9, 9, 0))  # Monday 09:00
    assert back.paused_at is None
    assert (back.response_left_minutes, back.resolution_left_minutes) == (None, None)
    assert back.response_due_at == bxl(3, 9, 12, 0)
    assert back.resolution_due_at == bxl(3, 10, 14, 30)  # 540 on Monday, 360 on Tuesday
    assert OFFICE.business_between(bxl(3, 9, 9, 0), back.response_due_at) == 180
    assert back.clock_started_at == running.clock_started_at


def test_resuming_out_of_hours_counts_from_the_next_opening() -> None:
    paused = pause(start(OFFICE, HIGH, bxl(3, 6, 17, 0)), OFFICE, bxl(3, 6, 17, 20))
    assert paused.response_left_minutes == 40
    back = resume(paused, OFFICE, bxl(3, 8, 20, 0))  # Sunday evening
    assert back.response_due_at == bxl(3, 9, 9, 10)


def test_pausing_an_overdue_target_keeps_it_overdue() -> None:
    running = start(OFFICE, HIGH, bxl(3, 10, 9, 0))  # response due 10:00
    paused = pause(running, OFFICE, bxl(3, 10, 10, 25))
    assert paused.response_left_minutes == -25
    assert paused.resolution_left_minutes == 240 - 85
    back = resume(paused, OFFICE, bxl(3, 11, 9, 0))
    assert back.response_due_at == bxl(3, 11, 9, 0)  # due at once: still missed
    assert back.resolution_due_at == bxl(3, 11, 11, 35)


def test_transitions_that_do_not_apply_return_the_same_state() -> None:
    running = start(OFFICE, NORMAL, bxl(3, 10, 9, 0))
    paused = pause(running, OFFICE, bxl(3, 10, 10, 0))
    done = resolved(running, OFFICE, bxl(3, 10, 11, 0))
    assert pause(NOT_STARTED, OFFICE, bxl(3, 10, 10, 0)) is NOT_STARTED
    assert resume(NOT_STARTED, OFFICE, bxl(3, 10, 10, 0)) is NOT_STARTED
    assert resume(running, OFFICE, bxl(3, 10, 10, 0)) is running
    assert pause(paused, OFFICE, bxl(3, 10, 11, 0)) is paused
    assert pause(done, OFFICE, bxl(3, 10, 12, 0)) is done
    assert resume(done, OFFICE, bxl(3, 10, 12, 0)) is done
    assert reopened(running, OFFICE, bxl(3, 10, 12, 0)) is running
    assert resolved(done, OFFICE, bxl(3, 10, 12, 0)) is done
    assert change_priority(NOT_STARTED, OFFICE, HIGH, bxl(3, 10, 12), old_targets=NORMAL) == (
        NOT_STARTED
    )
    assert change_priority(running, OFFICE, NORMAL, bxl(3, 10, 12), old_targets=NORMAL) is running


# -- first response ----------------------------------------------------------------------------


def test_responded_stops_only_the_response_clock() -> None:
    running = start(OFFICE, NORMAL, bxl(3, 10, 9, 0))
    answered = responded(running, bxl(3, 10, 9, 45))
    assert answered.responded_at == bxl(3, 10, 9, 45)
    assert answered.response_due_at is None
    assert answered.resolution_due_at == running.resolution_due_at
    assert not answered.response_open and answered.resolution_open and answered.running
    assert responded(answered, bxl(3, 10, 10, 0)) is answered

    paused = pause(answered, OFFICE, bxl(3, 10, 10, 0))
    assert paused.response_left_minutes is None
    assert paused.resolution_left_minutes == 960 - 60
    back = resume(paused, OFFICE, bxl(3, 10, 11, 0))
    assert back.response_due_at is None
    assert back.resolution_due_at == OFFICE.add_business(bxl(3, 10, 11, 0), 900)


def test_a_reply_while_paused_stops_the_kept_response_minutes() -> None:
    paused = pause(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 10, 0))
    answered = responded(paused, bxl(3, 10, 10, 30))
    assert (answered.response_left_minutes, answered.resolution_left_minutes) == (None, 900)
    assert resume(answered, OFFICE, bxl(3, 10, 11, 0)).response_due_at is None


def test_a_reply_before_the_clock_starts_is_applied_after_start() -> None:
    early = responded(NOT_STARTED, bxl(3, 10, 9, 0))
    assert early.responded_at == bxl(3, 10, 9, 0) and not early.started
    state = responded(start(OFFICE, NORMAL, bxl(3, 10, 11, 0)), early.responded_at)
    assert state.responded_at == bxl(3, 10, 9, 0)
    assert state.response_due_at is None and state.resolution_due_at is not None


# -- resolution and reopening ------------------------------------------------------------------


def test_resolving_stops_both_clocks_and_reopening_resumes_with_what_was_left() -> None:
    running = start(OFFICE, NORMAL, bxl(3, 10, 9, 0))  # Tuesday
    done = resolved(running, OFFICE, bxl(3, 10, 11, 0))
    assert done.resolved_at == bxl(3, 10, 11, 0)
    assert (done.response_due_at, done.resolution_due_at, done.paused_at) == (None, None, None)
    assert (done.response_left_minutes, done.resolution_left_minutes) == (120, 840)
    assert done.responded_at is None  # resolving is not recorded as a reply
    assert not done.response_open and not done.resolution_open and not done.running

    again = reopened(done, OFFICE, bxl(3, 12, 9, 0))  # Thursday
    assert again.resolved_at is None and again.running
    assert again.resolution_due_at == bxl(3, 13, 13, 30)  # 540 Thursday + 300 Friday
    # Never answered: the first reply is still owed, with the 120 minutes it had left.
    assert again.response_open and again.response_due_at == bxl(3, 12, 11, 0)
    assert (again.response_left_minutes, again.resolution_left_minutes) == (None, None)
    assert again.clock_started_at == running.clock_started_at


def test_an_answered_ticket_reopens_with_only_the_resolution_clock() -> None:
    answered = responded(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), bxl(3, 10, 9, 30))
    done = resolved(answered, OFFICE, bxl(3, 10, 11, 0))
    assert (done.response_left_minutes, done.resolution_left_minutes) == (None, 840)
    again = reopened(done, OFFICE, bxl(3, 12, 9, 0))
    assert again.response_due_at is None and not again.response_open
    assert again.responded_at == bxl(3, 10, 9, 30)
    assert again.resolution_due_at == bxl(3, 13, 13, 30)


def test_resolving_a_paused_ticket_keeps_the_paused_minutes() -> None:
    paused = pause(start(OFFICE, HIGH, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 9, 20))
    done = resolved(paused, OFFICE, bxl(3, 11, 15, 0))
    assert done.paused_at is None
    assert (done.response_left_minutes, done.resolution_left_minutes) == (40, 220)
    again = reopened(done, OFFICE, bxl(3, 12, 9, 0))
    assert again.response_due_at == bxl(3, 12, 9, 40)
    assert again.resolution_due_at == bxl(3, 12, 12, 40)


def test_a_ticket_resolved_late_is_still_late_when_reopened() -> None:
    done = resolved(start(OFFICE, HIGH, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 14, 0))
    assert (done.response_left_minutes, done.resolution_left_minutes) == (-240, -60)
    again = reopened(done, OFFICE, bxl(3, 12, 9, 0))
    assert again.response_due_at == again.resolution_due_at == bxl(3, 12, 9, 0)


def test_a_ticket_resolved_before_its_clock_started_reopens_not_started() -> None:
    done = resolved(NOT_STARTED, OFFICE, bxl(3, 10, 9, 0))
    assert done.resolved_at == bxl(3, 10, 9, 0) and not done.started
    assert reopened(done, OFFICE, bxl(3, 11, 9, 0)) == NOT_STARTED


# -- priority change ---------------------------------------------------------------------------


def test_normal_to_high_after_30_business_minutes_is_due_60_business_minutes_after_start() -> None:
    started = bxl(3, 10, 9, 0)  # Tuesday
    running = start(OFFICE, NORMAL, started)
    high = change_priority(running, OFFICE, HIGH, bxl(3, 10, 9, 30), old_targets=NORMAL)
    assert high.response_due_at == OFFICE.add_business(started, 60) == bxl(3, 10, 10, 0)
    assert high.resolution_due_at == OFFICE.add_business(started, 240) == bxl(3, 10, 13, 0)
    assert high.clock_started_at == started


def test_a_priority_change_does_not_count_paused_time_as_used() -> None:
    started = bxl(3, 10, 9, 0)
    state = start(OFFICE, NORMAL, started)
    state = pause(state, OFFICE, bxl(3, 10, 9, 10))
    state = resume(state, OFFICE, bxl(3, 10, 9, 40))  # 30 minutes paused, 10 used
    state = change_priority(state, OFFICE, HIGH, bxl(3, 10, 10, 0), old_targets=NORMAL)
    # 30 business minutes used by 10:00; 60 + 30 paused from the start.
    assert state.response_due_at == OFFICE.add_business(started, 90) == bxl(3, 10, 10, 30)


def test_a_priority_change_counts_used_time_across_the_night() -> None:
    state = start(OFFICE, NORMAL, bxl(3, 10, 17, 30))  # Tuesday evening
    state = change_priority(state, OFFICE, HIGH, bxl(3, 11, 8, 40), old_targets=NORMAL)
    assert state.response_due_at == bxl(3, 11, 9, 0)  # 40 used, 20 left


def test_raising_the_priority_past_the_time_used_makes_it_due_at_the_change() -> None:
    state = start(OFFICE, NORMAL, bxl(3, 10, 9, 0))
    changed = change_priority(state, OFFICE, HIGH, bxl(3, 10, 10, 30), old_targets=NORMAL)
    assert changed.response_due_at == bxl(3, 10, 10, 30)  # missed as of the change
    assert changed.resolution_due_at == bxl(3, 10, 13, 0)


def test_an_already_missed_target_keeps_its_due_time_when_raised_further() -> None:
    state = start(OFFICE, NORMAL, bxl(3, 10, 9, 0))  # response due 13:00
    changed = change_priority(state, OFFICE, HIGH, bxl(3, 10, 15, 0), old_targets=NORMAL)
    assert changed.response_due_at == bxl(3, 10, 13, 0)


def test_lowering_the_priority_after_a_miss_counts_from_the_start() -> None:
    started = bxl(3, 10, 9, 0)
    state = start(OFFICE, HIGH, started)  # response due 10:00
    lowered = change_priority(state, OFFICE, NORMAL, bxl(3, 10, 10, 15), old_targets=HIGH)
    assert lowered.response_due_at == OFFICE.add_business(started, 240) == bxl(3, 10, 13, 0)


def test_a_priority_change_while_paused_adjusts_the_kept_minutes() -> None:
    state = pause(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 9, 30))
    changed = change_priority(state, OFFICE, HIGH, bxl(3, 10, 10, 0), old_targets=NORMAL)
    assert (changed.response_left_minutes, changed.resolution_left_minutes) == (30, 210)
    assert changed.paused_at == state.paused_at
    back = resume(changed, OFFICE, bxl(3, 10, 11, 0))
    assert (back.response_due_at, back.resolution_due_at) == (
        bxl(3, 10, 11, 30),
        bxl(3, 10, 14, 30),
    )


def test_a_priority_change_after_resolution_adjusts_what_a_reopen_gets() -> None:
    done = resolved(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 10, 0))
    changed = change_priority(done, OFFICE, HIGH, bxl(3, 10, 11, 0), old_targets=NORMAL)
    assert (changed.response_left_minutes, changed.resolution_left_minutes) == (0, 240 - 60)
    assert changed.resolved_at == done.resolved_at


def test_a_priority_change_after_the_reply_moves_only_the_resolution() -> None:
    state = responded(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), bxl(3, 10, 9, 10))
    changed = change_priority(state, OFFICE, LOW, bxl(3, 10, 9, 30), old_targets=NORMAL)
    assert changed.response_due_at is None
    assert changed.resolution_due_at == OFFICE.add_business(bxl(3, 10, 9, 0), 2400)


# -- questions ---------------------------------------------------------------------------------


def test_minutes_left_running_paused_overdue_and_closed() -> None:
    state = start(OFFICE, HIGH, bxl(3, 10, 9, 0))
    assert minutes_left(state, OFFICE, bxl(3, 10, 9, 45)) == (15, 195)
    assert minutes_left(state, OFFICE, bxl(3, 10, 10, 20)) == (-20, 160)
    paused = pause(state, OFFICE, bxl(3, 10, 9, 50))
    assert minutes_left(paused, OFFICE, bxl(3, 12, 9, 0)) == (10, 190)
    assert minutes_left(responded(state, bxl(3, 10, 9, 5)), OFFICE, bxl(3, 10, 9, 30)) == (
        None,
        210,
    )
    assert minutes_left(NOT_STARTED, OFFICE, bxl(3, 10, 9, 0)) == (None, None)


def test_warning_at_75_percent_of_each_running_target() -> None:
    state = start(OFFICE, HIGH, bxl(3, 10, 9, 0))
    assert warning_at(state, OFFICE, HIGH, 75) == Warnings(bxl(3, 10, 9, 45), bxl(3, 10, 12, 0))
    answered = responded(state, bxl(3, 10, 9, 5))
    assert warning_at(answered, OFFICE, HIGH, 75) == Warnings(None, bxl(3, 10, 12, 0))


def test_a_warning_point_that_uses_up_a_day_is_at_closing_not_at_the_next_opening() -> None:
    state = start(OFFICE, NORMAL, bxl(3, 6, 15, 0))  # Friday: 180 minutes left in the day
    warnings = warning_at(state, OFFICE, NORMAL, 75)
    assert warnings.response == bxl(3, 6, 18, 0)
    assert warnings.resolution == OFFICE.add_business(bxl(3, 6, 15, 0), 720)


def test_a_warning_after_a_pause_moves_with_the_due_time() -> None:
    state = start(OFFICE, HIGH, bxl(3, 10, 9, 0))
    state = resume(pause(state, OFFICE, bxl(3, 10, 9, 30)), OFFICE, bxl(3, 10, 10, 0))
    assert state.response_due_at == bxl(3, 10, 10, 30)
    assert warning_at(state, OFFICE, HIGH, 75).response == bxl(3, 10, 10, 15)


def test_no_warning_while_paused_or_before_start_and_bad_percent_refused() -> None:
    state = start(OFFICE, HIGH, bxl(3, 10, 9, 0))
    assert warning_at(pause(state, OFFICE, bxl(3, 10, 9, 1)), OFFICE, HIGH, 75) == (None, None)
    assert warning_at(NOT_STARTED, OFFICE, HIGH, 75) == (None, None)
    with pytest.raises(ValueError, match="percent"):
        warning_at(state, OFFICE, HIGH, 0)


def test_the_saturday_ack_says_received_out_of_hours_with_mondays_due_time() -> None:
    received = bxl(3, 7, 11, 0)  # Saturday
    state = start(OFFICE, NORMAL, received)  # clock on receipt
    note = describe_due(OFFICE, received, state.response_due_at)
    assert note.received_local == received
    assert note.received_local.tzinfo == BRUSSELS
    assert note.received_local.strftime("%A") == "Saturday"
    assert note.received_in_hours is False
    assert note.closed_reason is None
    assert note.opens_local == bxl(3, 9, 8, 30)
    assert note.due_local == bxl(3, 9, 12, 30)
    assert note.due_local is not None and note.due_local.tzinfo == BRUSSELS
    assert note.due_local.strftime("%A %H:%M") == "Monday 12:30"


def test_the_ack_note_in_hours_and_on_a_holiday() -> None:
    in_hours = describe_due(OFFICE, bxl(3, 10, 10, 0), bxl(3, 10, 14, 0))
    assert in_hours.received_in_hours and in_hours.opens_local == bxl(3, 10, 10, 0)
    easter = describe_due(OFFICE, bxl(4, 6, 10, 0), None)
    assert not easter.received_in_hours
    assert easter.closed_reason == "Easter Monday"
    assert easter.opens_local == bxl(4, 7, 8, 30)
    assert easter.due_local is None


# -- rows --------------------------------------------------------------------------------------


def test_the_state_round_trips_through_a_row_with_naive_utc_datetimes() -> None:
    state = pause(start(OFFICE, NORMAL, bxl(3, 10, 9, 0)), OFFICE, bxl(3, 10, 9, 30))
    row = SimpleNamespace(
        **{
            name: value.astimezone(UTC).replace(tzinfo=None)
            if isinstance(value, datetime)
            else value
            for name, value in state.columns().items()
        },
        escalation_level=0,
    )
    assert SlaState.from_record(row) == state
    assert set(state.columns()) == {
        "clock_started_at",
        "paused_at",
        "response_due_at",
        "resolution_due_at",
        "response_left_minutes",
        "resolution_left_minutes",
        "responded_at",
        "resolved_at",
    }


# -- properties --------------------------------------------------------------------------------

PROPERTY = settings(max_examples=40, deadline=None)

LUNCH_NL = calendar_from_config(
    CalendarConfig.model_validate(
        {
            "timezone": "Europe/Amsterdam",
            "hours": {day: "08:30-12:00,13:00-18:00" for day in WORKWEEK},
            "holidays": "NL",
            "closed_ranges": [{"from": date(2026, 12, 24), "to": date(2027, 1, 1)}],
        }
    )
)
CALENDARS = st.sampled_from([OFFICE, LUNCH_NL, BusinessCalendar.always_open("Europe/Brussels")])
TARGETS = st.sampled_from([HIGH, NORMAL, LOW])
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 20), timezones=st.just(UTC)
)
# Offsets in seconds, so instants fall between whole minutes too.
offsets = st.integers(0, 10 * 24 * 3600)


def open_dues(state: SlaState) -> list[datetime]:
    return [due for due in (state.response_due_at, state.resolution_due_at) if due is not None]


@PROPERTY
@given(CALENDARS, TARGETS, instants, offsets)
def test_pause_and_resume_at_the_same_instant_changes_no_due_time(
    cal: BusinessCalendar, targets: Targets, begun: datetime, offset: int
) -> None:
    running = start(cal, targets, begun)
    at = begun + timedelta(seconds=offset)
    back = resume(pause(running, cal, at), cal, at)
    for old, new in zip(open_dues(running), open_dues(back), strict=True):
        if old > at:
            assert new == old
        else:  # already missed: stays missed
            assert new <= at


@PROPERTY
@given(CALENDARS, TARGETS, instants, offsets, offsets)
def test_a_pause_shifts_each_due_time_by_the_business_time_it_covered(
    cal: BusinessCalendar, targets: Targets, begun: datetime, before: int, length: int
) -> None:
    running = start(cal, targets, begun)
    paused_at = begun + timedelta(seconds=before)
    resumed_at = paused_at + timedelta(seconds=length)
    back = resume(pause(running, cal, paused_at), cal, resumed_at)
    covered = cal.business_between(paused_at, resumed_at)
    for old, new in zip(open_dues(running), open_dues(back), strict=True):
        if old <= paused_at:
            continue  # missed before the pause; covered by the test above
        assert new >= old
        assert cal.business_between(old, new) == covered
        assert cal.business_between(resumed_at, new) == cal.business_between(paused_at, old)


@PROPERTY
@given(CALENDARS, TARGETS, TARGETS, instants, offsets, offsets, offsets)
def test_a_new_priority_counts_from_the_start_without_the_paused_time(
    cal: BusinessCalendar,
    old: Targets,
    new: Targets,
    begun: datetime,
    before: int,
    length: int,
    after: int,
) -> None:
    paused_at = begun + timedelta(seconds=before)
    resumed_at = paused_at + timedelta(seconds=length)
    changed_at = resumed_at + timedelta(seconds=after)
    running = start(cal, old, begun)
    assume(all(due > paused_at for due in open_dues(running)))  # nothing missed before the pause
    state = resume(pause(running, cal, paused_at), cal, resumed_at)
    changed = change_priority(state, cal, new, changed_at, old_targets=old)

    paused = cal.business_between(paused_at, resumed_at)
    used = cal.business_between(begun, changed_at) - paused
    for target, due in zip(new, open_dues(changed), strict=True):
        if target > used:
            assert due == cal.add_business(begun, target + paused)
        else:  # the new target is already used up: missed by the change at the latest
            assert due <= changed_at


@PROPERTY
@given(CALENDARS, TARGETS, TARGETS, instants, offsets)
def test_changing_the_priority_and_back_at_once_restores_the_due_times(
    cal: BusinessCalendar, old: Targets, new: Targets, begun: datetime, offset: int
) -> None:
    running = start(cal, old, begun)
    at = begun + timedelta(seconds=offset)
    there = change_priority(running, cal, new, at, old_targets=old)
    assume(all(due > at for due in open_dues(there)))  # not missed under the new targets
    assume(all(due > at for due in open_dues(running)))
    assert change_priority(there, cal, old, at, old_targets=new) == running


@PROPERTY
@given(CALENDARS, TARGETS, instants, st.integers(1, 100))
def test_the_warning_of_a_fresh_clock_is_that_share_of_the_target_from_the_start(
    cal: BusinessCalendar, targets: Targets, begun: datetime, percent: int
) -> None:
    state = start(cal, targets, begun)
    warnings = warning_at(state, cal, targets, percent)
    for target, point in zip(targets, warnings, strict=True):
        used = -(-target * percent // 100)
        assert point == cal.add_business(begun, used)


@PROPERTY
@given(CALENDARS, TARGETS, instants, offsets, offsets, st.integers(1, 99))
def test_the_warning_after_a_pause_is_the_first_minute_with_that_much_left(
    cal: BusinessCalendar,
    targets: Targets,
    begun: datetime,
    before: int,
    length: int,
    percent: int,
) -> None:
    paused_at = begun + timedelta(seconds=before)
    state = resume(
        pause(start(cal, targets, begun), cal, paused_at),
        cal,
        paused_at + timedelta(seconds=length),
    )
    warnings = warning_at(state, cal, targets, percent)
    for target, point, due in zip(targets, warnings, open_dues(state), strict=True):
        assert point is not None
        left = target - -(-target * percent // 100)
        assert point <= due
        assert cal.business_between(point, due) <= left
        assert cal.business_between(point - MINUTE, due) > left
