"""Which rule bills a time entry and how much: the contracts' own numbers (pure)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from maildesk.billing.contracts import (
    allocate,
    bill_entry,
    format_rate,
    low_balance_threshold,
    terms_for,
)
from maildesk.core.policy import BillingConfig

DAY = date(2026, 11, 18)
HOSTING = BillingConfig(kind="hourly", unit_minutes=30, hourly_rate=60)
LEARNING = BillingConfig(kind="prepaid", unit_minutes=15, starter_grant_hours=3)
MAINTENANCE = BillingConfig(kind="subscription", hourly_rate=75, cancelled_on=date(2026, 11, 1))


def _bill(billing: BillingConfig, raw: int, so_far: int = 0, quoted: int | None = None) -> int:
    return bill_entry(terms_for(billing, billable=False, on=DAY), raw, so_far, quoted)


def test_half_hour_contract_31_minutes_bills_60() -> None:
    assert _bill(HOSTING, 31) == 60


def test_quote_of_two_hours_caps_two_hours_forty() -> None:
    assert _bill(HOSTING, 160, quoted=120) == 120


def test_quote_of_two_hours_with_one_hour_ten_bills_one_hour_thirty() -> None:
    assert _bill(HOSTING, 70, quoted=120) == 90


def test_quote_cap_over_several_entries() -> None:
    """The entry that crosses the quote bills what is left of it; later entries bill 0."""
    assert _bill(HOSTING, 80, so_far=0, quoted=120) == 90
    assert _bill(HOSTING, 60, so_far=90, quoted=120) == 30
    assert _bill(HOSTING, 15, so_far=120, quoted=120) == 0


def test_after_cancellation_twenty_minutes_bills_sixty_at_the_rate() -> None:
    terms = terms_for(MAINTENANCE, billable=False, on=DAY)
    assert (terms.mode, terms.category) == ("rate", "after_cancellation")
    assert bill_entry(terms, 20, 0, None) == 60


def test_before_cancellation_subscription_work_is_included() -> None:
    terms = terms_for(MAINTENANCE, billable=False, on=date(2026, 10, 31))
    assert (terms.mode, terms.category) == ("included", "included")
    assert bill_entry(terms, 20, 0, None) == 0


def test_billable_work_is_billed_at_the_rate_under_every_contract() -> None:
    for billing in (HOSTING, LEARNING, MAINTENANCE.model_copy(update={"cancelled_on": None})):
        terms = terms_for(billing, billable=True, on=DAY)
        assert (terms.mode, terms.category) == ("rate", "billable")


@pytest.mark.parametrize(("raw", "billed"), [(20, 30), (50, 60), (15, 15), (1, 15)])
def test_fifteen_minute_unit(raw: int, billed: int) -> None:
    assert _bill(LEARNING, raw) == billed


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
    assert format_rate(HOSTING) == "60.00 EUR/h"
    assert format_rate(LEARNING) is None


def test_after_cancellation_minimum_must_fit_the_unit() -> None:
    with pytest.raises(ValidationError, match="after_cancellation_minimum_minutes"):
        BillingConfig(unit_minutes=45, cancelled_on=DAY)
    with pytest.raises(ValidationError, match="minimum_minutes"):
        BillingConfig(unit_minutes=15, minimum_minutes=20)
    ok = BillingConfig(unit_minutes=45, after_cancellation_unit_minutes=60)
    assert ok.after_cancellation_minimum_minutes == 60
