"""Closure days that do not expire: holiday categories, yearly closures, provider closures.

Contracts say "days when banks are closed in Brussels" or "no support during announced
holiday closures", every year. A calendar typed for one year stops working the next
January; these tests ask `maildesk sla due` on the example contracts about years no one
typed. Each expected due time is counted by hand in the docstring from the contract's
hours (Mon-Fri 09:00-17:00) and the Normal response target (4 business hours).
"""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app
from maildesk.core.config import ConfigError, settings_from_toml
from maildesk.sla.calendar import BusinessCalendar

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
LMS = EXAMPLES / "prepaid-assistance.toml"
MAINTENANCE = EXAMPLES / "maintenance-subscription.toml"


def _due(config: Path, at: str, client: str | None = None) -> str:
    args = ["sla", "due", "--priority", "normal", "--at", at, "--config", str(config), "--json"]
    if client:
        args += ["--client", client]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    due: str = json.loads(result.output)["response_due"]
    return due


def test_good_friday_2027_is_a_bank_closed_day_for_the_lms_vendor() -> None:
    """Thu 25 March 2027 16:00: 1 h that day; Fri 26 Good Friday (banks closed), the
    weekend, Mon 29 Easter Monday (legal holiday); Tue 30 09:00 + 3 h = 12:00 (CEST)."""
    assert _due(LMS, "2027-03-25T16:00") == "2027-03-30T12:00:00+02:00"


def test_26_december_2028_is_a_bank_closed_day_for_the_lms_vendor() -> None:
    """Fri 22 December 2028 15:00: 2 h; Mon 25 Christmas, Tue 26 banks closed;
    Wed 27 09:00 + 2 h = 11:00."""
    assert _due(LMS, "2028-12-22T15:00") == "2028-12-27T11:00:00+01:00"


def test_the_friday_after_ascension_is_closed_for_the_lms_vendor() -> None:
    """Wed 5 May 2027 16:00: 1 h; Thu 6 Ascension, Fri 7 banks closed; Mon 10 09:00 + 3 h."""
    assert _due(LMS, "2027-05-05T16:00") == "2027-05-10T12:00:00+02:00"


def test_a_cancelled_client_has_the_vendors_christmas_closure_every_year() -> None:
    """Thu 23 December 2027 15:00: 2 h; closed 24 December to 1 January (then a weekend);
    Mon 3 January 2028 09:00 + 2 h = 11:00."""
    due = _due(MAINTENANCE, "2027-12-23T15:00", client="garage-smit")
    assert due == "2028-01-03T11:00:00+01:00"


def test_a_cancelled_client_has_the_vendors_summer_closure_every_year() -> None:
    """Mon 26 July 2027 14:00: 3 h; closed 27 July to 7 August; Mon 9 August 09:00 + 1 h."""
    due = _due(MAINTENANCE, "2027-07-26T14:00", client="garage-smit")
    assert due == "2027-08-09T10:00:00+02:00"


def test_a_policy_may_opt_out_of_the_provider_closures() -> None:
    text = MAINTENANCE.read_text(encoding="utf-8").replace(
        'calendar = { timezone = "Europe/Amsterdam", holidays = "NL",',
        'calendar = { provider_closures = false, timezone = "Europe/Amsterdam", holidays = "NL",',
    )
    settings = settings_from_toml(text, "maintenance.toml")
    assert settings.policies["cancelled"].calendar.yearly_closures == ()
    assert settings.policies["default"].calendar.yearly_closures == (
        "07-27..08-07",
        "12-24..01-01",
    )


@pytest.mark.parametrize(
    ("span", "closed", "open_"),
    [
        (
            ((12, 24), (1, 1)),
            [date(2030, 12, 24), date(2030, 12, 31), date(2031, 1, 1)],
            [date(2030, 12, 23), date(2031, 1, 2)],
        ),
        (
            ((7, 27), (8, 7)),
            [date(2029, 7, 27), date(2029, 8, 7)],
            [date(2029, 7, 26), date(2029, 8, 8)],
        ),
        (((2, 29), (2, 29)), [date(2028, 2, 29)], [date(2028, 2, 28), date(2028, 3, 1)]),
    ],
)
def test_yearly_closures_recur_in_any_year(
    span: tuple[tuple[int, int], tuple[int, int]], closed: list[date], open_: list[date]
) -> None:
    cal = BusinessCalendar(
        timezone="UTC",
        weekly={d: ((time(9), time(17)),) for d in range(7)},
        yearly_closures=(span,),
    )
    assert all(cal.is_closed_day(d) for d in closed)
    assert not any(cal.is_closed_day(d) for d in open_)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('yearly_closures = ["13-01"]', "MM-DD"),
        ('yearly_closures = ["12-24..01-32"]', "MM-DD"),
        ('holiday_categories = ["banks"]', "holiday_categories: banks not in the BE table"),
    ],
)
def test_a_bad_calendar_is_refused_at_start_naming_the_key(line: str, problem: str) -> None:
    text = f"""
[policies.default.calendar]
timezone = "Europe/Brussels"
holidays = "BE"
{line}
"""
    with pytest.raises(ConfigError, match=problem) as err:
        settings_from_toml(text, "x.toml")
    assert "policies.default.calendar" in str(err.value)


@pytest.mark.parametrize(("days_ahead", "warned"), [(30, True), (182, True), (400, False)])
def test_check_config_warns_when_one_off_closures_run_out(
    tmp_path: Path, days_ahead: int, warned: bool
) -> None:
    last = date.today() + timedelta(days=days_ahead)
    config = tmp_path / "maildesk.toml"
    config.write_text(
        f"""
[policies.default.calendar]
timezone = "Europe/Brussels"
closed_ranges = [{{ from = {last - timedelta(days=3)}, to = {last} }}]
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 0, result.output
    warning = f"policy 'default': its last one-off closure is {last.isoformat()}"
    assert (warning in result.output) is warned, result.output


def test_check_config_does_not_warn_about_yearly_closures(tmp_path: Path) -> None:
    config = tmp_path / "maildesk.toml"
    config.write_text(
        '[closures]\nyearly = ["12-24..01-01"]\n[policies.default.calendar]\nholidays = "BE"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
