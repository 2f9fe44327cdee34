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

Every text field has gone through ``_decode_bytes`` (declared charset, utf-8,
cp1252/latin-1, in the order ``_decode_bytes`` explains), so that decoding
never raises and never silently drops characters, and carries no NUL and no
lone surrogate, so that every database and JSON sink accepts it.

Hostile input is bounded: the MIME walk is iterative with depth and part
limits, HTML is read by a linear scanner, and the few stdlib and mail-parser
routines that are quadratic (parameter parsing, ``decode_header``) never see
more than a bounded input (see the limits below).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.generator
import email.message
import email.policy
import email.utils
import functools
import hashlib
import io
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape

import mailparser


class UnparseableMail(Exception):
    """The bytes cannot be read as a mail; ``reason`` says why, for the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    """One attachment or inline part (an image pasted into the body counts, inline=True)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None = None
    payload: bytes = field(default=b"", repr=False, compare=False)


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


# --------------------------------------------------------------------------
# Limits against hostile input. A real mail stays far below each of them; a
# mail beyond one is still parsed, the excess is skipped and named in
# ``defects`` (the raw mail is stored before parsing, so nothing is lost).
# Only ``MAX_PARAMETER_HEADER`` refuses the mail (see its check).
# --------------------------------------------------------------------------

#: MIME nesting below this depth is not walked (the stdlib parser recurses per level).
MAX_DEPTH = 40
#: At most this many MIME parts are looked at.
MAX_PARTS = 2000
#: At most this many Message-IDs are kept from References (the first and the last ones).
MAX_REFERENCES = 100
#: At most this many entries in ``defects``, each cut to ``_MAX_DEFECT_CHARS``.
MAX_DEFECTS = 50
_MAX_DEFECT_CHARS = 200
#: Message-IDs and filenames longer than this are cut (database columns are finite).
_MAX_ID_CHARS = 998
_MAX_FILENAME_CHARS = 255

#: Address headers (From, To, Cc ...) longer than this are cut after a whole address.
MAX_ADDRESS_HEADER = 64 * 1024
#: Content-Type/Content-Disposition headers longer than this are refused.
#: Real ones stay under a few KB even with long RFC 2231 file names.
MAX_PARAMETER_HEADER = 32 * 1024

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
        detail = _cut(f"{type(exc).__name__}: {exc}", _MAX_DEFECT_CHARS)
        raise UnparseableMail(f"parser failed: {detail}") from exc


def _parse(raw: bytes) -> InboundMail:
    if not raw.strip():
        raise UnparseableMail("empty message")
    _refuse_huge_parameter_headers(raw)
    defects = _Defects()
    message = _read_tree(raw, defects)
    hint = _charset_hint(message)

    headers = tuple(
        (_clean(name.strip().lower()), _clean(_decode_header(value, hint)))
        for name, value in message.raw_items()
    )
    raw_headers = _raw_headers(message)
    _bound_address_headers(raw_headers, defects)
    first = {name: values[0] for name, values in raw_headers.items()}

    view = _mailparser_view(raw_headers)
    defects.extend(_mailparser_defects(view))

    sender, sender_name = _sender(raw_headers, hint)
    sha = hashlib.sha256(raw).hexdigest()
    message_id = _message_id(first.get("message-id", ""))
    synthesized = not message_id
    if synthesized:
        message_id = f"{sha}@{SYNTHETIC_ID_DOMAIN}"
    references = _references(raw_headers.get("references", []), defects)
    in_reply_to_ids = _msg_ids(_unfold(_from_wire(first.get("in-reply-to", ""))))

    body = _Body(defects, hint)
    body.walk(message)

    return InboundMail(
        raw_sha256=sha,
        size=len(raw),
        message_id=message_id,
        message_id_synthesized=synthesized,
        sender=sender,
        sender_name=sender_name,
        to=_address_list(raw_headers.get("to", []), hint),
        cc=_address_list(raw_headers.get("cc", []), hint),
        reply_to=_address_list(raw_headers.get("reply-to", []), hint),
        subject=_clean(_one_line(_decode_header(first.get("subject", ""), hint))),
        in_reply_to=in_reply_to_ids[0] if in_reply_to_ids else None,
        references=references,
        date=_date(view, first.get("date")),
        text=body.text(),
        html=body.html(),
        content_type=_content_type(message, first.get("content-type")),
        attachments=tuple(body.attachments),
        headers=headers,
        defects=defects.as_tuple(),
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


def _read_tree(raw: bytes, defects: _Defects) -> email.message.Message:
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
    text = _one_line(_from_wire(raw_value))
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


# --------------------------------------------------------------------------
# Headers: wire bytes, RFC 2047 encoded words, unfolding
# --------------------------------------------------------------------------

_SURROGATES = re.compile("[\udc80-\udcff]")
_UNSAFE_CHARS = re.compile("[\x00\ud800-\udfff]")
_FOLDING = re.compile(r"[ \t\r\n\f\v]+")
_LINE_BREAKS = re.compile(r"\r\n?|\n")
# The encoded text may hold whitespace: invalid, but mailers fold inside words
# and write spaces unencoded ("=?us-ascii?Q?ABC / 123?=").
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")


def _clean(text: str) -> str:
    """Drop NUL and replace lone surrogates, which PostgreSQL and UTF-8 sinks refuse."""
    if _UNSAFE_CHARS.search(text) is None:
        return text
    return _UNSAFE_CHARS.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _from_wire(value: str, hint: str | None = None) -> str:
    """Header text as the stdlib keeps it (8-bit bytes as surrogates) to real text.

    Raw 8-bit headers (RFC 6532 utf-8, or whatever the mailer used for the
    body: ``hint``) and raw 7-bit ISO-2022-JP get the same charset handling as
    a body labelled ``hint``.
    """
    if "\x1b" not in value and _SURROGATES.search(value) is None:
        return value
    data = value.encode("utf-8", "surrogateescape")
    return _decode_bytes(data, hint)[0]


def _unfold(value: str) -> str:
    """Remove the line breaks of folded header lines (RFC 5322 3.2.2)."""
    return value.replace("\r", "").replace("\n", "")


def _one_line(value: str) -> str:
    """Every run of whitespace (line breaks included) as one space, trimmed."""
    return _FOLDING.sub(" ", value).strip()


def _decode_header(value: str, hint: str | None = None) -> str:
    """A raw header value as text: 8-bit bytes decoded, unfolded, encoded words decoded."""
    return _decode_words(_unfold(_from_wire(value, hint)))


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, leniently.

    Whitespace between two encoded words is dropped (RFC 2047 6.2), as is the
    missing space some mailers leave between them. Adjacent words in the same
    charset are decoded together, since senders split multibyte characters
    across words. A word that cannot be decoded is kept as written.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(_decode_bytes(bytes(pending), pending_charset)[0])
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(value):
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            continue  # left in the text between words, as written
        gap = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 "*lang" suffix
        if pending_charset is not None and not gap.strip():
            if charset != pending_charset:
                flush()
        else:
            flush()
            out.append(gap)
        pending_charset = charset
        pending.extend(data)
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of one encoded word, or None when its encoding is broken beyond repair."""
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        if text.strip(" =") and not cleaned:
            return None
        if len(cleaned) % 4 == 1:  # a stray character; a missing "=" is padded below
            cleaned = cleaned[:-1]
        try:
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            return None
    return binascii.a2b_qp(text.encode("utf-8"), header=True)


_ADDRESS_HEADERS = ("from", "sender", "return-path", "to", "cc", "reply-to")


def _bound_address_headers(raw_headers: dict[str, list[str]], defects: _Defects) -> None:
    """Cut address headers longer than ``MAX_ADDRESS_HEADER`` after a whole address.

    Address parsing is linear but slow (a 1 MB To of 50,000 addresses costs
    seconds); a list that long is not a real mail's, and its first few
    thousand addresses say all there is.
    """
    for name in _ADDRESS_HEADERS:
        values = raw_headers.get(name, [])
        for index, value in enumerate(values):
            if len(value) > MAX_ADDRESS_HEADER:
                cut = value[:MAX_ADDRESS_HEADER]
                comma = cut.rfind(",")
                values[index] = cut[:comma] if comma > 0 else cut
                defects.add(
                    f"{name} header of {len(value)} characters cut after its first addresses"
                )


def _raw_headers(message: email.message.Message) -> dict[str, list[str]]:
    """Every raw header value by lower-cased name, in order."""
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        found.setdefault(name.strip().lower(), []).append(value)
    return found


# --------------------------------------------------------------------------
# Addresses and Message-IDs
# --------------------------------------------------------------------------

_ADDRESS_SPEC = re.compile(r"(?:\"[^\"\\]*\"|[^\s@\"<>(),;:\[\]\\]+)@[^\s@\"<>(),;:\\]+")
#: A bare local part (``MAILER-DAEMON``) counts only when it looks like a mailbox name.
_LOCAL_ONLY = re.compile(r"[a-z0-9][a-z0-9._+-]{0,63}")
_MSG_ID = re.compile(r"<([^<>]*)>")


def _mailboxes(raw_values: list[str], hint: str | None) -> list[tuple[str, str]]:
    """(display name, address) pairs of address header values, leniently.

    The stdlib splits the list on the raw value (before RFC 2047 decoding, so
    an encoded comma in a name cannot split it); names are decoded after.
    Addresses are lower-cased; a garbled one ("Test test@example.com") keeps
    its last token holding an ``@``; one that is still not an address is
    returned as "" for the caller to skip.
    """
    values = [_unfold(_from_wire(value, hint)) for value in raw_values]
    pairs: list[tuple[str, str]] = []
    for name, address in email.utils.getaddresses(values):
        address = address.strip().strip("<>").strip()
        if not _ADDRESS_SPEC.fullmatch(address) and any(ch.isspace() for ch in address):
            tokens = [token for token in address.split() if "@" in token]
            address = tokens[-1].strip("<>") if tokens else ""
        address = address.lower()
        if not (_ADDRESS_SPEC.fullmatch(address) or _LOCAL_ONLY.fullmatch(address)):
            address = ""
        pairs.append((_clean(_one_line(_decode_words(name))), _clean(address)))
    return pairs


def _address_list(raw_values: list[str], hint: str | None) -> tuple[str, ...]:
    """Every full address (with a domain) in the headers, in order, without repeats."""
    seen: dict[str, None] = {}
    for _, address in _mailboxes(raw_values, hint):
        if "@" in address:
            seen.setdefault(address, None)
    return tuple(seen)


def _sender(raw_headers: dict[str, list[str]], hint: str | None) -> tuple[str, str]:
    """The sender's address and display name: From, else Sender, else Return-Path.

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
    candidates = {
        name: _mailboxes(raw_headers[name], hint)
        for name in ("from", "sender", "return-path")
        if name in raw_headers
    }
    for wanted_domain in (True, False):
        for mailboxes in candidates.values():
            for name, address in mailboxes:
                if address and ("@" in address) == wanted_domain:
                    return address, name
    if "from" in candidates:
        # A null sender (``From: <>``, ``From: MAILER-DAEMON <>``): bounces from
        # some gateways look like this. The rules still need to see them.
        names = [name for name, _ in candidates["from"] if name]
        return "", names[0] if names else ""
    raise UnparseableMail("no sender address")


def _msg_ids(value: str) -> list[str]:
    """Message-IDs in a header value, brackets stripped.

    Bracketed ids are taken; without any brackets, bare tokens holding an
    ``@`` are (some mailers omit the brackets).
    """
    ids = [re.sub(r"\s+", "", found) for found in _MSG_ID.findall(value)]
    ids = [found for found in ids if found]
    if not ids and "<" not in value:
        ids = [token for token in value.split() if "@" in token]
    return [_clean(_cut(found, _MAX_ID_CHARS)) for found in ids]


def _message_id(raw_value: str) -> str:
    """The mail's own Message-ID, brackets stripped, or "" when there is none."""
    value = _unfold(_from_wire(raw_value)).strip()
    ids = _MSG_ID.findall(value)
    found = re.sub(r"\s+", "", ids[0]) if ids else re.sub(r"\s+", "", value)
    return _clean(_cut(found, _MAX_ID_CHARS))


def _references(raw_values: list[str], defects: _Defects) -> tuple[str, ...]:
    """Every Message-ID of References, in order, without repeats.

    A hostile mail may list thousands; only the first and the last ones are
    kept (the root and the nearest parents, what threading needs).
    """
    seen: dict[str, None] = {}
    for value in raw_values:
        for found in _msg_ids(_unfold(_from_wire(value))):
            seen.setdefault(found, None)
    ids = tuple(seen)
    if len(ids) > MAX_REFERENCES:
        defects.add(f"References lists {len(ids)} ids; kept the first and last {MAX_REFERENCES}")
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def _content_type(message: email.message.Message, raw_value: str | None) -> str:
    """The top-level Content-Type: the media type lower-cased, parameters as written.

    Without the header (or with one the stdlib cannot read) it is the RFC 2045
    default, ``text/plain``, so that rules need no special case.
    """
    media = message.get_content_type()
    if raw_value is None:
        return media
    written = _clean(_one_line(_decode_header(raw_value)))
    _, semicolon, params = written.partition(";")
    params = params.strip().strip(";").strip()
    return f"{media}; {params}" if semicolon and params else media


# --------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------

#: Labels read as a superset, as browsers and mail clients do (WHATWG Encoding):
#: mislabelled text is usually in the vendor superset of the labelled charset.
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859_1": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}
#: Labels Python does not know, with the charset they mean.
_ALIASES = {
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "x-mac-roman": "mac_roman",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949",
    "x-gbk": "gb18030",
    "ansi_x3.4-1968": "ascii",
}
#: Charsets tried when the labelled one fails: mail in one script is often
#: labelled with a sibling encoding of that script.
_SIBLINGS = {
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "cp932", "euc_jp"),
    "cp932": ("euc_jp",),
    "euc_jp": ("cp932",),
    "gb18030": ("big5hkscs",),
    "big5hkscs": ("gb18030",),
}
_NON_ASCII_TEXT = re.compile("[\u0080-\ufffc\ufffe-\U0010ffff]")


@functools.lru_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown or not a text charset."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13 ...
        return None
    return _SUPERSETS.get(info.name.replace("-", "_"), info.name)


@functools.lru_cache(maxsize=256)
def _single_byte(codec: str) -> bool:
    """True for codecs mapping each 8-bit byte to a character (latin-x, cp125x, koi8 ...).

    7-bit codecs (ascii, utf-7, iso-2022-jp) and multibyte ones are not.
    """
    if codec == "utf-8":
        return False
    try:
        text = bytes(range(0x80, 0x100)).decode(codec, "replace")
    except Exception:  # a codec that refuses even with "replace"
        return False
    return len(text) == 0x80 and text.count("\ufffd") < 0x40


def _decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode text bytes; never raises. Returns the text and a defect note, if any.

    Order: a multibyte or 7-bit declared charset (utf-8, CJK, utf-16,
    iso-2022-jp) first; unlabelled ISO-2022-JP escapes are recognised. Then
    utf-8: bytes that decode as utf-8 are utf-8 with near certainty, whatever
    the label says, so utf-8 also comes first when the label is missing,
    unknown (``unknown-8bit``, ``x-user-defined``) or a single-byte charset
    (latin-x text is practically never valid utf-8). Then the siblings of a
    CJK label (Japanese mail labelled iso-2022-jp is often Shift_JIS), then
    the declared charset with replacement characters. With no usable label,
    or a utf-8 label on bytes that are not utf-8: cp1252 (latin-1 where cp1252
    has holes), unless the bytes are mostly utf-8 with a few broken sequences.
    """
    if not data:
        return "", None
    codec = _codec(label)
    multibyte = codec is not None and not _single_byte(codec)
    first: list[str] = []
    if codec is not None and multibyte:
        first.append(codec)
    elif b"\x1b$" in data or b"\x1b(" in data:
        first.append("iso2022_jp_ext")  # 7-bit Japanese sent without a label
    for candidate in first:
        try:
            text = data.decode(candidate)
        except (UnicodeError, LookupError):
            continue
        return text, None if candidate == codec else f"{_what(label)}: decoded as {candidate}"
    # Pure ASCII "decodes as utf-8" too, which proves nothing against a 7-bit
    # label (iso-2022-jp with a character outside the codec's table).
    if not (multibyte and data.isascii()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return text, f"{_what(label)} does not fit: decoded as utf-8" if multibyte else None
    for sibling in _SIBLINGS.get(codec or "", ()):
        if data.isascii() and not sibling.startswith("iso2022"):
            continue  # an ASCII-based codec would return the escapes as they are
        try:
            return data.decode(sibling), f"{_what(label)} does not fit: decoded as {sibling}"
        except (UnicodeError, LookupError):
            continue
    if codec is not None and codec != "utf-8":
        try:
            text = data.decode(codec, "replace")
        except (UnicodeError, LookupError):
            pass
        else:
            return text, f"{_what(label)}: invalid bytes replaced" if multibyte else None
    text, guessed = _guess_8bit(data)
    return text, f"{_what(label)}: decoded as {guessed}"


def _what(label: str | None) -> str:
    return f"charset {_cut(label, 40)!r}" if label else "no charset"


def _guess_8bit(data: bytes) -> tuple[str, str]:
    """Text bytes that are not valid utf-8 and carry no usable label."""
    as_utf8 = data.decode("utf-8", "replace")
    broken = as_utf8.count("\ufffd")
    if len(_NON_ASCII_TEXT.findall(as_utf8)) > broken:
        return as_utf8, "utf-8 with replacement characters"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


# --------------------------------------------------------------------------
# Bodies and attachments
# --------------------------------------------------------------------------

_BODY_TYPES = ("text/plain", "text/html")
_EXTENSIONS = {
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "text/plain": ".txt",
    "text/rfc822-headers": ".txt",
}
# Built-in table only: the system's /etc/mime.types would make generated names
# differ between machines.
_MIME_TYPES = mimetypes.MimeTypes(filenames=())
_PATH_SEPARATORS = re.compile(r"[/\\]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


class _Body:
    """Walks the MIME tree once, collecting text, HTML and attachments in order.

    The walk is iterative and bounded (``MAX_DEPTH``, ``MAX_PARTS``) so that
    an endlessly nested mail neither recurses nor runs long. Parts under a
    ``message/*`` part are not walked: the embedded mail (a forwarded mail, a
    bounced original) is one ``.eml`` attachment, and its text is not the
    sender's text.
    """

    def __init__(self, defects: _Defects, hint: str | None) -> None:
        self.defects = defects
        self.hint = hint
        self.plain: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []

    def walk(self, root: email.message.Message) -> None:
        stack: list[tuple[email.message.Message, int, bool]] = [(root, 0, False)]
        index = 0
        while stack:
            part, depth, in_attachment = stack.pop()
            index += 1
            if index > MAX_PARTS:
                self.defects.add(f"more than {MAX_PARTS} MIME parts; the rest ignored")
                return
            ctype = part.get_content_type()
            for defect in part.defects:
                self.defects.add(f"part {index} {ctype}: {type(defect).__name__}")
            if ctype.startswith("multipart/") and part.is_multipart():
                if depth >= MAX_DEPTH:
                    self.defects.add(f"MIME nested deeper than {MAX_DEPTH}; inner parts ignored")
                    continue
                inside = in_attachment or part.get_content_disposition() == "attachment"
                payload = part.get_payload()
                children = [child for child in payload if isinstance(child, email.message.Message)]
                stack.extend((child, depth + 1, inside) for child in reversed(children))
                continue
            self._leaf(part, ctype, index, in_attachment)

    def _leaf(
        self, part: email.message.Message, ctype: str, index: int, in_attachment: bool
    ) -> None:
        disposition = part.get_content_disposition()
        filename = _filename(part, part.get_content_charset() or self.hint)
        if ctype.startswith("multipart/"):
            # A multipart whose boundary never shows: the stdlib keeps its body
            # as one text; that text is the best there is.
            ctype = "text/plain"
        if (
            ctype in _BODY_TYPES
            and disposition != "attachment"
            and filename is None
            and not in_attachment
        ):
            data = _payload_bytes(part)
            text, note = _decode_bytes(data, part.get_content_charset())
            if note:
                self.defects.add(f"part {index} {ctype}: {note}")
            text = _clean(_LINE_BREAKS.sub("\n", text))
            if text.strip():
                (self.plain if ctype == "text/plain" else self.htmls).append(text)
            return
        content_id = _content_id(part)
        data = _payload_bytes(part)
        if filename is None and content_id is not None:
            named = _FILENAME_IN_CONTENT_ID.match(content_id)
            filename = _safe_filename(named.group(1)) if named else None
        name = filename or _generated_name(index, ctype)
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                inline=disposition == "inline" or (disposition is None and content_id is not None),
                content_id=content_id,
                payload=data,
            )
        )

    def text(self) -> str:
        """The plain text parts joined; without any, the HTML made readable."""
        if self.plain:
            return "\n".join(part.rstrip("\n") for part in self.plain)
        if self.htmls:
            return "\n".join(html_to_text(part) for part in self.htmls)
        return ""

    def html(self) -> str:
        return "\n".join(self.htmls)


def _payload_bytes(part: email.message.Message) -> bytes:
    """The decoded payload of a leaf part; for ``message/*`` the embedded mail's bytes."""
    if part.is_multipart():  # message/*: the stdlib parsed the embedded mail
        return _embedded_bytes(part)
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    wire = _wire_bytes(part)
    if encoding == "quoted-printable" and _LONE_CR.search(wire):
        # CR-only line ends (old Mac mail): binascii stops decoding at "=\r",
        # silently dropping the rest of the part.
        return binascii.a2b_qp(_LONE_CR.sub(b"\n", wire))
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return b""
    if encoding in _UU_ENCODINGS and data == wire:  # the stdlib gave up: no "begin" line
        return _uudecode_bare(wire)
    return data


_LONE_CR = re.compile(rb"\r(?!\n)")


def _wire_bytes(part: email.message.Message) -> bytes:
    """The part's body as received, before any transfer decoding.

    ``compat32`` keeps it in ``_payload`` as ASCII text with 8-bit bytes
    escaped as surrogates; the public ``get_payload()`` re-decodes 8-bit
    content with the declared charset, so it is not the wire any more.
    """
    payload = getattr(part, "_payload", None)
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


_UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def _uudecode_bare(wire: bytes) -> bytes:
    """Uudecode lines that lack the ``begin``/``end`` frame (old Mac mailers send that)."""
    out = bytearray()
    for line in wire.splitlines():
        if not line.strip() or line.startswith(b"begin "):
            continue
        if line.strip() == b"end":
            break
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Broken encoders pad lines; decode only the length the line announces.
            try:
                out += binascii.a2b_uu(line[: (((line[0] - 32) & 63) * 4 + 5) // 3])
            except binascii.Error:
                return wire
    return bytes(out)


class _AsReceived(email.policy.Compat32):
    """Writes each header line back exactly as it was received (no re-folding).

    Re-folding through ``email.header.Header`` changes nothing a reader sees
    but costs more than the parse itself on bounces that embed the original.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        return f"{name}: {value}{self.linesep}".encode("utf-8", "surrogateescape")


_AS_RECEIVED = _AsReceived(linesep="\n")


def _embedded_bytes(part: email.message.Message) -> bytes:
    """The body of a ``message/*`` part (an embedded mail), written back to bytes.

    The whole part is written back and its own header block cut off; header
    lines and 8-bit bytes are kept as received.
    """
    buffer = io.BytesIO()
    try:
        email.generator.BytesGenerator(buffer, mangle_from_=False, policy=_AS_RECEIVED).flatten(
            part
        )
    except (RecursionError, LookupError, UnicodeError, ValueError, TypeError):
        return b""
    flat = buffer.getvalue()
    if len(part) == 0:
        return flat[1:]
    _, separator, body = flat.partition(b"\n\n")
    return body if separator else b""


def _filename(part: email.message.Message, hint: str | None) -> str | None:
    """The part's file name, decoded (RFC 2231, RFC 2047, raw 8-bit), without a path.

    The stdlib turns raw 8-bit bytes in a parameter into U+FFFD before the
    RFC 2231 step, so such headers are decoded first (with the part's or the
    mail's charset) and the parameters read from that decoded copy.
    """
    source = part
    params = [
        (name, value)
        for name, value in part.raw_items()
        if name.lower() in ("content-type", "content-disposition")
    ]
    if any("\x1b" in value or _SURROGATES.search(value) for _, value in params):
        source = email.message.Message()
        for name, value in params:
            source[name] = _from_wire(value, hint)
    found = source.get_filename()
    if found is None:
        return None
    return _safe_filename(_decode_words(_from_wire(_unfold(str(found)), hint)))


def _safe_filename(name: str) -> str | None:
    """``name`` without directories, control characters and excess length; None if empty."""
    name = _PATH_SEPARATORS.split(name)[-1]
    name = _CONTROL_CHARS.sub("", _clean(name)).strip()
    return _cut(name, _MAX_FILENAME_CHARS) if name else None


def _content_id(part: email.message.Message) -> str | None:
    values = [value for name, value in part.raw_items() if name.lower() == "content-id"]
    if not values:
        return None
    found = _one_line(_from_wire(values[0])).strip("<> ")
    return _clean(_cut(found, _MAX_ID_CHARS)) or None


#: Outlook names pasted images in their Content-ID: ``<image001.png@01D4...>``.
_FILENAME_IN_CONTENT_ID = re.compile(r"([^@/\\\s]{1,200}\.[A-Za-z][A-Za-z0-9]{0,4})@")


def _generated_name(index: int, ctype: str) -> str:
    """A stable name for an unnamed part: ``part-<walk position><extension>``."""
    extension = _EXTENSIONS.get(ctype) or _MIME_TYPES.guess_extension(ctype) or ".bin"
    return f"part-{index}{extension}"


# --------------------------------------------------------------------------
# HTML to text
# --------------------------------------------------------------------------

#: Elements whose content is not text for a reader.
_SKIPPED_TAGS = frozenset({"style", "script", "title", "template"})
_BREAK_TAGS = frozenset(
    {
        "br",
        "div",
        "li",
        "tr",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "center",
    }
)
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})
# Every pattern stops at the next "<" or ">", so that scanning is linear
# whatever the markup (the stdlib HTMLParser of Python 3.11 is quadratic on
# unterminated tags such as "<a<a<a...": a 1 MB body ran for minutes).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>?")
_OTHER_MARKUP = re.compile(r"<[!?/][^<>]*>?")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_CLOSING_TAGS = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in _SKIPPED_TAGS}


def html_to_text(html: str) -> str:
    """Readable text of an HTML body, for mails that carry no plain-text part.

    Tags are stripped, ``<style>``/``<script>``/``<title>`` and comments
    dropped, block elements (``<p>``, ``<div>``, ``<li>`` ...) start a new line
    (``<p>`` and tables a paragraph) and each ``<br>`` breaks one, entities
    are unescaped, and an ``http(s)`` link target hidden behind link text is
    kept in parentheses after it (support needs the URL of a report). A
    single linear scan: hostile markup cannot make it slow.
    """
    out = _TextOut()
    link: str | None = None
    link_start = 0
    position, length = 0, len(html)
    while position < length:
        start = html.find("<", position)
        if start < 0:
            start = length
        if start > position:
            out.text(unescape(html[position:start]))
        if start >= length:
            break
        if html.startswith("<!--", start):
            close = html.find("-->", start + 4)
            position = length if close < 0 else close + 3
            continue
        tag = _TAG.match(html, start)
        if tag is None:
            other = _OTHER_MARKUP.match(html, start)
            if other is None:  # a lone "<" is text
                out.text("<")
                position = start + 1
            else:
                position = other.end()
            continue
        position = tag.end()
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name in _SKIPPED_TAGS and not closing:
            skipped = _CLOSING_TAGS[name].search(html, position)
            if skipped is not None:
                position = skipped.end()
            continue
        if name == "br":
            out.line_break()
        elif name == "pre":
            out.pre_depth = max(0, out.pre_depth + (-1 if closing else 1))
            out.block(1)
        elif name in _PARAGRAPH_TAGS:
            out.block(2)
        elif name in _BREAK_TAGS:
            out.block(1)
        if name == "li" and not closing:
            out.text("- ")
        elif name in ("td", "th") and not closing:
            out.text(" ")
        elif name == "a" and not closing:
            href = _HREF.search(tag.group(3))
            target = next((g for g in href.groups() if g is not None), "") if href else ""
            target = unescape(target).strip()
            link = target if target.lower().startswith(("http://", "https://")) else None
            link_start = len(out.chunks)
        elif name == "a" and link is not None:
            # Keep the target of a link whose text hides it: a URL is often
            # what support needs from a report.
            shown = "".join(out.chunks[link_start:]).strip()
            if shown and link.rstrip("/") not in shown:
                out.text(f" ({link})")
            link = None
    return out.result()


class _TextOut:
    """Text being written by ``html_to_text``, with line breaks owed but not yet written.

    Block boundaries only owe line breaks (the most owed wins, so nested
    ``<div>``s give one break, not five); ``<br>`` adds one each. They are
    written before the next visible text, so markup never yields runs of
    empty lines or trailing blanks.
    """

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.owed = 0
        self.pre_depth = 0

    def block(self, breaks: int) -> None:
        self.owed = max(self.owed, breaks)

    def line_break(self) -> None:
        self.owed += 1

    def text(self, data: str) -> None:
        if self.pre_depth:
            data = data.replace("\u00a0", " ")
        else:
            data = _SPACES.sub(" ", data)
            if self.owed or not self.chunks or self.chunks[-1].endswith((" ", "\n")):
                data = data.lstrip(" ")  # one space between words, none at a line start
        if not data:
            return
        if self.owed and self.chunks:
            self.chunks.append("\n" * min(self.owed, 2))
        self.owed = 0
        self.chunks.append(data)

    def result(self) -> str:
        joined = _TRAILING_SPACES.sub("\n", "".join(self.chunks))
        return _clean(_BLANK_LINES.sub("\n\n", joined).strip("\n").rstrip())


# --------------------------------------------------------------------------
# Defects
# --------------------------------------------------------------------------


class _Defects:
    """Short, bounded, de-duplicated notes on what was wrong with the mail."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}
        self._dropped = 0

    def add(self, note: str) -> None:
        note = _clean(_cut(_one_line(note), _MAX_DEFECT_CHARS))
        if note in self._items:
            return
        if len(self._items) >= MAX_DEFECTS:
            self._dropped += 1
            return
        self._items[note] = None

    def extend(self, notes: list[str]) -> None:
        for note in notes:
            self.add(note)

    def as_tuple(self) -> tuple[str, ...]:
        items = tuple(self._items)
        if self._dropped:
            items += (f"{self._dropped} more defects not listed",)
        return items
