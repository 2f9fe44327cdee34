"""On-call: the weekly rota, overrides, the escalation chain and when a ticket pages anyone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.policy import CalendarConfig, OnCallConfig, RotaOverride
from maildesk.sla.oncall import chain, next_level_due, on_call, rota_index, should_page
from maildesk.sla.policy import calendar_from_config

TZ = "Europe/Brussels"
BRUSSELS = ZoneInfo(TZ)

OFFICE = calendar_from_config(
    CalendarConfig(
        timezone=TZ,
        hours={day: "08:30-18:00" for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays="BE",
    )
)

# Three technicians, handing over on Mondays at 09:00; Ann's first week starts Monday
# 5 January 2026.
ROTA = OnCallConfig(
    rota=("ann", "bob", "cas"),
    rota_start=date(2026, 1, 5),
    handover_weekday="mon",
    handover_time="09:00",
    chain=("dee", "manager"),
)


def bxl(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


# -- the rota ----------------------------------------------------------------------------------


def test_three_people_rotate_weekly_at_the_monday_0900_handover() -> None:
    assert on_call(ROTA, bxl(1, 5, 9, 0), TZ) == "ann"
    assert on_call(ROTA, bxl(1, 10, 3, 0), TZ) == "ann"  # Saturday night
    assert on_call(ROTA, bxl(1, 12, 8, 59), TZ) == "ann"  # Monday, before the handover
    assert on_call(ROTA, bxl(1, 12, 9, 0), TZ) == "bob"
    assert on_call(ROTA, bxl(1, 19, 9, 0), TZ) == "cas"
    assert on_call(ROTA, bxl(1, 26, 9, 0), TZ) == "ann"  # round again
    assert on_call(ROTA, bxl(1, 26, 8, 59), TZ) == "cas"


def test_before_rota_start_the_rota_counts_backwards() -> None:
    assert on_call(ROTA, bxl(1, 5, 8, 59), TZ) == "cas"
    assert on_call(ROTA, bxl(12, 30, 12, 0, year=2025), TZ) == "cas"
    assert on_call(ROTA, bxl(12, 23, 12, 0, year=2025), TZ) == "bob"
    assert rota_index(ROTA, datetime(2026, 1, 5, 8, 59)) == -1


def test_the_handover_stays_at_0900_local_across_the_dst_change() -> None:
    # Clocks go forward on Sunday 29 March 2026: the handover the day after is still 09:00
    # Brussels time, which is 07:00 UTC instead of 08:00.
    weeks = (date(2026, 3, 30) - date(2026, 1, 5)).days // 7
    before, after = ROTA.rota[(weeks - 1) % 3], ROTA.rota[weeks % 3]
    assert before != after
    assert on_call(ROTA, datetime(2026, 3, 30, 6, 59, tzinfo=UTC), TZ) == before
    assert on_call(ROTA, datetime(2026, 3, 30, 7, 0, tzinfo=UTC), TZ) == after


def test_the_instant_is_read_in_the_rotas_time_zone() -> None:
    # 07:30 UTC on Monday 12 January is 08:30 in Brussels: before the handover.
    at = datetime(2026, 1, 12, 7, 30, tzinfo=UTC)
    assert on_call(ROTA, at, TZ) == "ann"
    assert on_call(ROTA, at, "Asia/Tokyo") == "bob"  # 16:30 in Tokyo


def test_person_0_starts_at_the_handover_on_or_before_rota_start() -> None:
    # rota_start on a Wednesday with a Friday 18:00 handover: the Friday before is the anchor.
    cfg = OnCallConfig(
        rota=("ann", "bob"),
        rota_start=date(2026, 1, 7),
        handover_weekday="fri",
        handover_time="18:00",
    )
    assert rota_index(cfg, datetime(2026, 1, 2, 18, 0)) == 0
    assert on_call(cfg, bxl(1, 7, 12, 0), TZ) == "ann"
    assert on_call(cfg, bxl(1, 9, 17, 59), TZ) == "ann"
    assert on_call(cfg, bxl(1, 9, 18, 0), TZ) == "bob"


def test_an_override_covers_a_holiday() -> None:
    # Ann is on call from Monday 30 March 2026 but away over Easter; Dee covers Good Friday
    # to Easter Monday, whole local days.
    cfg = ROTA.model_copy(
        update={
            "overrides": (RotaOverride(start=date(2026, 4, 3), end=date(2026, 4, 6), person="dee"),)
        }
    )
    assert on_call(ROTA, bxl(4, 2, 23, 59), TZ) == "ann"
    assert on_call(cfg, bxl(4, 2, 23, 59), TZ) == "ann"
    assert on_call(cfg, bxl(4, 3, 0, 0), TZ) == "dee"
    assert on_call(cfg, bxl(4, 6, 23, 59), TZ) == "dee"  # inclusive last day
    assert on_call(cfg, bxl(4, 7, 0, 0), TZ) == "bob"  # after the override, the rota again
    assert on_call(cfg, bxl(4, 6, 9, 0), TZ) == "dee"  # even across the Monday handover


def test_the_first_matching_override_wins() -> None:
    cfg = ROTA.model_copy(
        update={
            "overrides": (
                RotaOverride(start=date(2026, 4, 3), end=date(2026, 4, 6), person="dee"),
                RotaOverride(start=date(2026, 4, 1), end=date(2026, 4, 10), person="eve"),
            )
        }
    )
    assert on_call(cfg, bxl(4, 4, 12, 0), TZ) == "dee"
    assert on_call(cfg, bxl(4, 8, 12, 0), TZ) == "eve"


def test_no_rota_means_nobody_unless_overridden() -> None:
    cfg = OnCallConfig(
        overrides=(RotaOverride(start=date(2026, 4, 3), end=date(2026, 4, 3), person="dee"),)
    )
    assert on_call(cfg, bxl(4, 3, 12, 0), TZ) == "dee"
    assert on_call(cfg, bxl(4, 4, 12, 0), TZ) is None


def test_a_bad_handover_time_and_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="handover_time"):
        on_call(ROTA.model_copy(update={"handover_time": "nine"}), bxl(1, 5, 9, 0), TZ)
    with pytest.raises(ValueError, match="timezone-aware"):
        on_call(ROTA, datetime(2026, 1, 5, 9, 0), TZ)


# -- the chain ---------------------------------------------------------------------------------


def test_the_chain_is_on_call_then_the_configured_levels() -> None:
    assert chain(ROTA, bxl(1, 12, 9, 0), TZ) == ("bob", "dee", "manager")


def test_the_chain_skips_people_already_in_it() -> None:
    cfg = ROTA.model_copy(update={"chain": ("ann", "manager", "ann", "manager", "dee")})
    assert chain(cfg, bxl(1, 5, 10, 0), TZ) == ("ann", "manager", "dee")  # ann is on call
    assert chain(cfg, bxl(1, 12, 10, 0), TZ) == ("bob", "ann", "manager", "dee")


def test_the_chain_without_anyone_on_call_is_the_configured_levels() -> None:
    assert chain(OnCallConfig(chain=("dee", "dee", "manager")), bxl(1, 5, 9, 0), TZ) == (
        "dee",
        "manager",
    )
    assert chain(OnCallConfig(), bxl(1, 5, 9, 0), TZ) == ()


# -- paging ------------------------------------------------------------------------------------


def test_should_page_only_out_of_hours_and_only_for_the_paging_priorities() -> None:
    saturday, tuesday = bxl(3, 7, 11, 0), bxl(3, 10, 10, 0)
    assert should_page(ROTA, "high", OFFICE, saturday) is True
    assert should_page(ROTA, "normal", OFFICE, saturday) is False
    assert should_page(ROTA, "high", OFFICE, tuesday) is False
    assert should_page(ROTA, "high", OFFICE, bxl(3, 10, 18, 0)) is True  # at closing time
    assert should_page(ROTA, "high", OFFICE, bxl(4, 6, 10, 0)) is True  # Easter Monday
    both = ROTA.model_copy(update={"pages": ("high", "normal")})
    assert should_page(both, "normal", OFFICE, saturday) is True
    assert should_page(both, "low", OFFICE, saturday) is False


def test_the_next_level_is_due_after_ack_minutes_of_real_time() -> None:
    paged = bxl(3, 7, 23, 50)
    due = next_level_due(paged, ROTA)
    assert due == bxl(3, 8, 0, 5)
    assert due.tzinfo is UTC
    # Across the spring-forward hour it is still 15 real minutes, not wall-clock minutes.
    paged = datetime(2026, 3, 29, 0, 55, tzinfo=UTC)  # 01:55 in Brussels
    assert next_level_due(paged, ROTA.model_copy(update={"ack_minutes": 10})) == datetime(
        2026, 3, 29, 1, 5, tzinfo=UTC
    )


# -- properties --------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(instants)
def test_the_person_on_call_changes_only_at_a_handover(at: datetime) -> None:
    """From the last Monday 09:00 (Brussels) up to any instant, one person is on call."""
    monday = at.astimezone(BRUSSELS).date() - timedelta(days=at.astimezone(BRUSSELS).weekday())
    handover = datetime.combine(monday, time(9), tzinfo=BRUSSELS)
    if handover > at:
        handover = datetime.combine(monday - timedelta(days=7), time(9), tzinfo=BRUSSELS)
    person = on_call(ROTA, at, TZ)
    assert on_call(ROTA, handover, TZ) == person
    assert on_call(ROTA, handover + (at - handover) / 2, TZ) == person
    assert on_call(ROTA, handover - timedelta(minutes=1), TZ) != person
