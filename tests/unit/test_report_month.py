"""Months of the service report: parsing, neighbours across a year, bounds in local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maildesk.report.figures import Month


@pytest.mark.parametrize("text", ["2026-13", "2026-0", "26-11", "november", "2026-11-01", ""])
def test_a_bad_month_is_refused_naming_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="a month such as 2026-11"):
        Month.parse(text)


def test_neighbours_and_bounds() -> None:
    assert Month.parse(" 2026-01 ") == Month(2026, 1)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2026, 11).last(3) == [Month(2026, 9), Month(2026, 10), Month(2026, 11)]
    # Brussels: CET in winter (UTC+1), CEST until the last Sunday of October (UTC+2)
    assert Month(2026, 11).start("Europe/Brussels") == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert Month(2026, 10).start("Europe/Brussels") == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert Month(2026, 10).end("Europe/Brussels") == Month(2026, 11).start("Europe/Brussels")
    assert Month.of(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), "Europe/Brussels") == Month(
        2026, 11
    )
