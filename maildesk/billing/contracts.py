"""How a contract bills work: which rule applies, and how many minutes (pure).

Staff record the time they worked; the client's policy (``[policies.X.billing]``)
decides what it costs. The rules, decided here once (``docs/billing.md`` works
them through on the four example contracts):

- **Scope.** Work is *included* (recorded, billed 0) or *billable*. The line's
  own mark (``#time 30m #included``) decides, else a quote on the ticket (quoted
  work is billable), else the ticket's mark (``#billable``/``#included``), else
  the policy's ``default_scope``. From the contract's ``cancelled_on`` date
  unmarked work is billable, at the rate, with the after-cancellation rounding.
- **How billable work is paid.** *prepaid*: drawn from the bundles; what they
  cannot cover is billed at the rate, or, without a rate, owed (a debt the
  next purchase pays first). *subscription* and *hourly*: at the rate.
- **Held work.** Billable work is recorded but not billed (yet) while a quote
  on the ticket is pending (``held``), after the client refused it
  (``refused``, unless staff mark it billable), and, under ``quote_required``,
  on a ticket without an accepted quote that staff did not mark billable
  (``unquoted``).
- **Rounding per intervention, capped by a quote.** The work a rounding
  applies to is a *group*: one intervention of a ticket, or everything booked
  on it since its quote was made. The group's billed total is
  ``min(rounded(total worked), quoted)`` (:func:`group_total`); each line books
  the difference between that total after it and what the group was billed
  before, so three 10-minute lines under a 30-minute unit bill 30, not 90.
- **Low balance**: the threshold is the larger of ``low_balance_hours`` and
  ``low_balance_percent`` of the last bundle bought or granted; 0 means never.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from maildesk.core.money import Price, format_price, to_cents
from maildesk.core.policy import BillingConfig
from maildesk.core.rounding import Rounding, cap_to_quote

__all__ = [
    "HELD_CATEGORIES",
    "Category",
    "Decision",
    "Mode",
    "QuoteState",
    "Scope",
    "Terms",
    "allocate",
    "decide",
    "format_rate",
    "group_total",
    "hourly_rate",
    "low_balance_threshold",
    "terms_for",
]

Mode = Literal["prepaid", "rate", "included"]
Scope = Literal["included", "billable"]
QuoteState = Literal["none", "pending", "accepted", "refused"]
Category = Literal[
    "prepaid",
    "overage",
    "debt",
    "hourly",
    "billable",
    "after_cancellation",
    "included",
    "held",
    "refused",
    "unquoted",
]
"""Why an entry is billed the way it is; stored as the work row's ``reference``."""
HELD_CATEGORIES: tuple[Category, ...] = ("held", "refused", "unquoted")
"""Billable work recorded but not billed (yet): it counts in its group's total."""


@dataclass(frozen=True)
class Terms:
    """The rule that pays billable work: draw from bundles, bill at the rate, or include."""

    mode: Mode
    category: Category
    rounding: Rounding


@dataclass(frozen=True)
class Decision:
    """What one line of work gets: its terms, and whether its group is billed now."""

    terms: Terms
    category: Category
    """The line's category when nothing is billed (``included`` or a held one)."""
    bills: bool
    """Whether the group's total is billed now (False: the line is included or held)."""
    quoted: int | None = None
    """The cap on the group's billed total (an accepted quote's minutes)."""


def terms_for(billing: BillingConfig, *, scope: Scope | None, on: date) -> Terms:
    """The terms for work of ``scope`` (None: unmarked) done on day ``on`` (local date)."""
    cancelled = billing.cancelled_on is not None and on >= billing.cancelled_on
    if cancelled:
        unit = billing.after_cancellation_unit_minutes or billing.unit_minutes
        rounding = Rounding(unit, billing.after_cancellation_minimum_minutes)
    else:
        rounding = Rounding(billing.unit_minutes, billing.minimum_minutes)
    effective = scope or ("billable" if cancelled else billing.scope)
    if effective == "included":
        return Terms("included", "included", rounding)
    if cancelled:
        return Terms("rate", "after_cancellation", rounding)
    if billing.kind == "prepaid":
        return Terms("prepaid", "prepaid", rounding)
    if billing.kind == "subscription":
        return Terms("rate", "billable", rounding)
    return Terms("rate", "hourly", rounding)


def decide(
    billing: BillingConfig,
    *,
    line_scope: Scope | None,
    ticket_scope: Scope | None,
    quote: QuoteState,
    quoted: int | None,
    on: date,
) -> Decision:
    """How a line of work is billed (see the module's rules)."""
    scope = line_scope or ("billable" if quote != "none" else ticket_scope)
    terms = terms_for(billing, scope=scope, on=on)
    if terms.mode == "included":
        return Decision(terms, "included", bills=False)
    marked_billable = (line_scope or ticket_scope) == "billable"
    if quote == "pending":
        return Decision(terms, "held", bills=False)
    if quote == "accepted":
        return Decision(terms, terms.category, bills=True, quoted=quoted)
    if quote == "refused" and not marked_billable:
        return Decision(terms, "refused", bills=False)
    if quote == "none" and billing.quote_required and not marked_billable:
        return Decision(terms, "unquoted", bills=False)
    return Decision(terms, terms.category, bills=True)


def group_total(rounding: Rounding, worked: int, quoted: int | None) -> int:
    """What a group of work (an intervention, or a quote's work) bills in all."""
    return cap_to_quote(rounding.bill(worked), quoted)


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


def hourly_rate(billing: BillingConfig) -> Decimal | None:
    """The policy's hourly rate (excluding VAT) as an exact amount, or None when it has none."""
    if billing.hourly_rate <= 0:
        return None
    return to_cents(str(billing.hourly_rate))


def format_rate(billing: BillingConfig, language: str) -> str | None:
    """The hourly rate as the client reads it (``60,00 €/h HTVA (71,76 €/h TVAC)``), or None."""
    rate = hourly_rate(billing)
    if rate is None:
        return None
    return format_price(Price.of(rate, billing.vat_percent), billing.currency, language, "/h")
