"""Headers: wire bytes, RFC 2047 encoded words, unfolding; addresses and Message-IDs.

Header values are read from the stdlib tree rather than by mail-parser, which
keeps only the first of repeated address headers and drops addresses without
a domain (``MAILER-DAEMON``).
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.utils
import re

from maildesk.mail.charsets import decode_bytes
from maildesk.mail.limits import MAX_ADDRESS_HEADER, MAX_ID_CHARS, MAX_REFERENCES, Defects
from maildesk.mail.text import clean, cut, one_line

SURROGATES = re.compile("[\udc80-\udcff]")
# The encoded text may hold whitespace: invalid, but mailers fold inside words
# and write spaces unencoded ("=?us-ascii?Q?ABC / 123?=").
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")


def from_wire(value: str, hint: str | None = None) -> str:
    """Header text as the stdlib keeps it (8-bit bytes as surrogates) to real text.

    Raw 8-bit headers (RFC 6532 utf-8, or whatever the mailer used for the
    body: ``hint``) and raw 7-bit ISO-2022-JP get the same charset handling as
    a body labelled ``hint``.
    """
    if "\x1b" not in value and SURROGATES.search(value) is None:
        return value
    data = value.encode("utf-8", "surrogateescape")
    return decode_bytes(data, hint)[0]


def unfold(value: str) -> str:
    """Remove the line breaks of folded header lines (RFC 5322 3.2.2)."""
    return value.replace("\r", "").replace("\n", "")


def decode_header(value: str, hint: str | None = None) -> str:
    """A raw header value as text: 8-bit bytes decoded, unfolded, encoded words decoded."""
    return decode_words(unfold(from_wire(value, hint)))


def decode_words(value: str) -> str:
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
            out.append(decode_bytes(bytes(pending), pending_charset)[0])
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


def bound_address_headers(raw_headers: dict[str, list[str]], defects: Defects) -> None:
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


def raw_headers(message: email.message.Message) -> dict[str, list[str]]:
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


def mailboxes(raw_values: list[str], hint: str | None) -> list[tuple[str, str]]:
    """(display name, address) pairs of address header values, leniently.

    The stdlib splits the list on the raw value (before RFC 2047 decoding, so
    an encoded comma in a name cannot split it); names are decoded after.
    Addresses are lower-cased; a garbled one ("Test test@example.com") keeps
    its last token holding an ``@``; one that is still not an address is
    returned as "" for the caller to skip.
    """
    values = [unfold(from_wire(value, hint)) for value in raw_values]
    pairs: list[tuple[str, str]] = []
    for name, address in email.utils.getaddresses(values):
        address = address.strip().strip("<>").strip()
        if not _ADDRESS_SPEC.fullmatch(address) and any(ch.isspace() for ch in address):
            tokens = [token for token in address.split() if "@" in token]
            address = tokens[-1].strip("<>") if tokens else ""
        address = address.lower()
        if not (_ADDRESS_SPEC.fullmatch(address) or _LOCAL_ONLY.fullmatch(address)):
            address = ""
        pairs.append((clean(one_line(decode_words(name))), clean(address)))
    return pairs


def address_list(raw_values: list[str], hint: str | None) -> tuple[str, ...]:
    """Every full address (with a domain) in the headers, in order, without repeats."""
    seen: dict[str, None] = {}
    for _, address in mailboxes(raw_values, hint):
        if "@" in address:
            seen.setdefault(address, None)
    return tuple(seen)


def msg_ids(value: str) -> list[str]:
    """Message-IDs in a header value, brackets stripped.

    Bracketed ids are taken; without any brackets, bare tokens holding an
    ``@`` are (some mailers omit the brackets). Encoded words are decoded
    first: Python's ``email`` package RFC 2047-encodes an In-Reply-To whose
    line passes 78 characters, as a long Message-ID makes it.
    """
    value = decode_words(value)
    ids = [re.sub(r"\s+", "", found) for found in _MSG_ID.findall(value)]
    ids = [found for found in ids if found]
    if not ids and "<" not in value:
        ids = [token for token in value.split() if "@" in token]
    return [clean(cut(found, MAX_ID_CHARS)) for found in ids]


def message_id(raw_value: str) -> str:
    """The mail's own Message-ID, brackets stripped, or "" when there is none."""
    value = unfold(from_wire(raw_value)).strip()
    ids = _MSG_ID.findall(value)
    found = re.sub(r"\s+", "", ids[0]) if ids else re.sub(r"\s+", "", value)
    return clean(cut(found, MAX_ID_CHARS))


def references(raw_values: list[str], defects: Defects) -> tuple[str, ...]:
    """Every Message-ID of References, in order, without repeats.

    A hostile mail may list thousands; only the first and the last ones are
    kept (the root and the nearest parents, what threading needs).
    """
    seen: dict[str, None] = {}
    for value in raw_values:
        for found in msg_ids(unfold(from_wire(value))):
            seen.setdefault(found, None)
    ids = tuple(seen)
    if len(ids) > MAX_REFERENCES:
        defects.add(f"References lists {len(ids)} ids; kept the first and last {MAX_REFERENCES}")
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def content_type(message: email.message.Message, raw_value: str | None) -> str:
    """The top-level Content-Type: the media type lower-cased, parameters as written.

    Without the header (or with one the stdlib cannot read) it is the RFC 2045
    default, ``text/plain``, so that rules need no special case.
    """
    media = message.get_content_type()
    if raw_value is None:
        return media
    written = clean(one_line(decode_header(raw_value)))
    _, semicolon, params = written.partition(";")
    params = params.strip().strip(";").strip()
    return f"{media}; {params}" if semicolon and params else media


def domain_of(address_or_id: str) -> str:
    """The part after the last ``@``, lower-cased, without brackets or spaces."""
    _, at, domain = address_or_id.strip().strip("<>").rpartition("@")
    return domain.strip().rstrip(">").lower() if at else ""


def local_part(address: str) -> str:
    """The part before the last ``@``, lower-cased; a bare ``MAILER-DAEMON`` is all local part."""
    bare = address.strip().strip("<>")
    local, at, _ = bare.rpartition("@")
    return (local if at else bare).lower()
