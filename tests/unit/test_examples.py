"""The four real contracts as example configs: valid, and saying what the contracts say."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maildesk.configfile import load_settings
from maildesk.sla.policy import calendar_from_config

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
NAMES = ["learning-helpdesk", "prepaid-assistance", "hosting-support", "maintenance-subscription"]


@pytest.mark.parametrize("name", NAMES)
def test_example_loads_and_its_calendars_build(name: str) -> None:
    settings = load_settings(EXAMPLES / f"{name}.toml")
    assert settings.clients, "each example has clients"
    assert any(c.authorised for cl in settings.clients for c in cl.contacts)
    assert any(not c.authorised for cl in settings.clients for c in cl.contacts)
    for policy in settings.policies.values():
        calendar_from_config(policy.calendar)


def test_learning_helpdesk_says_what_its_contract_says() -> None:
    s = load_settings(EXAMPLES / "learning-helpdesk.toml")
    policy = s.policies["default"]
    assert policy.required.items == ("url", "screenshot", "steps")
    assert policy.sla.minutes("high") == (60, 240)
    assert policy.sla.minutes("normal") == (240, 2 * 570)
    assert policy.sla.minutes("low") == (480, 5 * 570)
    assert policy.oncall.pages == ("high",)
    assert (policy.billing.unit_minutes, policy.billing.starter_grant_hours) == (15, 3.0)
    cal = calendar_from_config(policy.calendar)
    brussels = ZoneInfo("Europe/Brussels")
    assert cal.is_open(datetime(2026, 11, 20, 17, 59, tzinfo=brussels))
    assert not cal.is_open(datetime(2026, 11, 20, 18, 0, tzinfo=brussels))
    assert cal.is_closed_day(date(2026, 4, 6)), "Easter Monday"


def test_prepaid_assistance_bank_closed_day_is_closed() -> None:
    s = load_settings(EXAMPLES / "prepaid-assistance.toml")
    policy = s.policies["default"]
    assert policy.required.items == ("url", "screenshot", "steps", "login")
    assert policy.billing.timesheet_after_task
    cal = calendar_from_config(policy.calendar)
    assert cal.is_closed_day(date(2026, 4, 3)), "Good Friday: banks closed"
    assert cal.is_closed_day(date(2026, 7, 21)), "Belgian national day"


def test_hosting_support_bills_started_half_hours_at_60() -> None:
    s = load_settings(EXAMPLES / "hosting-support.toml")
    billing = s.policies["default"].billing
    assert (billing.kind, billing.unit_minutes, billing.hourly_rate) == ("hourly", 30, 60.0)
    assert all(c.require_authentication for c in s.clients)
    # "60 EUR excl. VAT, 71.76 incl.": 60 × (100 + 19.6) / 100 = 71.76.
    assert billing.vat_percent == Decimal("19.6")
    assert Decimal(60) * (100 + billing.vat_percent) / 100 == Decimal("71.76")


def test_maintenance_subscription_closure_and_cancellation() -> None:
    s = load_settings(EXAMPLES / "maintenance-subscription.toml")
    cal = calendar_from_config(s.policies["default"].calendar)
    assert cal.is_closed_day(date(2026, 12, 28)), "the announced year-end closure"
    assert s.policies["default"].billing.kind == "subscription"
    cancelled = s.policies[s.client("garage-smit").policy].billing  # type: ignore[union-attr]
    assert cancelled.cancelled_on == date(2026, 10, 1)
    assert cancelled.after_cancellation_minimum_minutes == 60


# -- priority rules that follow each contract's definitions -----------------------------


def _priority(name: str, subject: str, text: str) -> str:
    from maildesk.ingest.priority import decide_priority

    rules = load_settings(EXAMPLES / f"{name}.toml").policies["default"].priority
    return decide_priority(subject, text, rules, allow_markers=False, client_default=None).priority


@pytest.mark.parametrize(
    ("subject", "text", "priority"),
    [
        # High: "the service cannot be used at all"
        ("Platform down", "Nobody can log in to the platform.", "high"),
        ("Storing", "Het leerplatform ligt eruit.", "high"),
        # Normal: "degraded or partly unusable for all users"
        ("Lenteurs", "La plateforme est très lente pour tous les utilisateurs.", "normal"),
        # Low: "a small part, or a small number of users"
        ("Quiz", "Eén student kan de toets niet openen.", "low"),
        ("Typo", "Small typo on the start page.", "low"),
        ("Vraag", "Hoe kan ik een groep aanmaken?", "low"),
    ],
)
def test_learning_helpdesk_priorities_follow_its_definitions(
    subject: str, text: str, priority: str
) -> None:
    assert _priority("learning-helpdesk", subject, text) == priority


def test_learning_helpdesk_asks_the_on_call_person_when_unsure() -> None:
    policy = load_settings(EXAMPLES / "learning-helpdesk.toml").policies["default"]
    assert policy.priority.scope_impact is not None
    assert policy.priority.scope_impact.ask_when_unsure
    assert policy.oncall.pages == ("high",), "the emergency service is for High only"


@pytest.mark.parametrize(
    ("subject", "text", "priority"),
    [
        ("Site en panne", "Notre site boulangerie.example est en panne.", "high"),
        ("Mail", "All mailboxes cannot receive mail since 21:00: mail down.", "high"),
        ("Lent", "Le site est lent pour tous nos clients.", "normal"),
        ("Boîte pleine", "Un seul collaborateur n'arrive pas à envoyer ses mails.", "low"),
    ],
)
def test_hosting_support_pages_urgent_problems_only(subject: str, text: str, priority: str) -> None:
    assert _priority("hosting-support", subject, text) == priority
    policy = load_settings(EXAMPLES / "hosting-support.toml").policies["default"]
    assert policy.oncall.pages == ("high",)


@pytest.mark.parametrize(
    ("subject", "text", "priority"),
    [
        ("Anomalie bloquante", "Export des notes impossible.", "high"),
        ("Plateforme", "La plateforme est inaccessible.", "high"),
        ("Anomalie limitante", "L'export est lent.", "normal"),
        ("Un élève", "Un seul élève ne peut pas se connecter.", "normal"),
    ],
)
def test_prepaid_assistance_blocking_and_limiting(subject: str, text: str, priority: str) -> None:
    assert _priority("prepaid-assistance", subject, text) == priority


def test_maintenance_subscription_has_no_priorities_to_read() -> None:
    rules = load_settings(EXAMPLES / "maintenance-subscription.toml").policies["default"].priority
    assert rules.scope_impact is None and not rules.keywords
    assert _priority("maintenance-subscription", "Down", "Nobody can log in.") == "normal"


@pytest.mark.parametrize(
    ("name", "policy", "scope", "quote_required", "rate"),
    [
        ("learning-helpdesk", "default", "billable", False, 0.0),
        ("prepaid-assistance", "default", "billable", False, 0.0),
        ("hosting-support", "default", "billable", True, 60.0),
        ("maintenance-subscription", "default", "included", False, 85.0),
        ("maintenance-subscription", "cancelled", "billable", False, 85.0),
    ],
)
def test_examples_state_their_scope_quotes_and_rate(
    name: str, policy: str, scope: str, quote_required: bool, rate: float
) -> None:
    """Free scope and quotes as each contract says (see docs/billing.md for the reading)."""
    billing = load_settings(EXAMPLES / f"{name}.toml").policies[policy].billing
    assert (billing.default_scope, billing.quote_required, billing.hourly_rate) == (
        scope,
        quote_required,
        rate,
    )
