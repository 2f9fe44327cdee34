"""How a contract bills one time entry: which rule applies, and how many minutes (pure).

Staff record the time they worked; the client's policy (``[policies.X.billing]``)
decides what it costs. The rules, decided here once:

- **Which rule.** In this order: from the contract's ``cancelled_on`` date
  every entry is billed at the hourly rate with the after-cancellation rounding
  (the maintenance contract: "a minimum of 1 hour"); work marked ``#billable``
  (``ticket.billable``: outside the contract's scope) is billed at the hourly
  rate under every kind of contract; otherwise *prepaid* work draws on the
  bundles (and what they cannot cover is overage at the rate), *subscription*
  work is included (recorded, billed 0) and *hourly* work is billed at the rate.
- **Rounding per entry**: each ``#time`` line is rounded on its own (every
  started unit is due, then the minimum per intervention), and both the raw
  and the billed minutes are kept.
- **Quote cap over the ticket's total**: on a ticket with an accepted quote,
  the billed total is capped at the quoted time. Entry by entry that means: an
  entry bills its rounded minutes until the ticket's billed total reaches the
  quote, the entry that crosses the quote bills what is left of it, and later
  entries bill 0 (their raw time is still recorded). A 2 h quote with one
  entry of 2 h 40 min bills 2 h; with 1 h 10 min under a half-hour unit it
  bills 1 h 30 min.
- **Low balance**: the threshold is the larger of ``low_balance_hours`` and
  ``low_balance_percent`` of the last bundle bought or granted; 0 means never.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from maildesk.core.policy import BillingConfig
from maildesk.core.rounding import Rounding, cap_to_quote

__all__ = [
    "Category",
    "Mode",
    "Terms",
    "allocate",
    "bill_entry",
    "format_rate",
    "low_balance_threshold",
    "terms_for",
]

Mode = Literal["prepaid", "rate", "included"]
Category = Literal["prepaid", "overage", "hourly", "billable", "included", "after_cancellation"]
"""Why an entry is billed the way it is; stored as the work row's ``reference``."""


@dataclass(frozen=True)
class Terms:
    """The rule that bills an entry: draw from bundles, bill at the rate, or include."""

    mode: Mode
    category: Category
    rounding: Rounding


def terms_for(billing: BillingConfig, *, billable: bool, on: date) -> Terms:
    """The terms for work done on day ``on`` (the contract's local date)."""
    if billing.cancelled_on is not None and on >= billing.cancelled_on:
        unit = billing.after_cancellation_unit_minutes or billing.unit_minutes
        rounding = Rounding(unit, billing.after_cancellation_minimum_minutes)
        return Terms("rate", "after_cancellation", rounding)
    rounding = Rounding(billing.unit_minutes, billing.minimum_minutes)
    if billable:
        return Terms("rate", "billable", rounding)
    if billing.kind == "prepaid":
        return Terms("prepaid", "prepaid", rounding)
    if billing.kind == "subscription":
        return Terms("included", "included", rounding)
    return Terms("rate", "hourly", rounding)


def bill_entry(terms: Terms, raw_minutes: int, billed_so_far: int, quoted: int | None) -> int:
    """Billed minutes for one entry, given what the ticket was billed before and its quote."""
    if terms.mode == "included":
        return 0
    rounded = terms.rounding.bill(raw_minutes)
    if quoted is None:
        return rounded
    return max(0, cap_to_quote(billed_so_far + rounded, quoted) - billed_so_far)


def allocate(
    available: Sequence[tuple[int, int]], billed: int
) -> tuple[list[tuple[int, int]], int]:
    """Draw ``billed`` minutes from ``(bundle id, remaining)`` pairs, in the order given.

    Returns the draws ``(bundle id, minutes)`` and the shortfall nothing covered.
    """
    draws: list[tuple[int, int]] = []
    left = billed
    for bundle_id, remaining in available:
        if left <= 0:
            break
        take = min(left, remaining)
        if take > 0:
            draws.append((bundle_id, take))
            left -= take
    return draws, left


def low_balance_threshold(billing: BillingConfig, last_bundle_minutes: int) -> int:
    """Minutes below which the client is told its hours are almost used up (0: never)."""
    by_hours = round(billing.low_balance_hours * 60)
    by_percent = round(last_bundle_minutes * billing.low_balance_percent / 100)
    return max(by_hours, by_percent)


def format_rate(billing: BillingConfig) -> str | None:
    """The hourly rate as mails show it (``60.00 EUR/h``), or None when there is none."""
    if billing.hourly_rate <= 0:
        return None
    return f"{billing.hourly_rate:.2f} {billing.currency}/h"
