"""`maildesk sla due` and `maildesk oncall who`: answers from the config alone, no database.

The office of the learning-platform contract: Mon-Fri 08:30-18:00 in Brussels, Belgian
holidays, High 1 h / 4 h, Normal 4 h / 2 business days, Low 8 h / 5 business days. A second
client follows a 09:00-17:00 policy, to show ``--client`` picks the client's policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from maildesk.cli.main import app

CONFIG = """
[service]
support_address = "support@helpdesk.example"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[staff]]
name = "Bob"
email = "bob@helpdesk.example"

[policies.default.calendar]
timezone = "Europe/Brussels"
holidays = "BE"
hours.mon = "08:30-18:00"
hours.tue = "08:30-18:00"
hours.wed = "08:30-18:00"
hours.thu = "08:30-18:00"
hours.fri = "08:30-18:00"

[policies.default.oncall]
rota = ["ann", "bob"]
rota_start = 2026-01-05
handover_weekday = "mon"
handover_time = "09:00"
chain = ["bob", "manager"]
overrides = [{ from = 2026-12-24, to = 2026-12-26, person = "bob" }]

[policies.bank.calendar]
timezone = "Europe/Brussels"
hours.mon = "09:00-17:00"
hours.tue = "09:00-17:00"
hours.wed = "09:00-17:00"
hours.thu = "09:00-17:00"
hours.fri = "09:00-17:00"

[[clients]]
id = "lms"
name = "LMS Vendor"
policy = "bank"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "maildesk.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def due_json(config: Path, priority: str, at: str, *more: str) -> dict[str, str]:
    result = cli(config, "sla", "due", "--priority", priority, "--at", at, "--json", *more)
    assert result.exit_code == 0, result.output
    data: dict[str, str] = json.loads(result.stdout)
    return data


def test_friday_1730_normal_is_due_monday_noon_exactly_as_json(config: Path) -> None:
    result = cli(config, "sla", "due", "-p", "normal", "--at", "2026-11-20T17:30", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        '{"response_due": "2026-11-23T12:00:00+01:00", '
        '"resolution_due": "2026-11-24T14:30:00+01:00"}\n'
    )


def test_an_offset_in_at_is_honoured(config: Path) -> None:
    # 16:30 UTC is 17:30 in Brussels in November.
    assert due_json(config, "normal", "2026-11-20T16:30Z")["response_due"] == (
        "2026-11-23T12:00:00+01:00"
    )


def test_easter_monday_in_belgium_waits_for_tuesday(config: Path) -> None:
    assert due_json(config, "normal", "2026-04-06T10:00") == {
        "response_due": "2026-04-07T12:30:00+02:00",
        "resolution_due": "2026-04-08T15:00:00+02:00",
    }
    text = cli(config, "sla", "due", "-p", "normal", "--at", "2026-04-06T10:00")
    assert text.exit_code == 0, text.output
    assert "outside business hours (Easter Monday)" in text.stdout
    assert "clock starts:   Tuesday 7 April 2026 08:30 (Belgium Time)" in text.stdout


@pytest.mark.parametrize(
    ("at", "response_due"),
    [
        ("2026-03-27T17:30", "2026-03-30T12:00:00+02:00"),  # spring forward on the Sunday
        ("2026-10-23T17:30", "2026-10-26T12:00:00+01:00"),  # fall back on the Sunday
        ("2026-03-27T17:30+01:00", "2026-03-30T12:00:00+02:00"),
    ],
)
def test_a_dst_sunday_does_not_shift_deadlines(config: Path, at: str, response_due: str) -> None:
    assert due_json(config, "normal", at)["response_due"] == response_due


def test_high_and_low_targets(config: Path) -> None:
    assert due_json(config, "high", "2026-11-24T10:00") == {
        "response_due": "2026-11-24T11:00:00+01:00",
        "resolution_due": "2026-11-24T14:00:00+01:00",
    }
    # Low: 8 h ends exactly at Tuesday's closing time, which is the due instant; 5 business
    # days of 8 h are 40 h over 9.5-hour office days: Tue 8 h, Wed-Fri 28 h 30, Mon 3 h 30.
    assert due_json(config, "low", "2026-11-24T10:00") == {
        "response_due": "2026-11-24T18:00:00+01:00",
        "resolution_due": "2026-11-30T12:00:00+01:00",
    }


def test_client_uses_its_own_policy(config: Path) -> None:
    assert due_json(config, "normal", "2026-11-20T16:30", "--client", "lms") == {
        "response_due": "2026-11-23T12:30:00+01:00",
        "resolution_due": "2026-11-24T16:30:00+01:00",
    }


def test_bad_usage_exits_2(config: Path) -> None:
    unknown = cli(config, "sla", "due", "-p", "normal", "--client", "nobody")
    assert unknown.exit_code == 2
    assert "no client 'nobody'" in unknown.stderr and "lms" in unknown.stderr
    bad_time = cli(config, "sla", "due", "-p", "normal", "--at", "friday evening")
    assert bad_time.exit_code == 2
    assert "not an ISO 8601 time" in bad_time.stderr
    assert cli(config, "sla", "due", "-p", "urgent").exit_code == 2
    assert cli(config, "sla", "due").exit_code == 2


def test_every_command_has_help(config: Path) -> None:
    for args in (("sla",), ("sla", "due"), ("sla", "explain"), ("oncall",), ("oncall", "who")):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout and args[-1] in result.stdout


def test_oncall_who_follows_the_rota_and_the_chain(config: Path) -> None:
    def who(at: str) -> dict[str, object]:
        result = cli(config, "oncall", "who", "--at", at, "--json")
        assert result.exit_code == 0, result.output
        data: dict[str, object] = json.loads(result.stdout)
        return data

    saturday = who("2026-11-28T03:00")
    # 46 weeks after Monday 5 January 09:00: an even week, Ann's.
    assert saturday["on_call"] == "ann"
    assert saturday["office_open"] is False
    assert saturday["chain"] == [
        {"level": 0, "entry": "ann", "name": "Ann", "email": "ann@helpdesk.example"},
        {"level": 1, "entry": "bob", "name": "Bob", "email": "bob@helpdesk.example"},
        {"level": 2, "entry": "manager", "name": None, "email": None},
    ]
    assert who("2026-11-30T09:00")["on_call"] == "bob", "Monday 09:00 handover"
    assert who("2026-11-30T08:59")["on_call"] == "ann"
    assert who("2026-12-21T12:00")["on_call"] == "ann"
    assert who("2026-12-25T12:00")["on_call"] == "bob", "the Christmas override"
    assert [c["entry"] for c in who("2026-11-21T03:00")["chain"]] == ["bob", "manager"]  # type: ignore[attr-defined]
    assert who("2026-11-24T10:00")["office_open"] is True

    text = cli(config, "oncall", "who", "--at", "2026-11-28T03:00")
    assert text.exit_code == 0, text.output
    assert "out of business hours: high priority tickets page" in text.stdout
    assert "level 0: ann - Ann <ann@helpdesk.example>" in text.stdout
    assert "level 2: manager - names no staff member" in text.stdout


def test_oncall_who_with_nobody_on_call_exits_1(config: Path) -> None:
    result = cli(config, "oncall", "who", "--client", "lms", "--at", "2026-11-21T03:00")
    assert result.exit_code == 1
    assert "nobody can be paged under policy bank" in result.stderr
