"""Staff work by mail over real Dovecot and a real SMTP sink: relay, time, balance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.billing.ledger import balance, topup
from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.store.models import Client, LedgerEntry, Ticket
from tests.integration.helpers import (
    IMAP_PASSWORD_ENV,
    STAFF,
    STAFF_ANN,
    SUPPORT,
    mail,
    settings_for,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
TUESDAY = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
CLIENT = "boss@acme.example"

POLICY = """
[policies.default.billing]
kind = "prepaid"
unit_minutes = 15
"""


@pytest.fixture
def desk(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Maildesk]:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, _ = settings_for(db_url, tmp_path, dovecot, smtp_sink, extra=POLICY + STAFF_ANN)
    made = Maildesk(settings, clock=FakeClock(TUESDAY))
    made.prepare()
    with made.db.transaction() as session:
        topup(session, "acme", 600, "INV-2026-014", None, TUESDAY)
    yield made
    made.db.dispose()


def _balance(desk: Maildesk) -> int:
    with desk.db.session() as session:
        client = session.scalars(select(Client).where(Client.key == "acme")).one()
        return balance(session, client.id, TUESDAY + timedelta(days=1)).minutes


def test_staff_reply_is_relayed_without_commands_and_time_is_drawn_once(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    report, _ = mail(
        sender=CLIENT,
        subject="Gradebook export fails",
        body="Exporting the gradebook gives an empty file.\n",
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    with desk.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    notice = next(m for m in smtp_sink.messages if m.rcpt_tos == [STAFF])
    assert f"[#{ticket.number}]" in notice.message["Subject"]
    assert "Exporting the gradebook" in notice.message.get_content()
    assert "10 h" in notice.message.get_content(), "the staff header shows the hours left"

    answer, answer_id = mail(
        sender=STAFF,
        to=SUPPORT,
        subject=f"Re: {notice.message['Subject']}",
        body="Hello,\n\nthe export works again: a filter was stuck.\n\n#time 50m\n",
        in_reply_to=notice.message["Message-ID"].strip("<>"),
    )
    dovecot.append("INBOX", answer)
    desk.run_once()

    relayed = [
        m
        for m in smtp_sink.messages
        if m.rcpt_tos == [CLIENT] and "a filter was stuck" in m.message.get_content()
    ]
    assert len(relayed) == 1
    body = relayed[0].message.get_content()
    assert "#time" not in body
    assert f"[#{ticket.number}]" in relayed[0].message["Subject"]
    assert relayed[0].message["From"].endswith(f"<{SUPPORT}>")
    assert _balance(desk) == 600 - 60, "50 minutes on a 15-minute contract bills 60"
    with desk.db.session() as session:
        responded = session.get(Ticket, ticket.id)
        assert responded is not None and responded.responded_at is not None
        assert responded.assignee == STAFF

    # The same staff mail delivered again (a second copy in the mailbox) books nothing.
    dovecot.append("INBOX", answer)
    desk.run_once()
    assert _balance(desk) == 540
    with desk.db.session() as session:
        work = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "work")).all()
    assert [(w.raw_minutes, w.minutes) for w in work] == [(50, -60)]
    assert (
        len(
            [
                m
                for m in smtp_sink.messages
                if m.rcpt_tos == [CLIENT] and "a filter was stuck" in m.message.get_content()
            ]
        )
        == 1
    )
    assert answer_id


def test_unknown_command_refuses_the_whole_reply(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    report, _ = mail(sender=CLIENT, subject="Login", body="Cannot log in.\n")
    dovecot.append("INBOX", report)
    desk.run_once()
    notice = next(m for m in smtp_sink.messages if m.rcpt_tos == [STAFF])
    answer, _ = mail(
        sender=STAFF,
        to=SUPPORT,
        subject=f"Re: {notice.message['Subject']}",
        body="Internal: the LDAP sync is broken.\n#interal\n#time 15m\n",
        in_reply_to=notice.message["Message-ID"].strip("<>"),
    )
    dovecot.append("INBOX", answer)
    desk.run_once()
    assert not [
        m
        for m in smtp_sink.messages
        if m.rcpt_tos == [CLIENT] and "LDAP" in m.message.get_content()
    ], "nothing of that mail is relayed"
    problems = [
        m
        for m in smtp_sink.messages
        if m.rcpt_tos == [STAFF] and "#interal" in m.message.get_content()
    ]
    assert len(problems) == 1
    assert _balance(desk) == 600, "a refused mail books no time either"
