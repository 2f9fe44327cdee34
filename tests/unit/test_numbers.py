"""Ticket numbers and subject tags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from maildesk.core.numbers import NumberFormat


def test_default_format_and_tag() -> None:
    fmt = NumberFormat()
    assert fmt.number(2026, 42) == "2026-000042"
    assert fmt.tag("2026-000042") == "[#2026-000042]"
    assert fmt.scope(2026) == "2026"


def test_tag_found_in_reply_subjects() -> None:
    fmt = NumberFormat()
    assert fmt.find_numbers("Re: [#2026-000042] Login broken") == ["2026-000042"]
    assert fmt.find_numbers("AW: Re: [#2026-000042] x [#2025-000007]") == [
        "2026-000042",
        "2025-000007",
    ]
    assert fmt.find_numbers("Re: #2026-000042 without brackets") == []
    assert fmt.find_numbers("[#2026-00004] too short is still digits") == ["2026-00004"]


def test_custom_format_without_year() -> None:
    fmt = NumberFormat("HD{seq:05d}", "(Ticket {number})")
    assert fmt.scope(2026) == "all"
    assert fmt.number(2026, 7) == "HD00007"
    assert fmt.find_numbers("Re: (Ticket HD00007) printer") == ["HD00007"]
    assert fmt.find_numbers("Re: [#2026-000001]") == []


def test_tagged_subject_adds_tag_once() -> None:
    fmt = NumberFormat()
    assert fmt.tagged_subject("2026-000001", "Help") == "[#2026-000001] Help"
    assert fmt.tagged_subject("2026-000001", "Re: [#2026-000001] Help") == (
        "Re: [#2026-000001] Help"
    )


@given(st.integers(min_value=2000, max_value=2999), st.integers(min_value=1, max_value=10**7))
def test_every_number_is_found_again(year: int, seq: int) -> None:
    fmt = NumberFormat()
    number = fmt.number(year, seq)
    assert fmt.find_numbers(f"Re: {fmt.tag(number)} subject") == [number]
