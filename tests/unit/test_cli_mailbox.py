"""`maildesk mailbox login|check` before any connection: which mailbox, which flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "maildesk.example.toml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(EXAMPLE)])
    return result.exit_code, result.output


def test_app_only_mailboxes_need_no_sign_in() -> None:
    for name, flow in (("m365", "app"), ("gmail", "service_account")):
        code, out = _run("mailbox", "login", name)
        assert code == 0
        assert f"(flow = '{flow}'); no sign-in is needed" in out


def test_a_password_mailbox_has_nothing_to_sign_in() -> None:
    code, out = _run("mailbox", "login", "support")
    assert code == 2
    assert "logs in with a password" in out


def test_an_unknown_name_lists_the_known_ones() -> None:
    code, out = _run("mailbox", "check", "nope")
    assert code == 2
    assert "known: support, m365, gmail, outgoing" in out


def test_a_missing_secret_is_named_before_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAILDESK_M365_CLIENT_SECRET", raising=False)
    code, out = _run("mailbox", "check", "m365")
    assert code == 2
    assert "MAILDESK_M365_CLIENT_SECRET (named by intake.imap[1].oauth2" in out
