"""One mailbox's failure stops nothing else, and the operator is told once per outage.

Over the real daemon (two of them on one database for the mailbox case), real
Dovecots and a real SMTP sink, with a fake clock that the test moves past the
alert threshold. Whether an alert is due is decided on the fake clock; how
soon the daemon gets to it is real time, waited for and never asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from maildesk.cli.main import app as cli_app
from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from maildesk.ingest.imap import MailboxUnavailable
from maildesk.notify.alerts import DOWN_KIND, UP_KIND
from maildesk.notify.smtp import SmtpParams, SmtpTransport
from maildesk.notify.transport import RelayUnavailable
from maildesk.store.health import OUTGOING, imap_source
from maildesk.store.models import OutboxMail, SourceHealth, Ticket
from maildesk.web.ops import health, metrics_text
from tests.integration.helpers import (
    IMAP_PASSWORD_ENV,
    STAFF,
    STAFF_ANN,
    mail,
    running,
    settings_for,
)
from tests.servers.dovecot import DovecotServer, find_dovecot
from tests.servers.fixtures import unavailable
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OPERATOR = "it@helpdesk.example"
BAD_ENV = "MAILDESK_TEST_IMAP_PASSWORD_BAD"
WRONG = "not-the-password"
SMTP_ENV = "MAILDESK_TEST_SMTP_PASSWORD"


@pytest.fixture
def second_dovecot() -> Iterator[DovecotServer]:
    if find_dovecot() is None:
        unavailable("dovecot binary not found", "apt-get install -y dovecot-imapd")
    with DovecotServer(user="helpdesk", password="right") as server:
        yield server


def _tune(settings: Settings, operator: str | None) -> Settings:
    """Alert checks every 0.2 s (real time); the threshold itself stays the default."""
    return settings.model_copy(
        update={
            "service": settings.service.model_copy(update={"sweep_interval": 0.2}),
            "ops": settings.ops.model_copy(update={"operator_address": operator}),
        }
    )


def _wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def _row(desk: Maildesk, source: str) -> SourceHealth | None:
    with desk.db.session() as session:
        return session.get(SourceHealth, source)


def _failing(desk: Maildesk, source: str) -> bool:
    row = _row(desk, source)
    return row is not None and row.state == "failing"


def _count(desk: Maildesk, model: type, *where: object) -> int:
    with desk.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _alerts_to(sink: SmtpSink, to: str, word: str) -> list[str]:
    return [
        m.message.get_content()
        for m in sink.messages
        if m.rcpt_tos == [to] and word in str(m.message["Subject"])
    ]


def test_a_mailbox_refusing_the_login_is_alerted_once_while_the_other_carries_on(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    second_dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    monkeypatch.setenv(BAD_ENV, WRONG)
    bad = f"""
[[intake.imap]]
name = "bad"
host = "{second_dovecot.host}"
port = {second_dovecot.port}
security = "plain"
username = "{second_dovecot.user}"
password_env = "{BAD_ENV}"
poll_interval = 0.5
timeout = 10
retry_max_seconds = 0.5
"""
    settings, config = settings_for(db_url, tmp_path, dovecot, smtp_sink, extra=bad)
    settings = _tune(settings, OPERATOR)
    after = timedelta(minutes=settings.ops.alert_after_minutes)
    clock = FakeClock(NOW)
    second_dovecot.append("INBOX", mail(subject="Waiting in the refused mailbox")[0])

    with running(settings, clock) as one, running(settings, clock) as two:
        _wait_for(lambda: _failing(one, imap_source("bad")))
        row = _row(one, imap_source("bad"))
        assert row is not None and row.failing_since == NOW
        assert "refused user" in (row.last_error or "")
        assert "password" in (row.hint or "") and BAD_ENV in (row.hint or "")

        # the other mailbox is still watched, and its ack goes out
        dovecot.append("INBOX", mail(subject="The good mailbox works")[0])
        _wait_for(lambda: _count(one, Ticket) == 1)
        _wait_for(lambda: len(smtp_sink.messages) == 1)
        assert not _failing(one, imap_source("test"))

        status = CliRunner().invoke(cli_app, ["status", "--json", "--config", str(config)])
        assert status.exit_code == 0, status.output
        states = {s["source"]: s for s in json.loads(status.stdout)["sources"]}
        assert states[imap_source("bad")]["state"] == "failing"
        assert "password" in states[imap_source("bad")]["what_to_do"]
        assert states[imap_source("test")]["state"] == "ok"
        ok, report = health(one.db, clock.now())
        assert ok and report["status"] == "degraded" and report["failing"] == ["imap:bad"]
        assert 'maildesk_source_up{source="imap:bad"} 0' in metrics_text(one.db, clock.now())

        clock.advance(after - timedelta(minutes=1))
        assert one.alerts().down == 0, "not before the threshold"
        clock.advance(timedelta(minutes=2))
        _wait_for(lambda: _alerts_to(smtp_sink, OPERATOR, "failing"))
        assert (one.alerts().down, two.alerts().down) == (0, 0), "once per outage"
        # A daemon that read the row before the first alert's commit still sends none:
        # the exactly-once marker, not the row, is what decides.
        with one.db.transaction() as session:
            session.execute(update(SourceHealth).values(alerted_since=None))
        assert two.alerts().down == 0
        body = _alerts_to(smtp_sink, OPERATOR, "failing")[0]
        assert row.label in body and "refused user" in body and "password" in body

        second_dovecot.set_password(WRONG)  # the operator fixes it
        _wait_for(lambda: _count(one, Ticket) == 2)  # the waiting mail comes in
        _wait_for(lambda: _alerts_to(smtp_sink, OPERATOR, "again"))
        assert not _failing(one, imap_source("bad"))

    with one.db.session() as session:
        kinds = session.execute(
            select(OutboxMail.kind, func.count())
            .where(OutboxMail.kind.in_([DOWN_KIND, UP_KIND]))
            .group_by(OutboxMail.kind)
        ).all()
    assert dict(kinds) == {DOWN_KIND: 1, UP_KIND: 1}
    assert len(_alerts_to(smtp_sink, OPERATOR, "failing")) == 1
    assert len(_alerts_to(smtp_sink, OPERATOR, "again")) == 1
    assert second_dovecot.count("INBOX") == 0


def test_a_relay_refusing_the_login_keeps_all_mail_and_the_alert_until_it_works(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    monkeypatch.setenv(SMTP_ENV, WRONG)
    sink = SmtpSink(credentials=("maildesk", "right"))
    sink.start()
    relay = f"""
[outgoing]
transport = "smtp"
flush_interval = 0.2
retry_base_seconds = 60
max_attempts = 2

[outgoing.smtp]
host = "{sink.host}"
port = {sink.port}
security = "plain"
username = "maildesk"
password_env = "{SMTP_ENV}"
timeout = 10
"""
    try:
        settings, config = settings_for(sqlite_url, tmp_path, dovecot, extra=STAFF_ANN + relay)
        settings = _tune(settings, None)  # no operator address: the staff are told
        max_attempts = settings.outgoing.max_attempts
        clock = FakeClock(NOW)
        for i in range(2):
            dovecot.append("INBOX", mail(sender=f"u{i}@acme.example", subject=f"Case {i}")[0])
        with running(settings, clock) as desk:
            _wait_for(lambda: _count(desk, Ticket) == 2 and _failing(desk, OUTGOING))
            # every mail is tried past max_attempts and none is given up
            deadline = time.monotonic() + 60
            while _count(desk, OutboxMail, OutboxMail.attempts <= max_attempts) > 0:
                assert _count(desk, OutboxMail, OutboxMail.status == "failed") == 0
                assert time.monotonic() < deadline, "the mails were not tried"
                clock.advance(timedelta(hours=1))
                time.sleep(0.3)
            assert _count(desk, OutboxMail, OutboxMail.status != "pending") == 0
            _wait_for(lambda: _count(desk, OutboxMail, OutboxMail.kind == DOWN_KIND) == 1)
            assert sink.messages == []

            row = _row(desk, OUTGOING)
            assert row is not None and "535" in (row.last_error or "")
            assert SMTP_ENV in (row.hint or "")
            text = CliRunner().invoke(cli_app, ["status", "--config", str(config)])
            assert "what to do:" in text.stdout and "[outgoing.smtp]" in text.stdout
            ok, report = health(desk.db, clock.now())
            assert ok and report["failing"] == [OUTGOING]

            sink.credentials = ("maildesk", WRONG)  # the operator fixes it
            # The clock stands still: the older mails are not due for minutes. A new
            # mail gets through, and everything waiting goes out with it.
            dovecot.append("INBOX", mail(sender="u9@acme.example", subject="After")[0])
            _wait_for(lambda: _count(desk, OutboxMail, OutboxMail.status != "sent") == 0)
            _wait_for(lambda: _count(desk, OutboxMail, OutboxMail.kind == UP_KIND) == 1)
            _wait_for(lambda: _count(desk, OutboxMail, OutboxMail.status != "sent") == 0)
        queued = _count(desk, OutboxMail)
        got = [m.message["Message-ID"] for m in sink.messages]
        assert len(got) == len(set(got)) == queued, "every waiting mail once"
        assert len(_alerts_to(sink, STAFF, "failing")) == 1
        assert len(_alerts_to(sink, STAFF, "again")) == 1
        assert SMTP_ENV in _alerts_to(sink, STAFF, "failing")[0]
    finally:
        sink.stop()


def test_each_kind_of_outage_says_what_to_do(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, WRONG)
    settings, _ = settings_for(sqlite_url, tmp_path, dovecot)
    desk = Maildesk(settings)
    intake = desk.intakes[0]
    where = f"{dovecot.host}:{dovecot.port}"
    try:
        with pytest.raises(MailboxUnavailable) as refused:
            intake.poll()
        assert "refused user 'support'" in refused.value.hint
        dovecot.kill()
        with pytest.raises(MailboxUnavailable) as down:
            intake.poll()
        assert f"nothing answers on {where}" in down.value.hint
    finally:
        intake.close()
        desk.db.dispose()

    relay = SmtpTransport(SmtpParams(smtp_sink.host, smtp_sink.port, "plain"))
    smtp_sink.stop()
    with pytest.raises(RelayUnavailable) as gone:
        relay.send("a@helpdesk.example", ["b@acme.example"], b"Subject: x\r\n\r\nx\r\n")
    assert "cannot be reached" in gone.value.hint and "[outgoing.smtp]" in gone.value.hint
