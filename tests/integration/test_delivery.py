"""Outgoing mail through a real SMTP sink that goes away, refuses, and comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from maildesk.cli.main import app as cli_app
from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.notify.delivery import RetryPolicy, flush_all, flush_outbox
from maildesk.notify.outbox import Draft, Identity, enqueue
from maildesk.notify.smtp import SmtpParams, SmtpTransport
from maildesk.store.db import Database
from maildesk.store.models import OutboxMail
from tests.integration.helpers import IMAP_PASSWORD_ENV, STAFF, STAFF_ANN, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def desk(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Maildesk]:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, config = settings_for(db_url, tmp_path, dovecot, smtp_sink, extra=STAFF_ANN)
    made = Maildesk(settings, clock=clock)
    made.prepare()
    made.config_path = config  # type: ignore[attr-defined]
    yield made
    made.db.dispose()


def _attempts(desk: Maildesk) -> list[tuple[str, int]]:
    with desk.db.session() as session:
        return [
            (r.status, r.attempts)
            for r in session.scalars(
                select(OutboxMail).where(OutboxMail.kind == "ack").order_by(OutboxMail.id)
            )
        ]


def test_sink_down_mail_waits_with_backoff_then_each_arrives_once(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink, clock: FakeClock
) -> None:
    for i in range(3):
        dovecot.append("INBOX", mail(sender=f"u{i}@acme.example", subject=f"Down {i}")[0])
    smtp_sink.stop()
    desk.run_once()
    with desk.db.session() as session:
        first_id = session.scalars(select(OutboxMail.id).order_by(OutboxMail.id)).first()
    waits: list[float] = []
    seen = 0
    for _ in range(30):
        clock.advance(timedelta(minutes=5))
        desk.flush()  # a relay that is down: one attempt, then wait
        with desk.db.session() as session:
            row = session.get(OutboxMail, first_id)
            assert row is not None and row.status == "pending"
            if row.attempts > seen:
                seen = row.attempts
                waits.append((row.next_attempt_at - clock.now()).total_seconds())
    assert len(waits) >= 3
    assert waits[:3] == sorted(waits[:3]) and waits[0] < waits[2], f"the wait grows: {waits}"

    result = CliRunner().invoke(cli_app, ["status", "--json", "--config", str(desk.config_path)])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outbox_pending"] == 6, "3 acks and 3 staff notices"

    smtp_sink.start()
    clock.advance(timedelta(days=1))
    desk.flush()
    got = [m.message["Message-ID"] for m in smtp_sink.messages]
    assert len(got) == len(set(got)) == 6, "each mail once"
    with desk.db.session() as session:
        assert {r.status for r in session.scalars(select(OutboxMail))} == {"sent"}


def test_permanent_refusal_marks_failed_and_tells_staff(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    dovecot.append("INBOX", mail(sender="gone@acme.example", subject="Hello")[0])
    smtp_sink.reject_next(550, stage="rcpt")  # the ack, queued first, is refused for good
    desk.run_once()
    with desk.db.session() as session:
        row = session.scalars(
            select(OutboxMail).where(OutboxMail.first_rcpt == "gone@acme.example")
        ).one()
    assert row.status == "failed" and "550" in (row.last_error or "")
    notices = [
        m
        for m in smtp_sink.messages
        if m.rcpt_tos == [STAFF]
        and "gone@acme.example" in m.message.get_content()
        and "550" in m.message.get_content()
    ]
    assert len(notices) == 1


def _outbox_with_acks(db_url: str, count: int) -> Database:
    """A migrated database whose outbox holds ``count`` acks, due now."""
    db = Database(db_url)
    db.upgrade()
    identity = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "t")
    with db.transaction() as session:
        for i in range(count):
            enqueue(
                session,
                Draft(kind="ack", to=(f"c{i}@acme.example",), subject="s", body="b"),
                identity,
                NOW,
            )
    return db


def _sink_transport(sink: SmtpSink) -> SmtpTransport:
    return SmtpTransport(SmtpParams(sink.host, sink.port, "plain"))


def test_flush_all_delivers_more_than_one_batch(db_url: str, smtp_sink: SmtpSink) -> None:
    """`run --once` delivers the whole outbox, not one batch of it."""
    db = _outbox_with_acks(db_url, 7)
    result = flush_all(db, _sink_transport(smtp_sink), FakeClock(NOW), RetryPolicy(), batch=3)
    assert result.sent == 7
    assert len(smtp_sink.messages) == 7
    db.dispose()


def test_a_stopping_flush_ends_between_two_mails(db_url: str, smtp_sink: SmtpSink) -> None:
    """Shutdown: the mail in hand is sent and recorded, the rest stays pending for later."""
    db = _outbox_with_acks(db_url, 5)
    result = flush_outbox(
        db,
        _sink_transport(smtp_sink),
        FakeClock(NOW),
        RetryPolicy(),
        stopping=lambda: len(smtp_sink.messages) >= 2,
    )
    assert result.sent == 2
    with db.session() as session:
        statuses = sorted(session.scalars(select(OutboxMail.status)))
    assert statuses == ["pending"] * 3 + ["sent"] * 2
    db.dispose()
