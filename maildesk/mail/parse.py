"""Turn raw RFC 5322 bytes into one frozen ``InboundMail``.

This module alone imports mail-parser; the rest of maildesk sees only the
dataclasses below. ``parse`` never raises anything but ``UnparseableMail``,
whose ``reason`` is what the quarantine records.

Who does what, and why:

- mail-parser reads the Date (a strict RFC 5322 reading, in UTC) and gives
  its header diagnostics (ambiguous address headers, bad dates) for
  ``defects``. It is handed only those headers (see ``_mailparser_view``).
- Headers, addresses, bodies and attachments are read from the stdlib tree by
  this module, because mail-parser's own extraction loses what a helpdesk
  needs: it decodes text with errors ignored or replaced (a latin-1 body
  labelled utf-8 comes out full of U+FFFD), names unnamed attachments with
  random strings (not stable across re-parses), keeps only the first of
  repeated address headers, drops addresses without a domain
  (``MAILER-DAEMON``) and mixes the text of attached forwarded mails into the
  body.

Every text field has gone through ``charsets.decode_bytes`` (declared charset,
utf-8, cp1252/latin-1, in the order ``decode_bytes`` explains), so that decoding
never raises and never silently drops characters, and carries no NUL and no
lone surrogate, so that every database and JSON sink accepts it.

Hostile input is bounded: the MIME walk is iterative with depth and part
limits, HTML is read by a linear scanner, and the few stdlib and mail-parser
routines that are quadratic (parameter parsing, ``decode_header``) never see
more than a bounded input (see ``limits``).
"""

from __future__ import annotations

import email
import email.errors
import email.message
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import mailparser

from maildesk.mail.address import parse_from
from maildesk.mail.headers import (
    address_list,
    bound_address_headers,
    content_type,
    decode_header,
    decode_words,
    from_wire,
    msg_ids,
    unfold,
)
from maildesk.mail.headers import mailboxes as _mailboxes
from maildesk.mail.headers import message_id as _message_id
from maildesk.mail.headers import raw_headers as _raw_headers
from maildesk.mail.headers import references as _references
from maildesk.mail.html_text import html_to_text as html_to_text
from maildesk.mail.limits import MAX_ADDRESS_HEADER as MAX_ADDRESS_HEADER
from maildesk.mail.limits import MAX_DEFECT_CHARS, Defects
from maildesk.mail.limits import MAX_DEFECTS as MAX_DEFECTS
from maildesk.mail.limits import MAX_DEPTH as MAX_DEPTH
from maildesk.mail.limits import MAX_PARAMETER_HEADER as MAX_PARAMETER_HEADER
from maildesk.mail.limits import MAX_PARTS as MAX_PARTS
from maildesk.mail.limits import MAX_REFERENCES as MAX_REFERENCES
from maildesk.mail.mime_parts import Attachment as Attachment
from maildesk.mail.mime_parts import Body
from maildesk.mail.text import clean, cut, one_line


class UnparseableMail(Exception):
    """The bytes cannot be read as a mail; ``reason`` says why, for the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InboundMail:
    """Everything maildesk reads from one mail.

    Addresses are lower-cased bare addresses; Message-IDs are stripped of their
    angle brackets. ``headers`` keeps every header (name lower-cased, value
    decoded to text) in order, for the classification rules.
    """

    raw_sha256: str
    size: int
    message_id: str
    sender: str
    sender_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    text: str
    html: str
    content_type: str
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    defects: tuple[str, ...] = ()
    message_id_synthesized: bool = False
    from_flags: tuple[str, ...] = ()
    """Why the From is suspicious (``mail.address``); a flagged mail may not spend money."""
    envelope_sender: str | None = None
    """The SMTP reverse-path when the mail came over LMTP ("" for ``MAIL FROM:<>``), else None."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every value of header ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


#: The domain of synthesized Message-IDs; ``.invalid`` can never be a real domain (RFC 2606).
SYNTHETIC_ID_DOMAIN = "maildesk.invalid"


def parse(raw: bytes) -> InboundMail:
    """Parse ``raw``; raise ``UnparseableMail`` with a reason if it cannot be read.

    Any other failure (a bug in a parser, a codec surprise) is turned into
    ``UnparseableMail`` too, naming the exception, so that one odd mail is
    quarantined instead of stopping the intake.
    """
    try:
        return _parse(bytes(raw))
    except UnparseableMail:
        raise
    except RecursionError as exc:
        raise UnparseableMail("nested too deeply to parse (MIME parts or header comments)") from exc
    except Exception as exc:
        detail = cut(f"{type(exc).__name__}: {exc}", MAX_DEFECT_CHARS)
        raise UnparseableMail(f"parser failed: {detail}") from exc


def _parse(raw: bytes) -> InboundMail:
    if not raw.strip():
        raise UnparseableMail("empty message")
    _refuse_huge_parameter_headers(raw)
    defects = Defects()
    message = _read_tree(raw, defects)
    hint = _charset_hint(message)

    headers = tuple(
        (clean(name.strip().lower()), clean(decode_header(value, hint)))
        for name, value in message.raw_items()
    )
    raw_headers = _raw_headers(message)
    bound_address_headers(raw_headers, defects)
    first = {name: values[0] for name, values in raw_headers.items()}

    view = _mailparser_view(raw_headers)
    defects.extend(_mailparser_defects(view))

    sender, sender_name, from_flags = _sender(raw_headers, hint)
    sha = hashlib.sha256(raw).hexdigest()
    message_id = _message_id(first.get("message-id", ""))
    synthesized = not message_id
    if synthesized:
        message_id = f"{sha}@{SYNTHETIC_ID_DOMAIN}"
    references = _references(raw_headers.get("references", []), defects)
    in_reply_to_ids = msg_ids(unfold(from_wire(first.get("in-reply-to", ""))))

    body = Body(defects, hint)
    body.walk(message)

    return InboundMail(
        raw_sha256=sha,
        size=len(raw),
        message_id=message_id,
        message_id_synthesized=synthesized,
        sender=sender,
        sender_name=sender_name,
        to=address_list(raw_headers.get("to", []), hint),
        cc=address_list(raw_headers.get("cc", []), hint),
        reply_to=address_list(raw_headers.get("reply-to", []), hint),
        subject=clean(one_line(decode_header(first.get("subject", ""), hint))),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        date=_date(view, first.get("date")),
        text=body.text(),
        html=body.html(),
        content_type=content_type(message, first.get("content-type")),
        attachments=tuple(body.attachments),
        headers=headers,
        defects=defects.as_tuple(),
        from_flags=from_flags,
    )


_PARAMETER_HEADER = re.compile(
    rb"^(content-(?:type|disposition))[ \t]*:[^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*",
    re.IGNORECASE | re.MULTILINE,
)


def _refuse_huge_parameter_headers(raw: bytes) -> None:
    """Refuse a mail with a Content-Type or Content-Disposition longer than the limit.

    The stdlib reads parameters in quadratic time (``email.message._parseparam``
    re-slices the rest of the header for each ``;``), and its parser reads the
    boundary of every multipart: a 200 KB header costs it 0.5 s, a 25 MB one
    hours. No real mail comes near the limit, so such a mail is quarantined
    rather than cut. Only mails longer than the limit can hold such a header,
    so only those are scanned (about 10 ms per MB).
    """
    if len(raw) <= MAX_PARAMETER_HEADER:
        return
    for match in _PARAMETER_HEADER.finditer(raw):
        if match.end() - match.start() > MAX_PARAMETER_HEADER:
            name = match.group(1).decode("ascii").title()
            size = match.end() - match.start()
            raise UnparseableMail(f"{name} header of {size} bytes is beyond any real mail")


def _read_tree(raw: bytes, defects: Defects) -> email.message.Message:
    """The stdlib ``compat32`` tree of ``raw``, after repairing a broken header block.

    Repairs, each only when the plain parse shows the damage, so that a
    well-formed mail costs one parse: blank lines before the headers are
    skipped; an indented first header line is read as a header; one banner
    line before the headers ("---- Original email message ----") is skipped;
    header lines that lost their leading whitespace (a folded Received line
    cut by a copy-paste) are read as folded when more headers follow them,
    instead of ending the header block there.
    """
    source = raw
    if raw[:1] in (b"\r", b"\n"):
        source = raw.lstrip(b"\r\n")
        defects.add("leading blank lines before the headers skipped")
    if source[:1] in (b" ", b"\t") and _HEADER_START.match(source.lstrip(b" \t")):
        source = source.lstrip(b" \t")  # the stdlib would drop an indented first header
        defects.add("indented first header line read as a header")
    message = email.message_from_bytes(source, policy=email.policy.compat32)
    if len(message) == 0:
        _, newline, rest = source.partition(b"\n")
        if not newline:
            _, newline, rest = source.partition(b"\r")
        message = email.message_from_bytes(rest, policy=email.policy.compat32)
        if not rest.strip() or len(message) == 0:
            raise UnparseableMail("not a mail: no header block")
        defects.add("a line that is not a header before the headers skipped")
        source = rest
    if any(isinstance(d, email.errors.MissingHeaderBodySeparatorDefect) for d in message.defects):
        repaired = _refold_header_block(source)
        if repaired is not None:
            message = email.message_from_bytes(repaired, policy=email.policy.compat32)
            defects.add("header lines without leading whitespace read as folded")
    return message


_HEADER_END = re.compile(rb"\r\n\r\n|\n\n|\r\r|\n\r\n")
_HEADER_START = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")


def _refold_header_block(source: bytes) -> bytes | None:
    """``source`` with stray non-header lines of the header block indented, or None.

    A line is stray when it is neither a header nor a folded continuation and
    a header line follows it before the blank line; without a header after
    it, it is where the body starts (the stdlib's reading is kept).
    """
    end = _HEADER_END.search(source)
    head_end = end.start() if end else len(source)
    lines = source[:head_end].splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _HEADER_START.match(line)]
    if not starts:
        return None
    last_header = starts[-1]
    changed = False
    for i in range(1, last_header):
        line = lines[i]
        if line[:1] not in (b" ", b"\t") and not _HEADER_START.match(line):
            lines[i] = b" " + line
            changed = True
    return b"".join(lines) + source[head_end:] if changed else None


def _charset_hint(message: email.message.Message) -> str | None:
    """The charset the mail declares first, to read raw 8-bit headers with.

    Mailers that put raw 8-bit bytes in headers use their body charset there.
    """
    stack = [message]
    for _ in range(50):
        if not stack:
            break
        part = stack.pop()
        charset = part.get_content_charset()
        if charset:
            return str(charset)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, email.message.Message))
    return None


# --------------------------------------------------------------------------
# mail-parser: Date and header diagnostics
# --------------------------------------------------------------------------


#: The headers mail-parser is shown: the Date, and the address headers whose
#: diagnostics explain an odd sender. Not To/Cc: its per-address parsing costs
#: seconds on a list of thousands, for diagnostics nobody acts on. Not Sender:
#: it has no diagnostics for it, only a quadratic ``decode_header`` pass.
_MAILPARSER_HEADERS = ("date", "from", "reply-to")


def _mailparser_view(raw_headers: dict[str, list[str]]) -> mailparser.MailParser:
    """mail-parser's reading of the Date and address headers of the mail.

    It gets a header-only mail holding just those headers. Fed the whole
    mail, it also decodes every header through ``email.header.decode_header``
    (quadratic: a 1 MB subject of encoded words costs it 15 s), parses every
    Received line, re-encodes every attachment to base64 and crashes on a
    multipart without start boundary (real SendGrid bounces), all for output
    this module does not use; that was half the parse time of the corpus.
    Values beyond ``MAX_ADDRESS_HEADER`` are left out for the same reason.
    """
    view = email.message.Message()
    for name in _MAILPARSER_HEADERS:
        for value in raw_headers.get(name, ()):
            if len(value) <= MAX_ADDRESS_HEADER:
                view[name] = value
    return mailparser.MailParser(view)


def _mailparser_defects(view: mailparser.MailParser) -> list[str]:
    """The header diagnostics of mail-parser that matter to us, as short strings.

    Address and Date problems are kept (they explain an odd sender or a
    missing date); diagnostics about Received trace lines are not, maildesk
    does not read those.
    """
    found: list[str] = []
    for item in view.address_header_defects:
        found.append(f"{item.get('header', '?')} header: {item.get('reason', 'defect')}")
    for item in view.date_header_defects:
        if item.get("header") == "date":
            found.append(f"date header: {item.get('reason', 'defect')}")
    return found


def _date(view: mailparser.MailParser, raw_value: str | None) -> datetime | None:
    """The Date header in UTC: mail-parser's strict reading, else the stdlib's lenient one."""
    value = view.date
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if not raw_value:
        return None
    text = one_line(from_wire(raw_value))
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown, the time is UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _sender(
    raw_headers: dict[str, list[str]], hint: str | None
) -> tuple[str, str, tuple[str, ...]]:
    """The sender's address, display name and From flags: From, else Sender, else Return-Path.

    The From is read strictly first (``mail.address.parse_from``): its
    addr-spec is the sender, never a display name. Only a From the strict
    reading finds no address in falls back to the lenient reading below, and
    is flagged for it.

    Every occurrence of a header counts (spam and broken gateways send two
    From lines, the first one garbage). A full address wins over a bare
    local part anywhere in that order; a bare local part (``From:
    MAILER-DAEMON``) is accepted only when no header names a full address, so
    that such a bounce still reaches the rules. A From header with no
    address at all (the null sender of a bounce: ``From: MAILER-DAEMON <>``)
    gives an empty sender, with the display name it has, so that the bounce
    rule still sees it; no address in any of the three headers and no From
    header means the bytes are not a mail.
    """
    flags: tuple[str, ...] = ()
    if "from" in raw_headers:
        strict = parse_from([unfold(from_wire(v, hint)) for v in raw_headers["from"]], decode_words)
        flags = strict.flags
        if "@" in strict.address:
            return clean(strict.address), clean(one_line(strict.display_name)), flags
    candidates = {
        name: _mailboxes(raw_headers[name], hint)
        for name in ("from", "sender", "return-path")
        if name in raw_headers
    }
    for wanted_domain in (True, False):
        for mailboxes in candidates.values():
            for name, address in mailboxes:
                if address and ("@" in address) == wanted_domain:
                    return address, name, flags
    if "from" in candidates:
        # A null sender (``From: <>``, ``From: MAILER-DAEMON <>``): bounces from
        # some gateways look like this. The rules still need to see them.
        names = [name for name, _ in candidates["from"] if name]
        return "", names[0] if names else "", flags
    raise UnparseableMail("no sender address")
