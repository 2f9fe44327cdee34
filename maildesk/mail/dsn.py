"""What a bounce reports: which of our mails it is about and which recipients failed.

``rules/bounce.py`` decides *that* a mail is a bounce from its headers;
this module reads the raw mail for *what* it reports, so that the pipeline can
mark the outgoing mail failed and tell staff which address bounced. It walks
the raw MIME with the standard library (the DSN parts are not body text, so
the parsed ``InboundMail`` does not carry them).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from maildesk.mail.headers import local_part


@dataclass(frozen=True)
class BouncedRecipient:
    """One recipient a bounce reports on.

    ``action`` is the DSN Action (``failed``, ``delayed``, ``delivered``,
    ``relayed``, ``expanded``), or ``""`` when the bounce is not a standard DSN
    and only names the address. ``status`` is the DSN status code (``5.1.1``)
    when one could be read, else ``""``.
    """

    address: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def failed(self) -> bool:
        """True unless the report says the mail was delivered, relayed or delayed."""
        if self.action:
            return self.action == "failed"
        return not self.status.startswith(("2", "4"))


@dataclass(frozen=True)
class BounceDetails:
    """What a bounce says: which of our mails, and what happened per recipient."""

    original_message_ids: tuple[str, ...]
    recipients: tuple[BouncedRecipient, ...]

    @property
    def failed_recipients(self) -> tuple[BouncedRecipient, ...]:
        return tuple(r for r in self.recipients if r.failed)


_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_ADDRESS = (
    r"(?<![^\s<>()\[\]\"'`,;:=/])[^\s<>()\[\]\"'`,;:@]+@[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9-]+"
)
_ADDRESS_RE = re.compile(_ADDRESS)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_MESSAGE_ID_LINE = re.compile(r"^\s*message-id:\s*<?([^\s<>]+@[^\s<>]+)>?", re.I | re.M)
_ANGLE_ID = re.compile(r"<([^\s<>]+@[^\s<>]+)>")


def bounce_details(raw: bytes) -> BounceDetails | None:
    """Read a bounce's original Message-ID(s) and recipients from the raw mail.

    Recipients come from the ``message/delivery-status`` part of a standard
    DSN (Final-Recipient, Action, Status, Diagnostic-Code), else from Exim's
    ``X-Failed-Recipients``, else from DSN fields written into the text (MIME
    broken), else from the wording of common non-standard bounces (qmail,
    Postfix, Sendmail, Exim, Exchange, Notes texts), else from the To of the
    returned original (the bounce names nobody, so whom we wrote to). The
    original Message-ID comes from the returned message or its headers
    (``message/rfc822``, ``text/rfc822-headers``), else from a ``Message-ID:``
    line of a copy quoted in the text or anywhere in the body (a copy that
    broken MIME hid), else from the bounce's In-Reply-To/References.
    Returns None when nothing at all could be read. Never raises on odd MIME.
    """
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # the stdlib parser is lenient; this is a last resort
        return None
    original_ids: list[str] = []
    original_to: list[str] = []
    recipients: list[BouncedRecipient] = []
    texts: list[str] = []
    for part in _walk(message):
        content_type = part.get_content_type()
        if content_type in _DSN_TYPES:
            recipients.extend(_dsn_recipients(part))
        elif content_type in _ORIGINAL_TYPES:
            original_ids.extend(_original_ids(part))
            original_to.extend(_original_to(part))
        elif content_type in _HEADER_TYPES:
            original_ids.extend(_ids_from_text(_part_text(part), headers_only=True))
        elif not part.is_multipart() and part.get_content_maintype() in ("text", "multipart"):
            # text parts, and the unsplit body of a multipart whose boundary is broken
            texts.append(_part_text(part))
    text = "\n".join(texts).replace("\r\n", "\n").replace("\r", "\n")
    original_ids = (
        original_ids
        or _ids_from_text(text, headers_only=False)
        or _ids_from_text(_raw_body(raw), headers_only=False)
        or _reply_ids(message)
    )
    recipients = (
        recipients
        or _failed_recipients_header(message)
        or _inline_dsn_recipients(text)
        or _recipients_from_text(text, _own_addresses(message), frozenset(original_ids))
        or [BouncedRecipient(address=a, action="", status="") for a in original_to]
    )
    details = BounceDetails(
        original_message_ids=tuple(_unique(original_ids)),
        recipients=tuple(_unique_recipients(recipients)),
    )
    if not details.original_message_ids and not details.recipients:
        return None
    return details


_MAX_DEPTH = 20


def _walk(message: email.message.Message, depth: int = 0) -> Iterator[email.message.Message]:
    """Every part, but not inside a returned original (its parts are not the report).

    A report is shallow; hostile nesting below ``_MAX_DEPTH`` is not walked.
    """
    yield message
    if message.get_content_type() in _ORIGINAL_TYPES or depth >= _MAX_DEPTH:
        return
    payload = message.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, email.message.Message):
                yield from _walk(sub, depth + 1)


def _str(value: object) -> str:
    """A header value as text; compat32 gives ``Header`` objects for raw non-ASCII."""
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""


def _part_text(part: email.message.Message) -> str:
    """The decoded text of a leaf part (or the raw text of a parsed one), best effort."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join(
            "\n".join(f"{k}: {_str(v)}" for k, v in sub.items())
            for sub in payload
            if isinstance(sub, email.message.Message)
        )
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _field_blocks(text: str) -> list[dict[str, str]]:
    """RFC 3464 field groups (blank-line separated, folded lines joined), names lower-cased."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _dsn_recipients(part: email.message.Message) -> list[BouncedRecipient]:
    payload = part.get_payload()
    blocks: list[dict[str, str]]
    if isinstance(payload, list):
        blocks = [
            {k.lower(): " ".join(_str(v).split()) for k, v in sub.items()}
            for sub in payload
            if isinstance(sub, email.message.Message)
        ]
        # A base64/quoted-printable DSN body is not parsed into field groups
        # by the stdlib: decode it and read the groups ourselves.
        if not any("final-recipient" in b or "original-recipient" in b for b in blocks):
            blocks = _field_blocks(_part_text(part))
    else:
        blocks = _field_blocks(_part_text(part))
    return _block_recipients(blocks)


def _block_recipients(blocks: list[dict[str, str]]) -> list[BouncedRecipient]:
    """One recipient per per-recipient field group (those naming a recipient)."""
    found: list[BouncedRecipient] = []
    for block in blocks:
        address = _dsn_address(block.get("final-recipient", "")) or _dsn_address(
            block.get("original-recipient", "")
        )
        if not address:
            continue
        status_match = _STATUS.search(block.get("status", ""))
        status = status_match.group(1) if status_match else ""
        action = block.get("action", "").strip().lower().split(" ", 1)[0]
        if not action and status:
            action = {"2": "delivered", "4": "delayed"}.get(status[0], "failed")
        found.append(
            BouncedRecipient(
                address=address,
                action=action,
                status=status,
                diagnostic=block.get("diagnostic-code", ""),
            )
        )
    return found


def _dsn_address(value: str) -> str:
    """The address of a ``Final-Recipient: rfc822; user@example.org`` value."""
    _, _, rest = value.rpartition(";")
    match = _ADDRESS_RE.search(rest or value)
    return match.group(0).lower() if match else ""


def _original_ids(part: email.message.Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list):
        ids: list[str] = []
        for sub in payload:
            if isinstance(sub, email.message.Message):
                ids.extend(_ANGLE_ID.findall(_str(sub.get("message-id"))))
                if not ids and sub.get("message-id"):
                    ids.append(_str(sub.get("message-id")).strip().strip("<>"))
        return [i for i in ids if i]
    return _ids_from_text(_part_text(part), headers_only=True)


def _original_to(part: email.message.Message) -> list[str]:
    """The To of the returned original: whom our mail was for (a last resort)."""
    payload = part.get_payload()
    if not isinstance(payload, list) or not payload:
        return []
    first = payload[0]
    if not isinstance(first, email.message.Message):
        return []
    return [a.lower() for a in _ADDRESS_RE.findall(_str(first.get("to")))]


def _inline_dsn_recipients(text: str) -> list[BouncedRecipient]:
    """DSN fields written into the text itself (a bounce whose MIME is broken)."""
    if "final-recipient" not in text.lower():
        return []
    return _block_recipients(_field_blocks(text))


def _ids_from_text(text: str, *, headers_only: bool) -> list[str]:
    """``Message-ID:`` lines in text (a header block, or a copy quoted in a body)."""
    if headers_only:
        text = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    return [m.group(1) for m in _MESSAGE_ID_LINE.finditer(text)]


def _raw_body(raw: bytes) -> str:
    """Everything after the top header block, undecoded: a copy the MIME tree lost."""
    parts = re.split(rb"\r?\n\r?\n|\r\r", raw, maxsplit=1)
    return parts[1].decode("latin-1") if len(parts) == 2 else ""


def _reply_ids(message: email.message.Message) -> list[str]:
    """In-Reply-To, then References (newest last), of the bounce itself."""
    ids = _ANGLE_ID.findall(_str(message.get("in-reply-to")))
    references = _ANGLE_ID.findall(_str(message.get("references")))
    return ids + list(reversed(references))


def _failed_recipients_header(message: email.message.Message) -> list[BouncedRecipient]:
    found: list[BouncedRecipient] = []
    for value in message.get_all("x-failed-recipients") or []:
        found.extend(
            BouncedRecipient(address=a.lower(), action="failed", status="")
            for a in _ADDRESS_RE.findall(_str(value))
        )
    return found


def _own_addresses(message: email.message.Message) -> frozenset[str]:
    """Addresses of the bounce's own headers: never the failed recipient."""
    values = [_str(message.get(h)) for h in ("from", "to", "return-path", "sender", "reply-to")]
    return frozenset(a.lower() for v in values for a in _ADDRESS_RE.findall(v))


# Where the human-readable part of a non-standard bounce ends and the copy of
# the original (whose From/To are not failures) begins.
_COPY_START = re.compile(
    r"""^\s*(
        -+\s*(original\s+message|below\s+this\s+line|this\s+is\s+a\s+copy|
              the\s+original\s+message|message\s+text|returned\s+message|
              unsent\s+message)
        |below\s+this\s+line\s+is\s+a\s+copy
        |-+\s*(original|returned)\b
        |(original|returned)\s+message\s+(follows|headers)
        |message\s+headers\s+follow
    )""",
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)
# Address shapes of the common non-standard bounce texts, most specific first.
_TEXT_PATTERNS = (
    # qmail, Postfix without DSN, many others: "<user@example.org>:" or "<user@example.org> ..."
    re.compile(rf"^\s*<({_ADDRESS})>", re.MULTILINE),
    # Exim: the address alone on an indented line
    re.compile(rf"^[ \t]+({_ADDRESS})\s*$", re.MULTILINE),
    # "RCPT TO:<user@example.org>" in a transcript
    re.compile(rf"RCPT\s+TO:\s*<?({_ADDRESS})", re.IGNORECASE),
    # "... to/for/recipient: user@example.org" (loose from here on)
    re.compile(
        rf"\b(?:recipient|address|to|for|user|mailbox)\s*(?:\(s\))?\s*[:=]?\s*[<'\"]?({_ADDRESS})",
        re.IGNORECASE,
    ),
    # Anything that looks like an address in the human-readable part
    re.compile(rf"({_ADDRESS})"),
)


def _recipients_from_text(
    text: str, exclude: frozenset[str], message_ids: frozenset[str]
) -> list[BouncedRecipient]:
    """The failed addresses named in a non-standard bounce's text.

    The bounce's own From/To are only excluded for the loose patterns, and
    postmaster-like addresses only for the loosest: an address in a bounce's
    failure line is the failure even when it is also the To (a mail we sent
    to ourselves) or a postmaster. Message-IDs look like addresses and are never recipients.
    """
    match = _COPY_START.search(text)
    notice = text[: match.start()] if match else text
    for index, pattern in enumerate(_TEXT_PATTERNS):
        loose = index >= _FIRST_LOOSE_PATTERN
        skip = message_ids | (exclude if loose else frozenset())
        addresses = [
            a.lower()
            for a in pattern.findall(notice)
            if a.lower() not in skip
            and a not in skip
            and not (index == len(_TEXT_PATTERNS) - 1 and local_part(a) in _NOT_RECIPIENTS)
        ]
        if addresses:
            status_match = _STATUS.search(notice)
            status = status_match.group(1) if status_match else ""
            return [BouncedRecipient(address=a, action="", status=status) for a in addresses]
    return []


_FIRST_LOOSE_PATTERN = 3
_NOT_RECIPIENTS = frozenset({"postmaster", "mailer-daemon", "abuse", "hostmaster"})


def _unique(items: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for item in items:
        if item and item not in seen:
            seen.add(item)
            yield item


def _unique_recipients(items: Iterable[BouncedRecipient]) -> Iterator[BouncedRecipient]:
    seen: set[str] = set()
    for item in items:
        if item.address not in seen:
            seen.add(item.address)
            yield item
