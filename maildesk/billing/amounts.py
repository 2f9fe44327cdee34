"""What billed time costs, as one client reads it: per line, rounded once, with VAT.

- A line's amount is its minutes billed at the hourly rate (``at_rate``:
  hourly work, overage, after cancellation) times the policy's
  ``hourly_rate``, rounded once to cents, half up; with a ``vat_percent`` its
  amount including VAT is that amount plus VAT, rounded once as well.
- A total is the sum of its lines' rounded amounts, so the lines add up to it
  to the cent in any spreadsheet (VAT is not recomputed on the total).
- No rate, no amount: a prepaid contract without a rate shows hours only.

The formats per language are :mod:`maildesk.core.money`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from maildesk.billing.contracts import hourly_rate
from maildesk.billing.sheets import Money
from maildesk.core.money import Price, amount_for, format_money, format_price, vat_words
from maildesk.core.policy import BillingConfig

__all__ = ["Amounts"]


@dataclass(frozen=True)
class Amounts:
    """A policy's rate, VAT and currency, written in one language."""

    rate: Decimal | None
    vat_percent: Decimal | None
    currency: str
    language: str

    @classmethod
    def of(cls, billing: BillingConfig, language: str) -> Amounts:
        return cls(hourly_rate(billing), billing.vat_percent, billing.currency, language)

    @property
    def with_vat(self) -> bool:
        return self.rate is not None and self.vat_percent is not None

    def price(self, minutes: int) -> Price | None:
        """What ``minutes`` at the rate cost (None without a rate)."""
        if self.rate is None:
            return None
        return Price.of(amount_for(minutes, self.rate), self.vat_percent)

    def total(self, prices: Iterable[Price | None]) -> Price | None:
        """The sum of the lines' rounded amounts."""
        if self.rate is None:
            return None
        given = [p for p in prices if p is not None]
        incl = sum((p.incl for p in given if p.incl is not None), Decimal("0.00"))
        return Price(sum((p.excl for p in given), Decimal("0.00")), incl if self.with_vat else None)

    def text(self, price: Price) -> str:
        """``60,00 € HTVA (71,76 € TVAC)``, or just the amount without VAT."""
        return format_price(price, self.currency, self.language)

    def cell(self, amount: Decimal) -> Money:
        return Money(amount, format_money(amount, self.currency, self.language))

    def cells(self, price: Price | None) -> list[Money | str]:
        """The amount columns of a row: excl. (and incl.) VAT; blank without a price."""
        if price is None:
            return ["" for _ in self.headers()]
        if not self.with_vat:
            return [self.cell(price.excl)]
        return [self.cell(price.excl), self.cell(price.incl or price.excl)]

    def headers(self) -> list[str]:
        """The amount columns' headers; none without a rate."""
        if self.rate is None:
            return []
        word = _AMOUNT.get(self.language, _AMOUNT["en"])
        if not self.with_vat:
            return [word]
        excl, incl = vat_words(self.language)
        return [f"{word} {excl}", f"{word} {incl}"]


_AMOUNT = {"en": "Amount", "nl": "Bedrag", "fr": "Montant"}
