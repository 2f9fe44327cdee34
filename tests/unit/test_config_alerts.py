"""Config of source alerts and mailbox retries: defaults, and bad values named by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app
from maildesk.core.config import ConfigError, settings_from_toml

IMAP = """
[[intake.imap]]
name = "{name}"
host = "imap.example.com"
username = "support"
password_env = "PW"
"""


def _errors(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_from_toml(text, "maildesk.toml")
    return str(caught.value)


def test_defaults() -> None:
    settings = settings_from_toml(IMAP.format(name="a"), "maildesk.toml")
    assert settings.ops.operator_address is None, "the staff are told"
    assert settings.ops.alert_after_minutes == 15
    assert settings.intake.imap[0].retry_max_seconds == 300


def test_operator_address_is_lowercased() -> None:
    text = '[ops]\noperator_address = " IT@Example.com "\n'
    assert settings_from_toml(text, "x").ops.operator_address == "it@example.com"


@pytest.mark.parametrize("bad", ["it", "it@localhost", "it @example.com", "@example.com"])
def test_a_bad_operator_address_is_named(bad: str) -> None:
    message = _errors(f'[ops]\noperator_address = "{bad}"\n')
    assert "maildesk.toml" in message and "ops.operator_address" in message
    assert "not a mail address" in message


@pytest.mark.parametrize("bad", ["0", "-5"])
def test_alert_after_must_be_positive(bad: str) -> None:
    assert "ops.alert_after_minutes" in _errors(f"[ops]\nalert_after_minutes = {bad}\n")


def test_retry_max_must_be_positive() -> None:
    text = IMAP.format(name="a") + "retry_max_seconds = 0\n"
    assert "intake.imap[0].retry_max_seconds" in _errors(text)


def test_two_mailboxes_with_one_name_are_refused() -> None:
    message = _errors(IMAP.format(name="support") + IMAP.format(name="support"))
    assert "intake" in message and "'support'" in message and "own name" in message
    settings_from_toml(IMAP.format(name="support") + IMAP.format(name="sales"), "x")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[ops]\noperator_address = "it@example.com"\n', "to it@example.com after 15 min"),
        ('[[staff]]\nname = "Ann"\nemail = "ann@example.com"\n', "to the 1 staff after 15"),
        ("[ops]\nalert_after_minutes = 30\n", "to nobody (set ops.operator_address) after 30"),
    ],
)
def test_check_config_says_who_is_alerted(tmp_path: Path, extra: str, expected: str) -> None:
    path = tmp_path / "maildesk.toml"
    path.write_text(extra, encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout
