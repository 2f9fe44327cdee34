"""The walking skeleton over real Dovecot and a real SMTP sink, on SQLite and PostgreSQL:
a mail becomes a ticket and an ack, exactly once, whatever crashes in between."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.daemon import Maildesk
from maildesk.ingest.imap import ImapIntake
from maildesk.store.models import Message, OutboxMail, QuarantinedMail, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


class SimulatedCrash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches it."""


@pytest.fixture
def desk_factory(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> object:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, _ = settings_for(db_url, tmp_path, dovecot, smtp_sink)
    made: list[Maildesk] = []

    def make() -> Maildesk:
        desk = Maildesk(settings)
        desk.prepare()
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.db.dispose()


def _count(desk: Maildesk, model: type, *where: object) -> int:
    with desk.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_three_mails_three_tickets_three_threaded_acks(
    desk_factory: object, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    sent = [mail(sender=f"user{i}@acme.example", subject=f"Problem {i}") for i in range(3)]
    for raw, _ in sent:
        dovecot.append("INBOX", raw)

    desk = desk_factory()  # type: ignore[operator]
    summary = desk.run_once()
    assert summary.errors == []

    acks = smtp_sink.wait_for(3)
    assert len(acks) == 3
    with desk.db.session() as session:
        tickets = {t.requester: t for t in session.scalars(select(Ticket))}
    assert len(tickets) == 3
    for _raw, mid in sent:
        ack = next(a for a in acks if a.message["In-Reply-To"] == f"<{mid}>")
        sender = ack.rcpt_tos[0]
        ticket = tickets[sender]
        assert f"[#{ticket.number}]" in ack.message["Subject"]
        assert ticket.number in ack.message.get_content()
        assert ack.message["Auto-Submitted"] == "auto-replied"
        assert mid in ack.message["References"]
        assert ack.message["Message-ID"].endswith("@maildesk-test.maildesk.helpdesk.example>")
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 3

    again = desk.run_once()
    assert again.errors == [] and again.delivery.sent == 0
    assert _count(desk, Ticket) == 3
    assert len(smtp_sink.messages) == 3


def test_replies_join_the_ticket_by_tag_or_by_in_reply_to(
    desk_factory: object, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    raw, _ = mail(subject="Printer offline")
    dovecot.append("INBOX", raw)
    desk = desk_factory()  # type: ignore[operator]
    desk.run_once()
    ack = smtp_sink.wait_for(1)[0].message
    ack_id = ack["Message-ID"].strip("<>")
    with desk.db.session() as session:
        number = session.scalars(select(Ticket.number)).one()

    by_tag, _ = mail(subject=f"Re: [#{number}] Printer offline", body="Still offline.\n")
    by_header, _ = mail(subject="Re: something else", body="Any news?\n", in_reply_to=ack_id)
    dovecot.append("INBOX", by_tag)
    dovecot.append("INBOX", by_header)
    desk.run_once()

    assert _count(desk, Ticket) == 1
    with desk.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        inbound = _count(desk, Message, Message.ticket_id == ticket.id, Message.direction == "in")
    assert inbound == 3
    assert len(smtp_sink.messages) == 1, "a reply to an existing ticket is not acknowledged again"
    assert dovecot.count("INBOX") == 0


def test_crash_after_commit_before_move_loses_and_duplicates_nothing(
    desk_factory: object,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(3):
        dovecot.append("INBOX", mail(subject=f"Crash {i}")[0])

    def die(self: ImapIntake, done: dict[str, list[int]]) -> None:
        raise SimulatedCrash("killed between commit and move")

    desk = desk_factory()  # type: ignore[operator]
    with monkeypatch.context() as patch:
        patch.setattr(ImapIntake, "_move_done", die)
        with pytest.raises(SimulatedCrash):
            desk.run_once()
    desk.db.dispose()
    committed = _count(desk, Ticket)
    assert committed == 2, "the first batch (batch_size = 2) was committed before the crash"
    assert dovecot.count("INBOX") == 3, "nothing was moved"

    restarted = desk_factory()  # type: ignore[operator]
    summary = restarted.run_once()
    assert summary.errors == []
    assert _count(restarted, Ticket) == 3
    assert _count(restarted, OutboxMail, OutboxMail.kind == "ack") == 3
    acks = smtp_sink.wait_for(3)
    assert len({a.message["In-Reply-To"] for a in acks}) == 3
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 3


def test_crash_before_commit_processes_the_mail_once_on_restart(
    desk_factory: object,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append("INBOX", mail(subject="Before commit")[0])
    import maildesk.ingest.reports as reports

    real_mail = reports._client_mail

    def die(*args: object, **kwargs: object) -> None:
        raise SimulatedCrash("killed inside the transaction")

    desk = desk_factory()  # type: ignore[operator]
    with monkeypatch.context() as patch:
        patch.setattr(reports, "_client_mail", die)
        with pytest.raises(SimulatedCrash):
            desk.run_once()
    assert reports._client_mail is real_mail
    assert _count(desk, Ticket) == 0
    assert _count(desk, Message) == 0
    assert dovecot.count("INBOX") == 1

    restarted = desk_factory()  # type: ignore[operator]
    restarted.run_once()
    assert _count(restarted, Ticket) == 1
    assert len(smtp_sink.wait_for(1)) == 1
    assert dovecot.count("INBOX") == 0


def test_unreadable_mail_is_quarantined_not_lost(
    desk_factory: object, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    junk = b"this is not a mail at all\n\xff\xfe no headers here\n"
    dovecot.append("INBOX", junk)
    dovecot.append("INBOX", mail(subject="Good one")[0])
    desk = desk_factory()  # type: ignore[operator]
    desk.run_once()
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Quarantine") == 1
    assert dovecot.count("Processed") == 1
    with desk.db.session() as session:
        held = session.scalars(select(QuarantinedMail)).one()
        assert held.reason == "unparseable"
        assert held.detail
        from maildesk.store.blobs import get_blob

        assert get_blob(session, held.raw_sha256) == dovecot.messages("Quarantine")[0]
    assert _count(desk, Ticket) == 1
    desk.run_once()
    assert _count(desk, QuarantinedMail) == 1


def test_a_mail_another_process_moved_away_mid_poll_is_skipped_not_an_error(
    desk_factory: object, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """Two daemons on one mailbox: the other one moves a mail after this one's SEARCH."""
    from imapclient import IMAPClient

    for i in range(3):
        dovecot.append("INBOX", mail(sender=f"user{i}@acme.example", subject=f"Problem {i}")[0])
    desk = desk_factory()  # type: ignore[operator]
    intake = desk.intakes[0]
    receive = intake.receive
    taken: list[int] = []

    def other_daemon_takes_the_last(raw: bytes, key: str) -> object:
        if not taken:  # while this poll works on its first batch (2 mails)
            with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as other:
                other.login(dovecot.user, dovecot.password)
                other.select_folder("INBOX")
                last = max(other.search(["ALL"]))
                other.move([last], "Processed")
                taken.append(last)
        return receive(raw, key)

    intake.receive = other_daemon_takes_the_last  # type: ignore[method-assign]
    stats = intake.poll()
    intake.close()
    assert taken
    assert stats.fetched == 2, "the mail that went away is left to the process that took it"
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 3
    assert _count(desk, Ticket) == 2
