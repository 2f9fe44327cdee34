"""Outgoing mail as composed for the outbox: headers, encodings and structure.

``compose`` writes the bytes itself (``EmailMessage`` took 2.5 ms a mail). These
tests hold it to what ``EmailMessage(policy=SMTP)`` writes, read back by the
email package, and to the rules a mail program relies on: RFC 2047 for
non-ASCII text, folded lines, CRLF, threading headers kept verbatim.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import pytest

from maildesk.mail.compose import Draft, Identity, MailAttachment, compose

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
IDENTITY = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "maildesk-test")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _reference(draft: Draft, identity: Identity, message_id: str) -> bytes:
    """The mail as ``EmailMessage(policy=SMTP)`` writes it (how maildesk composed it before)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = formataddr((identity.name, identity.address))
    msg["To"] = ", ".join(draft.to)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = f"<{message_id}>"
    if draft.in_reply_to:
        msg["In-Reply-To"] = f"<{draft.in_reply_to}>"
    refs = list(draft.references)
    if draft.in_reply_to and draft.in_reply_to not in refs:
        refs.append(draft.in_reply_to)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if draft.auto:
        msg["Auto-Submitted"] = "auto-replied" if draft.in_reply_to else "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Maildesk-Loop"] = identity.loop_token
    if draft.ticket_number:
        msg["X-Maildesk-Ticket"] = draft.ticket_number
    msg.set_content(draft.body)
    for a in draft.attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg.as_bytes()


def _meaning(data: bytes) -> tuple[object, ...]:
    """What a mail program reads: decoded headers, and per leaf part its headers and payload."""
    msg = _parse(data)
    # The multipart boundary is random: it is left out.
    headers = [
        (k, re.sub(r';\s*boundary="[^"]*"', "", str(v)))
        for k, v in msg.items()
        if k != "MIME-Version"
    ]
    leaves = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        part_headers = [
            (k, str(v))
            for k, v in part.items()
            if k not in ("MIME-Version", "Content-Transfer-Encoding") and part is not msg
        ]
        leaves.append((part_headers, part.get_payload(decode=True), part.get_filename()))
    return headers, leaves, [type(d).__name__ for d in msg.defects]


SUBJECTS = [
    "s",
    "[#2026-000123] We received your report",
    "[#2026-000123] Ré: Le quiz ne s'enregistre pas — élèves bloqués",
    "word " * 30,
    "日本語の件名" * 5,
    "Tab\there",
]
BODIES = [
    "text\n",
    "Héllo wörld\nline two\n",
    "a" * 200 + "\n",
    "Привет " * 40 + "\n",
    "",
    "no final newline",
    "line\r\nwindows\r\n",
]
NAMES = ["Helpdesk", "Hélpdesk Ünïon", 'Support (EU), "quoted"', "Un service d'assistance " * 3]
EXTRAS: list[dict[str, object]] = [
    {},
    {"in_reply_to": "abc@x.example", "references": ("r1@x.example", "r2@y.example")},
    {"auto": False, "ticket_number": "2026-000001", "to": ("a@b.example", "c@d.example")},
    {"references": tuple(f"ref{i}.{'z' * 20}@host.example" for i in range(8))},
    {
        "attachments": (
            MailAttachment("sheet.csv", "text/csv", "a,é\r\n".encode()),
            MailAttachment("Überblick 2026-W47, a rather long file name.xlsx", XLSX, b"\0" * 30),
        )
    },
]


@pytest.mark.parametrize(
    ("name", "extra"), list(itertools.product(NAMES, range(len(EXTRAS)))), ids=str
)
def test_reads_back_as_the_email_package_writes_it(name: str, extra: int) -> None:
    identity = Identity(IDENTITY.address, name, IDENTITY.domain, IDENTITY.loop_token)
    for subject, body in itertools.zip_longest(SUBJECTS, BODIES, fillvalue="s"):
        fields: dict[str, object] = {
            "kind": "ack",
            "to": ("joe@acme.example",),
            "subject": subject,
            "body": body,
        }
        fields.update(EXTRAS[extra])
        draft = Draft(**fields)  # type: ignore[arg-type]
        message_id, data = compose(draft, identity, NOW)
        assert _meaning(data) == _meaning(_reference(draft, identity, message_id)), (subject, body)


def _raw_headers(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.split("\r\n")


def test_non_ascii_display_name_and_subject_are_encoded_words() -> None:
    identity = Identity(IDENTITY.address, "Équipe Support Ünïon", IDENTITY.domain, "md")
    subject = "[#2026-000042] Ré: Quiz — élèves bloqués"
    _, data = compose(Draft("ack", ("joe@acme.example",), subject, "x\n"), identity, NOW)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    msg = _parse(data)
    assert msg["From"].addresses[0].display_name == "Équipe Support Ünïon"
    assert msg["From"].addresses[0].addr_spec == IDENTITY.address
    assert str(msg["Subject"]) == subject
    assert "[#2026-000042]" in head.decode()  # the tag stays readable in the raw header


@pytest.mark.parametrize(
    "subject",
    ["Weekly statement " + "word " * 40, "Semaine " + "décembre " * 20, "x" * 150],
)
def test_long_subjects_are_folded_and_read_back_whole(subject: str) -> None:
    _, data = compose(Draft("ack", ("a@b.example",), subject, "x\n"), IDENTITY, NOW)
    for line in _raw_headers(data):
        assert len(line) <= 78, line
    assert str(_parse(data)["Subject"]) == " ".join(subject.split()) or subject


def test_long_message_ids_thread_verbatim() -> None:
    """An Outlook-length Message-ID must not become encoded words in In-Reply-To/References."""
    long_id = "AM0PR07MB1234" + "A" * 80 + "@AM0PR07MB1234.eurprd07.prod.outlook.com"
    refs = ("first@x.example", long_id + ".older")
    draft = Draft("ack", ("a@b.example",), "s", "x\n", in_reply_to=long_id, references=refs)
    _, data = compose(draft, IDENTITY, NOW)
    raw = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?" not in raw
    msg = _parse(data)
    assert str(msg["In-Reply-To"]).strip() == f"<{long_id}>"
    assert str(msg["References"]).split() == [f"<{r}>" for r in (*refs, long_id)]


def test_threading_and_automatic_mail_headers() -> None:
    draft = Draft(
        "ack",
        ("joe@acme.example",),
        "s",
        "x\n",
        in_reply_to="in@acme.example",
        references=("r1@acme.example",),
        ticket_number="2026-000007",
    )
    message_id, data = compose(draft, IDENTITY, NOW)
    msg = _parse(data)
    assert message_id.endswith("@helpdesk.example")
    assert msg["Message-ID"] == f"<{message_id}>"
    assert msg["In-Reply-To"] == "<in@acme.example>"
    assert msg["References"] == "<r1@acme.example> <in@acme.example>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Maildesk-Loop"] == "maildesk-test"
    assert msg["X-Maildesk-Ticket"] == "2026-000007"
    assert msg["Date"] == "Mon, 23 Nov 2026 08:00:00 +0000"
    assert msg["MIME-Version"] == "1.0"

    relay = Draft("relay", ("joe@acme.example",), "s", "x\n", auto=False)
    msg = _parse(compose(relay, IDENTITY, NOW)[1])
    assert msg["Auto-Submitted"] is None
    assert msg["In-Reply-To"] is None

    notice = Draft("staff_notice", ("ann@helpdesk.example",), "s", "x\n")
    assert _parse(compose(notice, IDENTITY, NOW)[1])["Auto-Submitted"] == "auto-generated"


def test_each_mail_gets_its_own_message_id() -> None:
    draft = Draft("ack", ("a@b.example",), "s", "x\n")
    assert compose(draft, IDENTITY, NOW)[0] != compose(draft, IDENTITY, NOW)[0]


@pytest.mark.parametrize(
    ("body", "cte"),
    [
        ("plain text\n", "7bit"),
        ("Héllo, ça va ?\n", "8bit"),
        ("a long line " * 20 + "\n", "quoted-printable"),
        ("Длинная строка " * 20 + "\n", "base64"),
    ],
)
def test_utf8_bodies_and_their_transfer_encoding(body: str, cte: str) -> None:
    _, data = compose(Draft("ack", ("a@b.example",), "s", body), IDENTITY, NOW)
    msg = _parse(data)
    assert msg["Content-Transfer-Encoding"] == cte
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n") == body
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))


def test_attachments_keep_names_types_and_bytes() -> None:
    sheet = bytes(range(256)) * 40
    draft = Draft(
        "weekly_statement",
        ("boss@acme.example",),
        "Weekly statement 2026-W47 (16–22 November 2026) – Acme Learning",
        "See the attached files.\n",
        auto=False,
        attachments=(
            MailAttachment("timesheet-acme-2026-W47.csv", "text/csv", b"a,b\r\n1,2\r\n"),
            MailAttachment("timesheet-acme-2026-W47.xlsx", XLSX, sheet),
            MailAttachment("Übersicht März.pdf", "application/pdf", b"%PDF-1.4"),
            MailAttachment("empty.bin", "application", b""),
        ),
    )
    _, data = compose(draft, IDENTITY, NOW)
    msg = _parse(data)
    assert msg.get_content_type() == "multipart/mixed"
    boundary = msg.get_boundary()
    assert boundary is not None
    assert data.count(f"--{boundary}".encode()) == 6  # 5 delimiters and the close
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "See the attached files.\n"
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == [
        "timesheet-acme-2026-W47.csv",
        "timesheet-acme-2026-W47.xlsx",
        "Übersicht März.pdf",
        "empty.bin",
    ]
    assert [p.get_content_type() for p in parts] == [
        "text/csv",
        XLSX,
        "application/pdf",
        "application/octet-stream",
    ]
    assert [p.get_payload(decode=True) for p in parts] == [
        b"a,b\r\n1,2\r\n",
        sheet,
        b"%PDF-1.4",
        b"",
    ]
    assert not msg.defects
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


@pytest.mark.parametrize(
    "subject", ["evil\r\nBcc: victim@example.com", "evil\nX-Injected: 1", "a\x0bb"]
)
def test_a_line_break_in_a_header_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        compose(Draft("ack", ("a@b.example",), subject, "x\n"), IDENTITY, NOW)


def test_many_recipients_fold_between_addresses() -> None:
    to = tuple(f"person.number.{i}@a-rather-long-domain.example" for i in range(6))
    _, data = compose(Draft("staff_notice", to, "s", "x\n"), IDENTITY, NOW)
    assert all(len(line) <= 78 for line in _raw_headers(data))
    assert [a.addr_spec for a in _parse(data)["To"].addresses] == list(to)
    assert not re.search(rb"=\?", data.split(b"\r\n\r\n", 1)[0])
