"""Bodies and attachments: one bounded walk of the MIME tree.

Text, HTML and attachments are read from the stdlib tree rather than by
mail-parser, which decodes text with errors ignored or replaced, names unnamed
attachments with random strings and mixes the text of attached forwarded
mails into the body.
"""

from __future__ import annotations

import binascii
import email.generator
import email.message
import email.policy
import hashlib
import io
import mimetypes
import re
from dataclasses import dataclass, field

from maildesk.mail.charsets import decode_bytes
from maildesk.mail.headers import SURROGATES, decode_words, from_wire, unfold
from maildesk.mail.html_text import html_to_text
from maildesk.mail.limits import MAX_DEPTH, MAX_FILENAME_CHARS, MAX_ID_CHARS, MAX_PARTS, Defects
from maildesk.mail.text import clean, cut, one_line


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


_BODY_TYPES = ("text/plain", "text/html")
_LINE_BREAKS = re.compile(r"\r\n?|\n")
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


class Body:
    """Walks the MIME tree once, collecting text, HTML and attachments in order.

    The walk is iterative and bounded (``MAX_DEPTH``, ``MAX_PARTS``) so that
    an endlessly nested mail neither recurses nor runs long. Parts under a
    ``message/*`` part are not walked: the embedded mail (a forwarded mail, a
    bounced original) is one ``.eml`` attachment, and its text is not the
    sender's text.
    """

    def __init__(self, defects: Defects, hint: str | None) -> None:
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
            text, note = decode_bytes(data, part.get_content_charset())
            if note:
                self.defects.add(f"part {index} {ctype}: {note}")
            text = clean(_LINE_BREAKS.sub("\n", text))
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
    if any("\x1b" in value or SURROGATES.search(value) for _, value in params):
        source = email.message.Message()
        for name, value in params:
            source[name] = from_wire(value, hint)
    found = source.get_filename()
    if found is None:
        return None
    return _safe_filename(decode_words(from_wire(unfold(str(found)), hint)))


def _safe_filename(name: str) -> str | None:
    """``name`` without directories, control characters and excess length; None if empty."""
    name = _PATH_SEPARATORS.split(name)[-1]
    name = _CONTROL_CHARS.sub("", clean(name)).strip()
    return cut(name, MAX_FILENAME_CHARS) if name else None


def _content_id(part: email.message.Message) -> str | None:
    values = [value for name, value in part.raw_items() if name.lower() == "content-id"]
    if not values:
        return None
    found = one_line(from_wire(values[0])).strip("<> ")
    return clean(cut(found, MAX_ID_CHARS)) or None


#: Outlook names pasted images in their Content-ID: ``<image001.png@01D4...>``.
_FILENAME_IN_CONTENT_ID = re.compile(r"([^@/\\\s]{1,200}\.[A-Za-z][A-Za-z0-9]{0,4})@")


def _generated_name(index: int, ctype: str) -> str:
    """A stable name for an unnamed part: ``part-<walk position><extension>``."""
    extension = _EXTENSIONS.get(ctype) or _MIME_TYPES.guess_extension(ctype) or ".bin"
    return f"part-{index}{extension}"
