"""Which rule bills a line of work and how much: the contracts' own numbers (pure).

Expected figures are computed here from the rule (every started unit, the minimum,
the quote's cap), never copied from maildesk's output.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from maildesk.billing.contracts import (
    Decision,
    QuoteState,
    Scope,
    allocate,
    decide,
    format_rate,
    group_total,
    low_balance_threshold,
    terms_for,
)
from maildesk.core.policy import BillingConfig
from maildesk.core.rounding import Rounding

DAY = date(2026, 11, 18)
HOSTING = BillingConfig(kind="hourly", unit_minutes=30, hourly_rate=60)
LEARNING = BillingConfig(kind="prepaid", unit_minutes=15, starter_grant_hours=3)
MAINTENANCE = BillingConfig(kind="subscription", hourly_rate=75, cancelled_on=date(2026, 11, 1))
QUOTED = HOSTING.model_copy(update={"quote_required": True})


def _decide(
    billing: BillingConfig,
    *,
    line: Scope | None = None,
    ticket: Scope | None = None,
    quote: QuoteState = "none",
    on: date = DAY,
) -> Decision:
    return decide(billing, line_scope=line, ticket_scope=ticket, quote=quote, quoted=None, on=on)


def _lines(rounding: Rounding, lines: list[int], quoted: int | None = None) -> list[int]:
    """What each line books: the group's total after it minus its total before."""
    billed, worked, out = 0, 0, []
    for raw in lines:
        worked += raw
        out.append(group_total(rounding, worked, quoted) - billed)
        billed += out[-1]
    return out


def test_three_ten_minute_lines_under_a_half_hour_unit_bill_one_unit() -> None:
    unit = 30
    assert sum(_lines(Rounding(unit), [10, 10, 10])) == -(-30 // unit) * unit == 30


def test_after_cancellation_minimum_once_per_intervention() -> None:
    terms = terms_for(MAINTENANCE, scope=None, on=DAY)
    assert (terms.mode, terms.category) == ("rate", "after_cancellation")
    assert _lines(terms.rounding, [10, 15]) == [60, 0]
    assert _lines(terms.rounding, [20, 20]) == [60, 0]


def test_a_single_seven_minute_line_bills_one_fifteen_minute_unit() -> None:
    assert _lines(Rounding(15), [7]) == [15]


def test_quote_cap_over_the_group() -> None:
    """min(rounded actual, quoted): 2 h 40 under a 2 h quote bills 2 h; 1 h 10 bills 1 h 30."""
    half_hour = Rounding(30)
    assert sum(_lines(half_hour, [80, 60, 20], quoted=120)) == min(180, 120)
    assert _lines(half_hour, [70], quoted=120) == [90]


@given(st.lists(st.integers(1, 600), max_size=12), st.sampled_from([1, 15, 30, 60]))
def test_lines_bill_the_rule_applied_to_their_sum(lines: list[int], unit: int) -> None:
    minimum = unit * 2 if unit < 60 else 60
    booked = _lines(Rounding(unit, minimum), lines)
    total = sum(lines)
    expected = 0 if total == 0 else max(-(-total // unit) * unit, minimum)
    assert sum(booked) == expected
    assert all(b >= 0 for b in booked)


def test_before_cancellation_subscription_work_is_included() -> None:
    decision = _decide(MAINTENANCE, on=date(2026, 10, 31))
    assert (decision.terms.mode, decision.category, decision.bills) == (
        "included",
        "included",
        False,
    )


def test_scope_marks_switch_either_way_under_every_kind() -> None:
    subscription = MAINTENANCE.model_copy(update={"cancelled_on": None})
    for billing in (HOSTING, LEARNING, subscription):
        assert _decide(billing, ticket="included").category == "included"
        assert _decide(billing, ticket="billable").bills
        # the line's own mark wins over the ticket's
        assert _decide(billing, ticket="billable", line="included").category == "included"
        assert _decide(billing, ticket="included", line="billable").bills
    assert _decide(subscription, ticket="billable").terms.mode == "rate"
    assert _decide(LEARNING, ticket="billable").terms.mode == "prepaid"
    assert _decide(HOSTING).terms.category == "hourly"
    assert not _decide(subscription).bills


def test_quotes_hold_bill_or_refuse() -> None:
    assert _decide(HOSTING, quote="pending").category == "held"
    assert not _decide(HOSTING, quote="pending", ticket="billable").bills
    assert _decide(HOSTING, quote="accepted").bills
    assert _decide(HOSTING, quote="refused").category == "refused"
    assert _decide(HOSTING, quote="refused", ticket="billable").bills
    # quoted work is billable even where unmarked work is included
    free = HOSTING.model_copy(update={"default_scope": "included"})
    assert _decide(free).category == "included"
    assert _decide(free, quote="accepted").bills


def test_quote_required_bills_only_accepted_quotes_or_marked_work() -> None:
    assert _decide(QUOTED).category == "unquoted"
    assert _decide(QUOTED, ticket="billable").bills
    assert _decide(QUOTED, line="billable").bills
    assert _decide(QUOTED, ticket="included").category == "included"


@pytest.mark.parametrize(("raw", "billed"), [(20, 30), (50, 60), (15, 15), (1, 15)])
def test_fifteen_minute_unit(raw: int, billed: int) -> None:
    assert _lines(terms_for(LEARNING, scope=None, on=DAY).rounding, [raw]) == [billed]


def test_default_scope_by_kind_or_as_configured() -> None:
    assert BillingConfig(kind="subscription").scope == "included"
    assert BillingConfig(kind="prepaid").scope == "billable"
    assert BillingConfig(kind="hourly", default_scope="included").scope == "included"
    with pytest.raises(ValidationError, match="default_scope"):
        BillingConfig.model_validate({"default_scope": "free"})


def test_allocate_oldest_first_and_split() -> None:
    assert allocate([(1, 30), (2, 600)], 90) == ([(1, 30), (2, 60)], 0)
    assert allocate([(1, 30), (2, 20)], 90) == ([(1, 30), (2, 20)], 40)
    assert allocate([], 45) == ([], 45)
    assert allocate([(1, 0), (2, 60)], 15) == ([(2, 15)], 0)


def test_low_balance_threshold_hours_or_percent_whichever_is_larger() -> None:
    assert low_balance_threshold(BillingConfig(low_balance_hours=2), 600) == 120
    assert low_balance_threshold(BillingConfig(low_balance_percent=25), 600) == 150
    both = BillingConfig(low_balance_hours=2, low_balance_percent=10)
    assert low_balance_threshold(both, 600) == 120
    assert low_balance_threshold(both, 2400) == 240
    assert low_balance_threshold(BillingConfig(), 600) == 0


def test_rate_format() -> None:
    nbsp = "\u00a0"
    assert format_rate(HOSTING, "en") == f"EUR{nbsp}60.00/h"
    assert format_rate(HOSTING, "fr") == f"60,00{nbsp}€/h"
    with_vat = HOSTING.model_copy(update={"vat_percent": Decimal("19.6")})
    assert format_rate(with_vat, "nl") == f"€{nbsp}60,00/h excl. btw (€{nbsp}71,76/h incl. btw)"
    assert format_rate(LEARNING, "en") is None


def test_after_cancellation_minimum_must_fit_the_unit() -> None:
    with pytest.raises(ValidationError, match="after_cancellation_minimum_minutes"):
        BillingConfig(unit_minutes=45, cancelled_on=DAY)
    with pytest.raises(ValidationError, match="minimum_minutes"):
        BillingConfig(unit_minutes=15, minimum_minutes=20)
    ok = BillingConfig(unit_minutes=45, after_cancellation_unit_minutes=60)
    assert ok.after_cancellation_minimum_minutes == 60
