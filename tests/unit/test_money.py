"""Money as the client reads it: per language, with and without VAT, rounded once (by hand)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from maildesk.core.money import (
    Price,
    amount_for,
    format_money,
    format_price,
    spreadsheet_format,
    to_cents,
    with_vat,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("fr", f"60,00{NBSP}€"),
        ("nl", f"€{NBSP}60,00"),
        ("en", f"EUR{NBSP}60.00"),
        ("de", f"60,00{NBSP}€"),
        ("xx", f"EUR{NBSP}60.00"),  # an unknown language is written as English
    ],
)
def test_sixty_euros_in_each_language(language: str, written: str) -> None:
    assert format_money(Decimal(60), "EUR", language) == written


def test_thousands_and_cents() -> None:
    amount = Decimal("1234.5")
    assert format_money(amount, "EUR", "fr") == f"1{NBSP}234,50{NBSP}€"
    assert format_money(amount, "EUR", "nl") == f"€{NBSP}1.234,50"
    assert format_money(amount, "EUR", "en") == f"EUR{NBSP}1,234.50"


def test_the_hosting_contract_rate_with_vat() -> None:
    """60 EUR excl. VAT at 19.6 % is 71.76 incl.: 60 × 1.196 = 71.76."""
    price = Price.of(Decimal("60.00"), Decimal("19.6"))
    assert price.incl == Decimal("71.76")
    assert format_price(price, "EUR", "en", "/h") == (
        f"EUR{NBSP}60.00/h excl. VAT (EUR{NBSP}71.76/h incl. VAT)"
    )
    assert format_price(price, "EUR", "fr") == f"60,00{NBSP}€ HTVA (71,76{NBSP}€ TVAC)"
    assert format_price(price, "EUR", "nl") == f"€{NBSP}60,00 excl. btw (€{NBSP}71,76 incl. btw)"
    assert format_price(Price.of(Decimal(60), None), "EUR", "en") == f"EUR{NBSP}60.00"


def test_amounts_round_once_half_up_to_cents() -> None:
    # 50 minutes at 85/h: 85 × 50 / 60 = 70.8333… → 70.83
    assert amount_for(50, Decimal(85)) == Decimal("70.83")
    # 1 minute at 0.30/h: 0.005 → 0.01 (half up, not to even)
    assert amount_for(1, Decimal("0.30")) == Decimal("0.01")
    # 90 minutes at 60/h: 90.00 exactly
    assert amount_for(90, Decimal(60)) == Decimal("90.00")
    # 70.83 + 21 % = 85.7043 → 85.70; 0.05 + 19.6 % = 0.0598 → 0.06
    assert with_vat(Decimal("70.83"), Decimal(21)) == Decimal("85.70")
    assert with_vat(Decimal("0.05"), Decimal("19.6")) == Decimal("0.06")
    assert to_cents("2.675") == Decimal("2.68")


def test_spreadsheet_formats_follow_the_language() -> None:
    assert spreadsheet_format("EUR", "fr") == '#,##0.00\\ "€"'
    assert spreadsheet_format("EUR", "nl") == '"€"\\ #,##0.00'
    assert spreadsheet_format("EUR", "en") == '"EUR"\\ #,##0.00'
