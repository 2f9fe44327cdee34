"""The maildesk command as a user runs it: real processes, real Dovecot and SMTP sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")


def maildesk(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MAILDESK_CONFIG", None)
    return subprocess.run(
        [MAILDESK, *args], capture_output=True, text=True, timeout=120, env=full_env, cwd=cwd
    )


def test_run_once_then_tickets_list_and_show(
    db_url: str, tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    _, config = settings_for(db_url, tmp_path, dovecot, smtp_sink)
    raw, mid = mail(sender="eva@acme.example", subject="Cannot upload a file")
    dovecot.append("INBOX", raw)
    env = {IMAP_PASSWORD_ENV: dovecot.password}

    result = maildesk("run", "--once", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "created ticket" in result.stderr
    assert len(smtp_sink.wait_for(1)) == 1

    listed = maildesk("tickets", "list", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    tickets = json.loads(listed.stdout)
    assert [t["requester"] for t in tickets] == ["eva@acme.example"]
    number = tickets[0]["number"]

    shown = maildesk("tickets", "show", number, "--json", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert [m["direction"] for m in detail["messages"]] == ["in", "out"]
    assert detail["messages"][0]["message_id"] == mid
    assert [e["kind"] for e in detail["events"]] == ["ticket_created", "sla_started"]

    missing = maildesk("tickets", "show", "1999-000001", "--config", str(config))
    assert missing.returncode == 1
    assert "no ticket 1999-000001" in missing.stderr


def test_run_once_fails_with_status_1_when_the_mailbox_is_down(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer
) -> None:
    _, config = settings_for(sqlite_url, tmp_path, dovecot)
    dovecot.stop()
    result = maildesk(
        "run", "--once", "--config", str(config), env={IMAP_PASSWORD_ENV: dovecot.password}
    )
    assert result.returncode == 1
    assert "ConnectionRefusedError" in result.stderr


def test_missing_password_variable_is_a_config_error(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer
) -> None:
    _, config = settings_for(sqlite_url, tmp_path, dovecot)
    env = {k: v for k, v in os.environ.items() if k != IMAP_PASSWORD_ENV}
    result = subprocess.run(
        [MAILDESK, "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert f"{IMAP_PASSWORD_ENV} (named by intake.imap[0].password_env) is not set" in (
        result.stderr
    )


def test_bad_config_exit_2_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[outgoing]\ntransport = 'pigeon'\n", encoding="utf-8")
    for command in (["check-config"], ["run", "--once"], ["tickets", "list"]):
        result = maildesk(*command, "--config", str(config))
        assert result.returncode == 2, command
        assert f"{config}: 1 problem(s)" in result.stderr
        assert "outgoing.transport" in result.stderr


def test_check_config_on_the_example(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "maildesk.example.toml"
    env = {
        "MAILDESK_IMAP_PASSWORD": "x",
        "MAILDESK_SMTP_PASSWORD": "y",
        "MAILDESK_M365_CLIENT_SECRET": "z",  # the example's Microsoft 365 mailbox
    }
    result = maildesk("check-config", "--config", str(example), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "MAILDESK_IMAP_PASSWORD" in result.stdout


def test_older_schema_refused_with_the_fixing_command(tmp_path: Path) -> None:
    config = tmp_path / "m.toml"
    db = tmp_path / "m.db"
    config.write_text(f"[database]\nurl = 'sqlite:///{db}'\n", encoding="utf-8")
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    result = maildesk("tickets", "list", "--config", str(config))
    assert result.returncode == 1
    assert "run `maildesk db upgrade`" in result.stderr
    upgraded = maildesk("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgraded from empty" in upgraded.stdout
    assert maildesk("tickets", "list", "--config", str(config)).returncode == 0


def test_embedded_defaults_listener_takes_mail_and_writes_the_ack_to_the_maildir(
    tmp_path: Path,
) -> None:
    """`maildesk run` with no config: LMTP on 127.0.0.1:8024, ack in ./var/sent/."""
    import signal
    import smtplib
    import time

    proc = subprocess.Popen(
        [MAILDESK, "run"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "MAILDESK_CONFIG"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = smtplib.LMTP("127.0.0.1", 8024)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        raw, _ = mail(to="support@maildesk.localhost")
        with client:
            client.sendmail("client@acme.example", ["support@maildesk.localhost"], raw)
        sent = tmp_path / "var" / "sent" / "new"
        while not (sent.is_dir() and any(sent.iterdir())):
            assert time.monotonic() < deadline, "no ack written to var/sent/new"
            time.sleep(0.1)
        ack = next(sent.iterdir()).read_bytes()
        assert b"[#" in ack and b"X-Envelope-To: client@acme.example" in ack
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "embedded defaults" in err
    assert "stopped" in err
    assert (tmp_path / "var" / "maildesk.db").exists()
