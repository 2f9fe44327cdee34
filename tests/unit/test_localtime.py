"""Local times as clients read them: their language's words, no IANA zone names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maildesk.core.localtime import format_local

# 11:00 UTC on Tuesday 24 November 2026 is 12:00 in Brussels (CET, UTC+1).
AT = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Tuesday 24 November 2026 12:00 (Belgium Time)"),
        ("nl", "dinsdag 24 november 2026 12:00 (tijd in België)"),
        ("fr", "mardi 24 novembre 2026 12:00 (heure : Belgique)"),
        ("xx", "Tuesday 24 November 2026 12:00 (Belgium Time)"),
    ],
)
def test_a_time_is_written_in_the_clients_language(language: str, expected: str) -> None:
    assert format_local(AT, "Europe/Brussels", language) == expected


def test_summer_time_is_applied() -> None:
    """1 July 2027 10:00 UTC is 12:00 in Amsterdam (CEST, UTC+2)."""
    at = datetime(2027, 7, 1, 10, 0, tzinfo=UTC)
    assert (
        format_local(at, "Europe/Amsterdam", "nl")
        == "donderdag 1 juli 2027 12:00 (tijd in Nederland)"
    )


def test_a_zone_of_no_country_is_named_as_it_is() -> None:
    assert format_local(AT, "UTC", "fr") == "mardi 24 novembre 2026 11:00 (UTC)"
