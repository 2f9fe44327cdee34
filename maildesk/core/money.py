"""Money as a client reads it: Decimal amounts, rounded once, written per language.

- **Amounts are Decimal**, never floats: a rate times a duration is computed
  exactly and rounded once, to cents, half up (:func:`amount_for`), so every
  line of a timesheet can be recomputed by hand and the lines add up to the
  total to the cent.
- **Written per language** through the Unicode CLDR (Babel, imported here and
  in :mod:`maildesk.core.localtime` only): French ``60,00 €``, Dutch
  ``€ 60,00``; English is written ``EUR 60.00`` (the currency's code, not a
  sign that could be any dollar). The space between figure and sign is a
  non-breaking one (U+00A0), so a line never wraps between them.
- **VAT**: where the policy has a ``vat_percent``, an amount is shown excluding
  VAT and, beside it, including it (:func:`with_vat`, rounded once as well).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from babel.numbers import format_currency, format_decimal

__all__ = [
    "CENT",
    "Price",
    "amount_for",
    "format_money",
    "format_price",
    "spreadsheet_format",
    "to_cents",
    "vat_words",
    "with_vat",
]

CENT: Final = Decimal("0.01")
_NBSP: Final = "\u00a0"

_VAT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "en": ("excl. VAT", "incl. VAT"),
    "nl": ("excl. btw", "incl. btw"),
    "fr": ("HTVA", "TVAC"),
}


def to_cents(value: Decimal | int | str) -> Decimal:
    """``value`` rounded to cents, half up (0.005 → 0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_for(minutes: int, hourly_rate: Decimal) -> Decimal:
    """What ``minutes`` cost at ``hourly_rate``, rounded once to cents."""
    return to_cents(Decimal(minutes) * hourly_rate / 60)


def with_vat(amount: Decimal, vat_percent: Decimal) -> Decimal:
    """``amount`` (excluding VAT) including ``vat_percent`` %, rounded once to cents."""
    return to_cents(amount * (100 + vat_percent) / 100)


def _locale(language: str) -> str:
    return language if language in ("nl", "fr", "de") else "en"


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``60,00 €`` (fr), ``€ 60,00`` (nl), ``EUR 60.00`` (en): always two decimals."""
    locale = _locale(language)
    if locale == "en":
        return f"{currency}{_NBSP}{format_decimal(amount, format='#,##0.00', locale='en')}"
    text = format_currency(amount, currency, locale=locale, currency_digits=False, format=None)
    # CLDR groups thousands with a narrow no-break space in French; one kind of space.
    return str(text).replace("\u202f", _NBSP)


def vat_words(language: str) -> tuple[str, str]:
    """How the language says "excluding VAT" and "including VAT"."""
    return _VAT_WORDS.get(language, _VAT_WORDS["en"])


@dataclass(frozen=True)
class Price:
    """An amount excluding VAT, and including it when a VAT rate applies."""

    excl: Decimal
    incl: Decimal | None = None

    @classmethod
    def of(cls, amount: Decimal, vat_percent: Decimal | None) -> Price:
        return cls(amount, with_vat(amount, vat_percent) if vat_percent is not None else None)


def format_price(price: Price, currency: str, language: str, per: str = "") -> str:
    """``EUR 60.00/h excl. VAT (EUR 71.76/h incl. VAT)``; without VAT just the amount."""
    text = format_money(price.excl, currency, language) + per
    if price.incl is None:
        return text
    excl, incl = vat_words(language)
    return f"{text} {excl} ({format_money(price.incl, currency, language)}{per} {incl})"


def spreadsheet_format(currency: str, language: str) -> str:
    """The number format of a currency cell, as the language writes the amount."""
    locale = _locale(language)
    if locale == "en":
        return f'"{currency}"\\ #,##0.00'
    sample = format_money(Decimal(1), currency, language)
    if sample.startswith("1"):  # figure first: 1,00 €
        symbol = sample.split(_NBSP, 1)[1]
        return f'#,##0.00\\ "{symbol}"'
    symbol = sample.split(_NBSP, 1)[0]
    return f'"{symbol}"\\ #,##0.00'
