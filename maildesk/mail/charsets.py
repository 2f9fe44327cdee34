"""Charsets: decode text bytes with the declared charset, utf-8, cp1252/latin-1.

Decoding never raises and never silently drops characters (see ``decode_bytes``
for the order). Used for bodies, raw 8-bit headers and RFC 2047 encoded words.
"""

from __future__ import annotations

import codecs
import functools
import re

from maildesk.mail.text import cut

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


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
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
    return f"charset {cut(label, 40)!r}" if label else "no charset"


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
