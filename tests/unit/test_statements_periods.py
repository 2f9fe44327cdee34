"""Statement periods: ISO weeks in the statement zone, when each is due, how it is named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from maildesk.billing.statements import (
    last_complete_week,
    parse_week,
    week_label,
)
from maildesk.billing.weekly import statement_due
from maildesk.billing.words import date_range
from maildesk.core.config import Service

BRUSSELS = "Europe/Brussels"


def test_week_labels_round_trip() -> None:
    assert parse_week("2026-W47") == date(2026, 11, 16)
    assert parse_week(" 2026-w01 ") == date(2025, 12, 29)
    assert week_label(date(2025, 12, 29)) == "2026-W01"
    assert week_label(parse_week("2026-W53")) == "2026-W53"


@pytest.mark.parametrize("text", ["2026-47", "W47", "2026-W", "2025-W53", "2026-W00", "x-Wy"])
def test_bad_weeks_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_week(text)


def test_last_complete_week_is_taken_in_the_statement_zone() -> None:
    # Sunday 23:30 UTC is already Monday in Brussels: the week before has ended there.
    sunday_night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert last_complete_week(sunday_night, BRUSSELS) == date(2026, 11, 16)
    assert last_complete_week(sunday_night, "UTC") == date(2026, 11, 9)


def test_statement_is_due_on_the_configured_weekday_and_hour() -> None:
    service = Service(timezone=BRUSSELS)
    assert statement_due(date(2026, 11, 16), service) == datetime(2026, 11, 23, 7, tzinfo=UTC)
    summer = Service(timezone=BRUSSELS, statement_weekday="tue", statement_hour=6)
    assert statement_due(date(2026, 6, 1), summer) == datetime(2026, 6, 9, 4, tzinfo=UTC)
    other_zone = Service(timezone=BRUSSELS, statement_timezone="America/New_York")
    assert statement_due(date(2026, 11, 16), other_zone) == datetime(2026, 11, 23, 13, tzinfo=UTC)


def test_date_ranges_in_three_languages() -> None:
    assert date_range(date(2026, 11, 16), date(2026, 11, 22), "en") == "16–22 November 2026"
    assert date_range(date(2026, 11, 30), date(2026, 12, 6), "nl") == (
        "30 november – 6 december 2026"
    )
    assert date_range(date(2026, 12, 28), date(2027, 1, 3), "fr") == (
        "28 décembre 2026 – 3 janvier 2027"
    )
