"""Queue outgoing mail inside the caller's transaction.

A mail maildesk sends is composed and given its Message-ID when it is queued,
in the same transaction as the change that causes it. If that transaction
rolls back, the mail was never queued; once it commits, delivery will happen,
and a retry after a crash sends the very same mail (same Message-ID).
"""

from __future__ import annotations

import base64
import logging
import quopri
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.policy import SMTP
from email.utils import encode_rfc2231, format_datetime, formataddr, make_msgid, quote
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from maildesk.store.models import Event, Message, OutboxMail

log = logging.getLogger(__name__)

LOOP_HEADER = "X-Maildesk-Loop"


@dataclass(frozen=True)
class Identity:
    """Who maildesk's mail comes from, and the token that marks it as ours."""

    address: str
    name: str
    domain: str
    """The Message-ID domain: one only maildesk writes (``Service.own_message_id_domain``)."""
    loop_token: str


class MailAttachment(NamedTuple):
    """A file attached to an outgoing mail (a statement's timesheet, for instance)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    """A mail to queue. ``auto`` mails (acks, notices) carry Auto-Submitted (RFC 3834)."""

    kind: str
    to: tuple[str, ...]
    subject: str
    body: str
    ticket_id: int | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto: bool = True
    ticket_number: str | None = None
    attachments: tuple[MailAttachment, ...] = ()


_MAX_LINE = SMTP.max_line_length or 78


def _bracket(message_id: str) -> str:
    return f"<{message_id}>"


# Text and addresses: the SMTP policy's header registry encodes (RFC 2047/2231)
# and folds them. Every other header is tokens (Message-IDs, MIME types, our
# own markers), which are folded at spaces and never encoded: the registry
# treats In-Reply-To and References as text and would turn a long Message-ID
# into encoded words, which no mail program matches to a thread.
_TEXT_HEADERS = frozenset({"from", "to", "subject", "content-disposition"})


def _fold_at_spaces(name: str, value: str) -> str:
    """``value`` folded before a word that would pass the line limit (a long word stays whole)."""
    lines: list[str] = []
    line = f"{name}:"
    for word in value.split():
        if len(line) + 1 + len(word) > _MAX_LINE and line.strip() not in ("", f"{name}:"):
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return "\r\n".join(lines)[len(name) + 2 :]


def _header(name: str, value: str) -> str:
    """``value`` as it goes on the wire after ``NAME: `` (folded lines joined by CRLF).

    Short ASCII values are written as they are (the common case, and the cheap
    one); long ASCII tokens are folded at spaces. Text and addresses that are
    long or not ASCII go through the SMTP policy's header registry, as an
    ``EmailMessage`` writes them. A line break in a value is refused, as
    ``EmailMessage`` refuses it, so nothing can inject a header.
    """
    if len(value.splitlines()) > 1:
        raise ValueError(f"header {name} may not contain line breaks: {value!r}")
    if value.isascii():
        if len(name) + 2 + len(value) <= _MAX_LINE:
            return value
        if name.lower() not in _TEXT_HEADERS:
            return _fold_at_spaces(name, value)
    folded = str(SMTP.header_factory(name, value).fold(policy=SMTP))
    return folded[len(name) + 2 :].rstrip("\r\n")


def _text_body(body: str) -> tuple[str, bytes]:
    """``body`` as UTF-8 text/plain: its transfer encoding and its lines, CRLF-terminated.

    As ``EmailMessage.set_content`` chooses: 7bit or 8bit while every line
    fits in 78 bytes, else quoted-printable, or base64 when that is shorter
    (mostly non-Latin text).
    """
    lines = body.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= _MAX_LINE:
        data = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if data.isascii() else "8bit"), data
    qp = quopri.encodestring(b"\n".join(lines) + b"\n")
    # Base64 text carries its line breaks in canonical form (CRLF, RFC 2045).
    b64 = base64.encodebytes(b"\r\n".join(lines) + b"\r\n")
    if len(qp) <= len(b64):
        return "quoted-printable", qp.replace(b"\n", b"\r\n")
    return "base64", b64.replace(b"\n", b"\r\n")


def _disposition(filename: str) -> str:
    """``attachment; filename=…``: quoted, or RFC 2231-encoded when not ASCII."""
    if filename.isascii():
        return f'attachment; filename="{quote(filename)}"'
    return f"attachment; filename*={encode_rfc2231(filename, 'utf-8')}"


def _part(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """Header lines, a blank line, the payload: one entity as it goes on the wire."""
    head = "".join(f"{name}: {_header(name, value)}\r\n" for name, value in headers)
    return head.encode("ascii") + b"\r\n" + payload


def _boundary(parts: list[bytes]) -> str:
    """A multipart boundary that no part contains.

    ``=_`` never occurs in base64 or quoted-printable text, and 34 characters
    keep the Content-Type line short enough to stay unfolded.
    """
    while True:
        boundary = f"=_{uuid.uuid4().hex}"
        marker = b"--" + boundary.encode("ascii")
        if not any(marker in part for part in parts):
            return boundary


def compose(draft: Draft, identity: Identity, now: datetime) -> tuple[str, bytes]:
    """The Message-ID (without brackets) and the bytes of ``draft``.

    Written directly as the bytes ``EmailMessage(policy=SMTP)`` would produce
    (CRLF lines, RFC 2047 headers, 7bit/8bit/quoted-printable/base64 text,
    base64 attachments in multipart/mixed): building an ``EmailMessage`` took
    about 1 ms a mail, this 0.02 ms, plus 0.1-0.3 ms for each header that
    needs the policy's header registry to encode or fold it (:func:`_header`).
    ``tests/unit/test_compose_headers.py`` holds the output to what
    ``EmailMessage`` writes, as the email package reads both back.
    """
    message_id = make_msgid(domain=identity.domain)[1:-1]
    headers: list[tuple[str, str]] = [
        ("From", formataddr((identity.name, identity.address))),
        ("To", ", ".join(draft.to)),
        ("Subject", draft.subject),
        ("Date", format_datetime(now)),
        ("Message-ID", _bracket(message_id)),
    ]
    if draft.in_reply_to:
        headers.append(("In-Reply-To", _bracket(draft.in_reply_to)))
    refs = list(draft.references)
    if draft.in_reply_to and draft.in_reply_to not in refs:
        refs.append(draft.in_reply_to)
    if refs:
        headers.append(("References", " ".join(_bracket(r) for r in refs)))
    if draft.auto:
        headers.append(
            ("Auto-Submitted", "auto-replied" if draft.in_reply_to else "auto-generated")
        )
        headers.append(("X-Auto-Response-Suppress", "All"))
    headers.append((LOOP_HEADER, identity.loop_token))
    if draft.ticket_number:
        headers.append(("X-Maildesk-Ticket", draft.ticket_number))
    cte, text = _text_body(draft.body)
    text_headers = [
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", cte),
    ]
    if not draft.attachments:
        return message_id, _part([*headers, *text_headers, ("MIME-Version", "1.0")], text)
    parts = [_part(text_headers, text)]
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        parts.append(
            _part(
                [
                    ("Content-Type", f"{maintype}/{subtype or 'octet-stream'}"),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-Disposition", _disposition(attachment.filename)),
                ],
                base64.encodebytes(attachment.data).replace(b"\n", b"\r\n"),
            )
        )
    boundary = _boundary(parts)
    delimiter = f"--{boundary}\r\n".encode("ascii")
    body = delimiter + (b"\r\n" + delimiter).join(parts) + f"\r\n--{boundary}--\r\n".encode()
    top = [
        *headers,
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{boundary}"'),
    ]
    return message_id, _part(top, body)


QUEUED_MAIL = "maildesk.queued_mail"
"""Set in ``session.info`` by :func:`enqueue`: this transaction queued mail."""


def enqueue(session: Session, draft: Draft, identity: Identity, now: datetime) -> OutboxMail:
    """Queue ``draft`` for delivery and record it as an outgoing message of its ticket."""
    if not draft.to or not all(draft.to):
        raise ValueError(f"{draft.kind} mail has no recipient")
    message_id, data = compose(draft, identity, now)
    row = OutboxMail(
        message_id=message_id,
        ticket_id=draft.ticket_id,
        kind=draft.kind,
        mail_from=identity.address,
        rcpt_to=list(draft.to),
        first_rcpt=draft.to[0].lower(),
        auto=draft.auto,
        data=data,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.info[QUEUED_MAIL] = True  # wakes delivery once committed (see delivery.Courier)
    session.add(
        Message(
            ticket_id=draft.ticket_id,
            direction="out",
            message_id=message_id,
            in_reply_to=draft.in_reply_to,
            references=" ".join(draft.references),
            sender=identity.address,
            recipients=", ".join(draft.to),
            subject=draft.subject,
            text=draft.body,
            disposition=draft.kind,
            created_at=now,
        )
    )
    return row


_AUTO_MAILS_SINCE = select(func.count(OutboxMail.id)).where(
    OutboxMail.first_rcpt == bindparam("address"),
    OutboxMail.auto.is_(True),
    OutboxMail.created_at > bindparam("since"),
)


def auto_mails_since(session: Session, address: str, since: datetime) -> int:
    """How many automatic mails maildesk queued for ``address`` since ``since``."""
    params = {"address": address.lower(), "since": since}
    return int(session.scalar(_AUTO_MAILS_SINCE, params) or 0)


def enqueue_auto(
    session: Session, draft: Draft, identity: Identity, now: datetime, per_hour: int
) -> OutboxMail | None:
    """Queue an automatic mail unless its recipient already had ``per_hour`` in the last hour.

    This is the last line of defence against mail loops that no rule caught (an
    autoresponder that sets no header at all): whatever happens, no address
    receives more than ``per_hour`` automatic mails an hour. A suppressed mail
    is recorded as an event, not queued.
    """
    address = draft.to[0]
    if not address:
        log.info("no %s mail: the mail it answers has no sender address", draft.kind)
        return None
    if auto_mails_since(session, address, now - timedelta(hours=1)) >= per_hour:
        session.add(
            Event(
                ticket_id=draft.ticket_id,
                at=now,
                kind="auto_mail_suppressed",
                detail={"to": address, "kind": draft.kind, "limit": per_hour},
            )
        )
        log.warning(
            "suppressed %s mail to %s: %d automatic mails in the last hour",
            draft.kind,
            address,
            per_hour,
        )
        return None
    return enqueue(session, draft, identity, now)
