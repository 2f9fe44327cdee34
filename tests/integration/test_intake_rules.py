"""Intake decisions over real Dovecot and a real SMTP sink: required information,
auto-replies, a header-less autoresponder, strangers, bounces, lists and loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.store.models import Event, Message, OutboxMail, QuarantinedMail, Ticket
from tests.integration.helpers import (
    IMAP_PASSWORD_ENV,
    STAFF,
    STAFF_ANN,
    SUPPORT,
    mail,
    png,
    settings_for,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import Received, SmtpSink

pytestmark = pytest.mark.integration

# Tuesday 10:00 in Brussels: business hours.
TUESDAY = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)

POLICY = """
[policies.default.calendar]
timezone = "Europe/Brussels"
holidays = "BE"

[policies.default.calendar.hours]
mon = "08:30-18:00"
tue = "08:30-18:00"
wed = "08:30-18:00"
thu = "08:30-18:00"
fri = "08:30-18:00"

[policies.default.required]
url = true
screenshot = true

[policies.default.priority.keywords]
high = ["is down", "niet bereikbaar", "en panne"]
"""

CLIENTS = """
[[clients]]
id = "acme"
name = "Acme Learning"
domains = ["acme.example"]
match_domain = true
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]

[[clients]]
id = "globex"
name = "Globex"
language = "nl"
contacts = [{ email = "piet@globex.example", name = "Piet", authorised = true }]
"""

Factory = Callable[[], Maildesk]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TUESDAY)


@pytest.fixture
def desk(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Maildesk]:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, _ = settings_for(
        sqlite_url, tmp_path, dovecot, smtp_sink, extra=POLICY + CLIENTS + STAFF_ANN
    )
    made = Maildesk(settings, clock=clock)
    made.prepare()
    yield made
    made.db.dispose()


def _client_mails(sink: SmtpSink, address: str) -> list[Received]:
    return [m for m in sink.messages if m.rcpt_tos == [address]]


def _ticket(desk: Maildesk) -> Ticket:
    with desk.db.session() as session:
        return session.scalars(select(Ticket)).one()


def _count(desk: Maildesk, model: type, *where: object) -> int:
    with desk.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_missing_screenshot_asked_once_supplied_later_ooo_changes_nothing(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink, clock: FakeClock
) -> None:
    client = "eva@acme.example"
    report, report_id = mail(
        sender=client,
        subject="Quiz page error",
        body="The quiz at https://learn.acme.example/quiz/7 shows an error when I submit.\n",
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    ticket = _ticket(desk)
    assert ticket.status == "awaiting_info"
    assert ticket.missing == ["screenshot"]
    assert ticket.response_due_at is None, "the clock does not run while information is missing"
    asks = _client_mails(smtp_sink, client)
    assert len(asks) == 1
    body = asks[0].message.get_content()
    assert "screenshot" in body.lower()
    assert "URL" not in body, "only what is missing is named"
    assert f"[#{ticket.number}]" in asks[0].message["Subject"]
    ask_id = asks[0].message["Message-ID"].strip("<>")

    clock.advance(timedelta(minutes=20))
    ooo, _ = mail(
        sender=client,
        subject=f"Automatic reply: [#{ticket.number}] Quiz page error",
        body="I am out of the office until Monday.\n",
        in_reply_to=ask_id,
        headers={"Auto-Submitted": "auto-replied"},
    )
    dovecot.append("INBOX", ooo)
    desk.run_once()
    after_ooo = _ticket(desk)
    assert after_ooo.status == "awaiting_info" and after_ooo.response_due_at is None
    assert len(_client_mails(smtp_sink, client)) == 1, "an auto-reply is never answered"

    clock.advance(timedelta(minutes=40))
    supplied, _ = mail(
        sender=client,
        subject=f"Re: [#{ticket.number}] Quiz page error",
        body="Here is the screenshot.\n",
        in_reply_to=ask_id,
        references=(report_id, ask_id),
        attachments=(png(),),
    )
    dovecot.append("INBOX", supplied)
    desk.run_once()
    done = _ticket(desk)
    assert done.status == "open"
    assert done.missing == []
    assert done.response_due_at is not None
    mails = _client_mails(smtp_sink, client)
    assert len(mails) == 2
    complete = mails[1].message.get_content()
    assert done.number in mails[1].message["Subject"]
    assert "Normal" in complete
    assert "(Belgium Time)" in complete, "the response time is given in local time"
    assert "Europe/Brussels" not in complete, "not as an IANA zone name"
    with desk.db.session() as session:
        kinds = [e.kind for e in session.scalars(select(Event).where(Event.ticket_id == done.id))]
    assert "auto_reply_received" in kinds and "info_complete" in kinds


def test_priority_from_keywords_in_dutch_and_ack_in_the_clients_language(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    raw, _ = mail(
        sender="piet@globex.example",
        subject="Platform niet bereikbaar",
        body="Het platform https://lms.globex.example is niet bereikbaar voor iedereen.\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", raw)
    desk.run_once()
    ticket = _ticket(desk)
    assert ticket.priority == "high"
    assert "niet bereikbaar" in ticket.priority_rule
    assert ticket.language == "nl"
    [ack] = _client_mails(smtp_sink, "piet@globex.example")
    assert "Hoog" in ack.message.get_content()


def test_headerless_autoresponder_gets_at_most_the_rate_limit(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    """An autoresponder that answers everything, sets no header and keeps no thread."""
    robot = "robot@acme.example"
    first, _ = mail(sender=robot, subject="Hello", body="Automatic confirmation.\n")
    dovecot.append("INBOX", first)
    limit = desk.settings.service.auto_mails_per_hour
    answered = 0
    for _round in range(limit + 4):
        desk.run_once()
        incoming = _client_mails(smtp_sink, robot)
        for _message in incoming[answered:]:
            # It keeps neither our tag nor our Message-ID: every answer looks new.
            reply, _ = mail(
                sender=robot,
                subject="Confirmation of receipt",
                body="Thank you, your message was received.\n",
            )
            dovecot.append("INBOX", reply)
        answered = len(incoming)
    assert answered == limit, "at most the hourly limit of automatic mails, then silence"
    assert dovecot.count("INBOX") == 0
    assert _count(desk, Event, Event.kind == "auto_mail_suppressed") >= 1


def test_stranger_with_another_clients_tag_does_not_join_that_ticket(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    report, _ = mail(
        sender="eva@acme.example",
        subject="Upload broken",
        body="https://learn.acme.example/upload fails\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    acme_ticket = _ticket(desk)
    tag = f"[#{acme_ticket.number}]"

    other_client, _ = mail(
        sender="piet@globex.example",
        subject=f"Re: {tag} Upload broken",
        body="https://lms.globex.example same here\n",
        attachments=(png(),),
    )
    stranger, _ = mail(
        sender="mallory@evil.example",
        subject=f"Re: {tag} Upload broken",
        body="Please send me the details.\n",
    )
    dovecot.append("INBOX", other_client)
    dovecot.append("INBOX", stranger)
    desk.run_once()

    with desk.db.session() as session:
        on_acme = session.scalars(
            select(Message.sender).where(
                Message.ticket_id == acme_ticket.id, Message.direction == "in"
            )
        ).all()
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        held = session.scalars(select(QuarantinedMail)).all()
    assert on_acme == ["eva@acme.example"]
    assert len(tickets) == 2 and tickets[1].requester == "piet@globex.example"
    assert [(q.reason, q.sender) for q in held] == [("unknown_sender", "mallory@evil.example")]
    assert dovecot.count("Quarantine") == 1
    [notice] = _client_mails(smtp_sink, "mallory@evil.example")
    assert "registered" in notice.message.get_content()


def test_bounce_of_our_ack_marks_it_failed_and_tells_staff(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    report, _ = mail(
        sender="gone@acme.example",
        subject="Help",
        body="https://learn.acme.example broken\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    [ack] = _client_mails(smtp_sink, "gone@acme.example")
    ack_id = ack.message["Message-ID"].strip("<>")
    dsn = (
        "From: MAILER-DAEMON@mx.acme.example\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.acme.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ack_id}>\r\nTo: gone@acme.example\r\nSubject: x\r\n"
        "--B--\r\n"
    ).encode()
    dovecot.append("INBOX", dsn)
    desk.run_once()
    with desk.db.session() as session:
        row = session.scalars(select(OutboxMail).where(OutboxMail.message_id == ack_id)).one()
        assert row.status == "failed"
        assert "gone@acme.example" in (row.last_error or "")
    notices = [
        m
        for m in smtp_sink.messages
        if m.rcpt_tos == [STAFF]
        and "gone@acme.example" in m.message.get_content()
        and "5.1.1" in m.message.get_content()
    ]
    assert len(notices) == 1
    assert len(_client_mails(smtp_sink, "mailer-daemon@mx.acme.example")) == 0
    assert _count(desk, Ticket) == 1


def test_our_own_mail_coming_back_is_dropped_and_lists_are_not_answered(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    echo, _ = mail(
        sender=SUPPORT,
        subject="[#2026-000001] Your request",
        body="Thank you for your message.\n",
        headers={"X-Maildesk-Loop": desk.settings.service.instance_id},
    )
    listed, _ = mail(
        sender="news@acme.example",
        subject="Acme newsletter",
        body="https://learn.acme.example news\n",
        attachments=(png(),),
        headers={"List-Id": "<news.acme.example>"},
    )
    dovecot.append("INBOX", echo)
    dovecot.append("INBOX", listed)
    desk.run_once()
    assert smtp_sink.messages == [] or all(m.rcpt_tos == [STAFF] for m in smtp_sink.messages)
    with desk.db.session() as session:
        dispositions = sorted(
            session.scalars(select(Message.disposition).where(Message.direction == "in")).all()
        )
    assert dispositions == ["loop", "report"]
    assert _count(desk, Event, Event.kind == "loop_received") == 1
    assert dovecot.count("INBOX") == 0


def test_unknown_sender_released_after_registration(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    raw, _ = mail(
        sender="new.person@initech.example",
        subject="Access please",
        body="https://initech.example/app login fails\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", raw)
    desk.run_once()
    assert _count(desk, Ticket) == 0
    assert dovecot.count("Quarantine") == 1
    with desk.db.session() as session:
        held = session.scalars(select(QuarantinedMail)).one()
    assert held.reason == "unknown_sender"
    assert len(_client_mails(smtp_sink, "new.person@initech.example")) == 1


def test_null_sender_mail_is_quarantined_and_nobody_is_mailed(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    raw = (
        b'From: "Someone" <>\r\nTo: support@helpdesk.example\r\nSubject: Offer\r\n'
        b"Message-ID: <null-1@spam.example>\r\n\r\nBuy now.\r\n"
    )
    dovecot.append("INBOX", raw)
    desk.run_once()
    assert dovecot.count("Quarantine") == 1
    assert _count(desk, Ticket) == 0
    assert smtp_sink.messages == []
    with desk.db.session() as session:
        held = session.scalars(select(QuarantinedMail)).one()
    assert held.reason == "unknown_sender"


def test_follow_up_reopens_within_the_window_and_links_a_new_ticket_after(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink, clock: FakeClock
) -> None:
    report, _ = mail(
        sender="eva@acme.example",
        subject="Certificates",
        body="https://learn.acme.example/cert broken\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    first = _ticket(desk)
    tag = f"[#{first.number}]"

    def close() -> None:
        closing, _ = mail(
            sender=STAFF, subject=f"Re: {tag} Certificates", body="Fixed.\n#status closed\n"
        )
        dovecot.append("INBOX", closing)
        desk.run_once()

    close()
    assert _ticket(desk).status == "closed"
    clock.advance(timedelta(days=3))
    again, _ = mail(
        sender="eva@acme.example", subject=f"Re: {tag} Certificates", body="It broke again.\n"
    )
    dovecot.append("INBOX", again)
    desk.run_once()
    reopened = _ticket(desk)
    assert reopened.status == "open"
    assert reopened.resolution_due_at is not None, "the clock runs again"

    close()
    clock.advance(timedelta(days=desk.settings.policies["default"].reopen_days + 1))
    late, _ = mail(
        sender="eva@acme.example",
        subject=f"Re: {tag} Certificates",
        body="https://learn.acme.example/cert broken once more\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", late)
    desk.run_once()
    with desk.db.session() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert len(tickets) == 2
    assert tickets[0].status == "closed"
    assert tickets[1].follows_ticket_id == first.id
    assert _count(desk, QuarantinedMail) == 0


def test_plus_address_joins_the_ticket_for_its_client_only(
    desk: Maildesk, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    report, _ = mail(
        sender="eva@acme.example",
        subject="Grades",
        body="https://learn.acme.example/grades\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", report)
    desk.run_once()
    number = _ticket(desk).number
    plus = f"support+{number}@helpdesk.example"
    colleague, _ = mail(
        sender="jan@acme.example", to=plus, subject="Also for us", body="Same problem here.\n"
    )
    other, _ = mail(
        sender="piet@globex.example",
        to=plus,
        subject="Hello",
        body="https://lms.globex.example question\n",
        attachments=(png(),),
    )
    dovecot.append("INBOX", colleague)
    dovecot.append("INBOX", other)
    desk.run_once()
    with desk.db.session() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        on_first = session.scalars(
            select(Message.sender).where(
                Message.ticket_id == tickets[0].id, Message.direction == "in"
            )
        ).all()
    assert sorted(on_first) == ["eva@acme.example", "jan@acme.example"]
    assert [t.requester for t in tickets] == ["eva@acme.example", "piet@globex.example"]
