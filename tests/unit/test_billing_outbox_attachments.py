"""Outgoing mail with attachments (a statement's timesheet files), as composed for the outbox."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

from maildesk.mail.compose import Draft, Identity, MailAttachment, compose

IDENTITY = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "maildesk-test")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_attachments_travel_with_the_text() -> None:
    binary = bytes(range(256)) * 4
    draft = Draft(
        kind="weekly_statement",
        to=("boss@acme.example",),
        subject="Weekly statement",
        body="Hello, see the attached files.\n",
        attachments=(
            MailAttachment("sheet.csv", "text/csv", "a,b\r\n1,2\r\né,ü\r\n".encode()),
            MailAttachment("sheet.xlsx", "application/vnd.ms-excel", binary),
        ),
    )
    _, data = compose(draft, IDENTITY, NOW)
    msg = _parse(data)
    assert msg.is_multipart()
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines() == ["Hello, see the attached files."]
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == ["sheet.csv", "sheet.xlsx"]
    assert [p.get_content_type() for p in parts] == ["text/csv", "application/vnd.ms-excel"]
    assert parts[0].get_payload(decode=True) == "a,b\r\n1,2\r\né,ü\r\n".encode()
    assert parts[1].get_payload(decode=True) == binary


def test_without_attachments_the_mail_stays_single_part() -> None:
    draft = Draft(kind="ack", to=("a@b.example",), subject="s", body="text\n")
    msg = _parse(compose(draft, IDENTITY, NOW)[1])
    assert not msg.is_multipart()
    assert msg.get_content().splitlines() == ["text"]
