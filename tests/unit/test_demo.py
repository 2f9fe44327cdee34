"""``maildesk demo``: each example contract's story runs on the built-in intake and prints
its timeline; a wrong policy name is a usage error that lists the right ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app
from maildesk.demo.stories import STORIES

# What a reader of each timeline must see: the story's key moments.
KEY_LINES = {
    "learning-helpdesk": [
        "ticket 2026-000001 opened: priority normal (policy default), missing: screenshot",
        "[ack_missing]: [#2026-000001]",
        "report complete",
        "time booked: worked 20 min, billed 30 min, 30 min drawn from prepaid hours",
        "approval requested from the authorised contacts",
        "time held: 45 min wait for an approval",
        "answer from docent@hogeschool-west.example ignored (not authorised)",
        "approved by ict@hogeschool-west.example: held time booked",
        "[low_balance]: Support hours of City Academy almost used up",
        "SLA clock started: response due Mon 23 Nov 12:00",
        "[page]: [PAGE] [#2026-000005]",
        "page acknowledged by lies@learning-helpdesk.example",
        "time booked: worked 70 min, billed 0 min (included)",
        "[weekly_statement]: Weekly statement 2026-W47 (16–22 November 2026) – City Academy",
        "City Academy: 0 h 30 min left",
    ],
    "prepaid-assistance": [
        "universite-nord bought 40 h (CONTRAT-2026-01)",
        "[timesheet]: [#2026-000001]",
        "[low_balance]: Université du Nord : heures de support presque épuisées",
        # a blocking anomaly is High under this contract's priority rules
        "ticket 2026-000005 opened: priority high (keyword 'anomalie bloquante' in text),"
        " missing: login",
        # complete Thu 02 Apr 16:45, High's 1 h: 15 min that day, Good Friday and Easter
        # Monday closed, the other 45 min on Tuesday from 09:00
        "SLA clock started: response due Tue 07 Apr 09:45",
        "Université du Nord: 2 h 45 min left",
    ],
    "hosting-support": [
        "[page]: [PAGE] [#2026-000001]",
        "page acknowledged by sarah@hosting.example",
        "SLA clock started: response due Mon 23 Nov 13:00",
        "time booked: worked 20 min, billed 0 min (not billed: no accepted quote)",
        "[unquoted_time]: [#2026-000001]",
        "[QUARANTINE] unauthenticated",
        "quote created: 120 min",
        "quote accepted by gerant@boulangerie.example",
        "time booked: worked 160 min, billed 120 min (120 min at the hourly rate)",
        "time booked: worked 0 min, billed 30 min (30 min at the hourly rate)",
        "time booked: worked 31 min, billed 30 min (30 min at the hourly rate)",
    ],
    "maintenance-subscription": [
        "time booked: worked 30 min, billed 0 min",
        "time booked: worked 70 min, billed 75 min (75 min at the hourly rate)",
        "time booked: worked 20 min, billed 60 min (60 min at the hourly rate)",
        "time booked: worked 20 min, billed 0 min\n",
        "SLA clock started: response due Mon 04 Jan 12:30",
    ],
}


def test_every_story_has_its_key_lines() -> None:
    assert sorted(KEY_LINES) == sorted(STORIES)


@pytest.mark.parametrize("policy", sorted(KEY_LINES))
def test_demo_replays_the_story_of_each_example_contract(policy: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--policy", policy])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"== {policy}: ")
    for line in KEY_LINES[policy]:
        assert line in result.output, f"{policy}: missing {line!r}"


def test_demo_runs_the_learning_helpdesk_by_default() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("== learning-helpdesk: ")
    assert result.output.count("[page]") == 1


def test_a_wrong_policy_name_is_a_usage_error_listing_the_names() -> None:
    result = CliRunner().invoke(app, ["demo", "--policy", "nope"])
    assert result.exit_code == 2
    for name in STORIES:
        assert name in result.output


def test_without_the_example_folder_the_demo_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("maildesk.demo.story.EXAMPLES", tmp_path / "missing")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 2
    assert "example contracts are not installed" in result.output
    assert str(tmp_path / "missing") in result.output


def test_the_demo_leaves_the_log_level_as_it_found_it() -> None:
    before = logging.getLogger("maildesk").level
    assert CliRunner().invoke(app, ["demo", "--policy", "hosting-support"]).exit_code == 0
    assert logging.getLogger("maildesk").level == before


@pytest.mark.parametrize(
    ("policy", "portal"),
    [
        ("learning-helpdesk", "https://support.learning-helpdesk.example/portal/c/"),
        ("prepaid-assistance", "https://assistance.lms-vendor.example/portal/c/"),
        ("hosting-support", None),
        ("maintenance-subscription", None),
    ],
)
def test_the_demo_shows_the_portal_where_the_contract_shares_the_clients_page(
    policy: str, portal: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The learning platform shares the punch card online and the LMS vendor gives a copy
    of the client's data at any time: their examples have the portal on, and the demo
    shows each client's link without any secret set by the operator."""
    monkeypatch.delenv("MAILDESK_PORTAL_SECRET", raising=False)
    result = CliRunner().invoke(app, ["demo", "--policy", policy])
    assert result.exit_code == 0, result.output
    if portal is None:
        assert "/portal/" not in result.output
    else:
        section = result.output.split("The client portal", 1)[1]
        assert section.count(portal) >= 1
