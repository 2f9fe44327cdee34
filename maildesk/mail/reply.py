"""The new text of a reply: what the person typed above the quoted earlier mail.

Staff and clients answer in a ticket's thread from their own mail clients, and
every client quotes the earlier mail below the answer. maildesk relays only the
new text to the other side, and looks for staff commands (``#time 1h30``) only
there, so a ``#time`` line quoted from an earlier mail must never count again.

This module is the only one that imports ``mailparser_reply``. It uses the
library for what it knows best, the multilingual "quote header" that starts the
earlier mail: "On … wrote:", "Op … schreef:", "Le … a écrit :", "Am … schrieb
…:", Outlook's "From:/Sent:/To:/Subject:" block and "-----Original Message-----".
The rest is done here, line by line, on the original lines, because the
library strips every line (indentation of code and lists would be lost) and
because its sign-off rule cuts everything after a "Thanks," or "Best regards"
line, which could drop a staff command typed below a polite first sentence.

What :func:`extract_new_text` does, in order:

1. Line endings become LF.
2. The first quote header is looked for (the library's patterns for the given
   languages, plus a few of maildesk's own: "Name <address> wrote:" without a
   date, "-----Original Message-----" and forward markers in several
   languages) in a bounded view of the mail (see *Speed* below). The new text
   is everything above it; "Name: value" lines right above an Outlook block
   (a "Reply-To:" the library does not know) go with the block.
3. In the new text, a signature introduced by the standard ``-- `` delimiter
   line (or a bare ``--``) is cut off with everything below it.
4. From the end, repeatedly: blank lines, lone separator lines (``____``,
   ``-----``, ``***``), mobile trailers ("Sent from my iPhone", "Verstuurd
   vanaf mijn iPhone") and ``>`` quote blocks are peeled off, and so is a
   "wrote:" line left right above a peeled quote or the cut: one in a language
   the library does not know, or wrapped over up to four lines. It must end
   in a colon and carry a year, a time or an address.

Sign-offs ("Kind regards, Jan") are kept: they are part of what was typed.

Inline answers. When the lines below the first quote header open with a ``>``
quote and hold an answer (set off by a blank line) followed by more quoted
lines, the mail answers inline: those lines are kept, after the text typed
above the header if any, quoted lines and ``>`` marks included so each answer
keeps its question; only the quote after the last answer goes. A single quote
with text below it is a bottom-posted answer, not an inline one: the text is
taken only when nothing was typed above the header. Quoted lines therefore may
stay in the result: whoever reads commands from it must skip lines that start
with ``>`` (``ingest/commands.py`` does).

When nothing is left above the first quote header (bottom posting, or a
forward sent with nothing typed), the text between that header and the next
unquoted one is taken instead, without its leading ``>`` quote. When even that
is empty (a mail that is all quote), the whole mail is returned as it came,
quote marks kept: a mail is never reduced to nothing silently, and its quoted
lines still read as quotes. One case cannot be told apart: an Outlook reply
sent with nothing typed above "From:/Sent:" looks like a forward, and its
(unmarked) earlier mail is returned.

This is meant for replies in a thread. The first mail of a ticket, or a mail
forwarded into it, is best kept whole by the caller.

Speed. The library's "wrote:" patterns backtrack quadratically in the length of
a line that starts like a header ("On …", "Op …"; 0.1 s for one 1,000-character
line), and its search runs over the whole text. So the header search only sees
the first ``_HEADER_WINDOW`` (32 KiB) of the mail, each line stripped and cut to
``_HEADER_LINE_CAP`` (200) characters; real quote headers are shorter. A quote
header that starts only after the first 32 KiB is not recognised: such a mail
is kept whole (minus its trailing ``>`` quote and signature) rather than cut.
Everything else is linear in the size of the mail. Measured: the 750 KB
pathological quote of the github/email_reply_parser test set takes about 4 ms
(the library alone: 0.7 s with four languages, 2.7 s with all of them); 750 KB
of adversarial 200-character "Op Op Op …" lines about 0.4 s; one 750 KB line of
"On On On …", which the library alone does not finish in ten minutes, 4 ms.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import cast

from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage

__all__ = ["DEFAULT_LANGUAGES", "KNOWN_LANGUAGES", "extract_new_text"]

#: The languages of maildesk's providers and their clients (Belgium, the Netherlands).
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "nl", "fr", "de")

#: Language codes ``mailparser_reply`` has quote-header patterns for; a config
#: naming others should be refused at load time, not mail by mail.
KNOWN_LANGUAGES: frozenset[str] = frozenset(MAIL_LANGUAGES)

#: How much of the mail the header patterns are run over (see *Speed*).
_HEADER_WINDOW = 32 * 1024
#: Longest line, after stripping, that the header patterns see.
_HEADER_LINE_CAP = 200
#: At most this many "Name: value" lines above a matched Outlook block join it
#: (the library's block patterns know no "Reply-To:" and start below it).
_HEADER_BLOCK_REACH = 4
#: At most this many lines make up a wrapped "wrote:" line (see ``_dangling_header``).
_WRAPPED_HEADER_LINES = 4

#: A line quoted the usual way, at any depth, possibly indented.
_QUOTED = re.compile(r"^[ \t]*>")
#: A line that is only a separator: dashes, underscores, stars, hashes, tildes,
#: equals or pluses, or an invisible mark (Gmail's U+1427, zero-width space, BOM).
_SEPARATOR = re.compile(r"^[\s\-_*#~=+\u1427\u200b\ufeff]+$")
#: The signature delimiter, "-- " by convention; a bare "--" is common too.
_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]*$")
#: One line of an Outlook header block: a short field name, a colon, a value.
_FIELD_LINE = re.compile(r"^[\s>*]*[^\W\d_][\w -]{0,24}\*?\s?:\*?(?:\s|$)")

#: Quote headers the library's patterns miss, in maildesk's own languages
#: (searched together with the library's, on the same bounded view):
#: * "Name <address> wrote:" without the "On <date>" (Gmail, Google Inbox
#:   "… schrieb am <date>:", Dutch "… schreef … het volgende:"), which must
#:   carry an address so that a typed sentence ending in "wrote:" is not one;
#: * separator lines: "-----Original Message-----" in several languages (also
#:   Thunderbird's starred form), forward markers, Zoho's "---- On … wrote ----";
#: * Apple Mail's "Begin forwarded message:" and its translations.
_EXTRA_HEADER = re.compile(
    r"^(?=[^\n]*@)[> \t]*[^\s>][^\n]{0,160}?\b"
    r"(?:wrote|schreef|schrieb|geschreven|a\s+écrit)\b[^\n]{0,60}?[:：]$"
    r"|^[> \t*]*-{2,}[ \t]*(?:Original Message|Forwarded message|Oorspronkelijk bericht|"
    r"Doorgestuurd bericht|Message d'origine|Message transféré|Ursprüngliche Nachricht|"
    r"Weitergeleitete Nachricht|Originalnachricht|Mensaje original|Messaggio originale|"
    r"Mensagem original|On [^\n]{1,160}? wrote)[ \t]*-{2,}[ \t*]*$"
    r"|^[> \t]*(?:Begin forwarded message|Begin doorgestuurd bericht|"
    r"Début du message réexpédié|Anfang der weitergeleiteten Nachricht)[ \t]?:$",
    re.IGNORECASE | re.MULTILINE,
)

#: Mobile trailers beyond the library's "Sent from my" family, peeled off the end only.
_EXTRA_SENT_FROM = (
    r"Sent (?:from|with|via) (?:my |Outlook|Mail|Mailbox|Yahoo|Windows Mail|Airmail|mobile)"
    r"|Verstuurd (?:vanaf|met|van) mijn|Verzonden (?:met|vanaf|van) "
    r"|Von meinem .{1,40} gesendet|Envoyé (?:de|depuis) mon"
)

#: What a "wrote:" line carries and a sentence introducing a quote usually
#: lacks: a year, a time, an address.
_HEADER_EVIDENCE = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}[:.h]\d\d\b|@")
_HEADER_END = re.compile(r"[:：]\s*$")
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " ", "\u2007": " "})


def extract_new_text(text: str, languages: Sequence[str] = DEFAULT_LANGUAGES) -> str:
    """Return what the sender typed, without the quoted earlier mail and signature.

    ``languages`` are the codes whose quote headers are recognised (English is
    always included: most clients write their Outlook header in English). An
    unknown code raises ``ValueError``; see :data:`KNOWN_LANGUAGES`. The result
    has LF line endings, no leading blank lines and no trailing whitespace; it
    is empty only when the mail holds nothing but whitespace.
    """
    key = _language_key(languages)
    header_regex, sent_from = _header_regex(key), _sent_from_regex(key)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    first = next(_headers(lines, 0, header_regex), None)
    if first is None:
        return _join(_clean(lines, sent_from)) or _join(lines)
    above = _clean(lines[: first[0]], sent_from, cut=True)
    below_start = first[1] + 1
    if any(_FIELD_LINE.match(line) for line in lines[first[0] : below_start]):
        below_start = _skip_fields(lines, below_start)  # the rest of an Outlook block
    nxt = _first_unquoted_header(lines, below_start, header_regex)
    below = _clean(lines[below_start : len(lines) if nxt is None else nxt], sent_from)
    interleaved = _is_interleaved(below)
    if above:
        return _join([*above, "", *below] if interleaved else above)
    if below:
        # Nothing typed above the quote: a bottom-posted answer or a bare forward.
        return _join(below if interleaved else _after_leading_quote(below))
    return _join(lines)


def _language_key(languages: Sequence[str]) -> tuple[str, ...]:
    """A sorted, validated tuple of codes, usable as a cache key."""
    codes = {code.lower().strip() for code in languages}
    unknown = sorted(codes - KNOWN_LANGUAGES)
    if unknown:
        known = ", ".join(sorted(KNOWN_LANGUAGES))
        raise ValueError(f"no reply-header patterns for {unknown}; known: {known}")
    return tuple(sorted(codes | {"en"}))


@lru_cache(maxsize=32)
def _header_regex(languages: tuple[str, ...]) -> re.Pattern[str]:
    """The library's combined quote-header pattern for these languages (compiled once)."""
    message = EmailMessage(text="", languages=list(languages))
    return cast(re.Pattern[str], message.HEADER_REGEX)


@lru_cache(maxsize=32)
def _sent_from_regex(languages: tuple[str, ...]) -> re.Pattern[str]:
    """Mobile trailers ("Sent from my iPhone", "Verzonden vanaf mijn …") per language."""
    parts = [MAIL_LANGUAGES[code].get("sent_from", "") for code in languages]
    parts.append(_EXTRA_SENT_FROM)
    alternatives = "|".join(f"(?:{part})" for part in parts if part)
    return re.compile(rf"^[\s>]*(?:{alternatives}).{{0,120}}$", re.IGNORECASE)


def _headers(lines: list[str], start: int, regex: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Every quote header at or after ``start``, in order, as (first, last) line index.

    The patterns see a bounded view (see *Speed* in the module docstring): the
    first ``_HEADER_WINDOW`` characters from ``start``, every line stripped as
    the library itself does, with no-break spaces made plain (French clients
    put one before the colon of "a écrit :") and cut to ``_HEADER_LINE_CAP``.
    Lines keep their count, so a match maps back to line numbers. The search
    is lazy: taking the first header costs one search per pattern.
    """
    view: list[str] = []
    offsets: list[int] = []
    size = 0
    for line in lines[start:]:
        if size >= _HEADER_WINDOW:
            break
        offsets.append(size)
        view.append(line.translate(_SPACES).strip()[:_HEADER_LINE_CAP])
        size += len(view[-1]) + 1
    joined = "\n".join(view)
    spans = heapq.merge(
        *(
            (_line_span(offsets, match) for match in pattern.finditer(joined))
            for pattern in (regex, _EXTRA_HEADER)
        )
    )
    pending: tuple[int, int] | None = None
    for first, last in spans:
        if pending is not None and first <= pending[1] + 1:
            # Overlapping matches, or a forward marker right above a "From:" block.
            pending = (pending[0], max(pending[1], last))
            continue
        if pending is not None:
            yield _widen(lines, start, pending)
        pending = (first, last)
    if pending is not None:
        yield _widen(lines, start, pending)


def _line_span(offsets: list[int], match: re.Match[str]) -> tuple[int, int]:
    """First and last line index (in the view) of a match, ignoring its edge newlines."""
    group = match.group(0)
    begin = match.start() + len(group) - len(group.lstrip("\n"))
    end = max(begin, match.start() + len(group.rstrip("\n")) - 1)
    return bisect.bisect_right(offsets, begin) - 1, bisect.bisect_right(offsets, end) - 1


def _widen(lines: list[str], start: int, span: tuple[int, int]) -> tuple[int, int]:
    """A header's line span in ``lines``, with the lines the patterns leave above it.

    Those are "Name: value" lines above an Outlook block (the library's block
    pattern knows no "Reply-To:" and starts below it) and a separator such as
    "-----Original Message-----" right above. A "wrote:" line wrapped over two
    lines is not a block: a "URL: …" line typed right above it stays.
    """
    first, last = start + span[0], start + span[1]
    if last > first and _FIELD_LINE.match(lines[first]):
        reach = max(start, first - _HEADER_BLOCK_REACH)
        while first > reach and _FIELD_LINE.match(lines[first - 1]):
            first -= 1
    if first > start and _EXTRA_HEADER.match(lines[first - 1].translate(_SPACES).strip()):
        first -= 1
    return first, last


def _first_unquoted_header(lines: list[str], start: int, regex: re.Pattern[str]) -> int | None:
    """First line of the next quote header that is not itself inside a ``>`` quote."""
    return next(
        (first for first, _ in _headers(lines, start, regex) if not _QUOTED.match(lines[first])),
        None,
    )


def _skip_fields(lines: list[str], start: int) -> int:
    """Index of the first line below a header block's remaining "Name: value" lines.

    The library's block pattern stops one line after the last field it knows
    ("Subject:" wrapped onto two lines, then "To:" below it is left over).
    """
    while start < len(lines) and lines[start].strip() and _FIELD_LINE.match(lines[start]):
        start += 1
    return start


def _is_interleaved(lines: list[str]) -> bool:
    """Whether these lines (below a quote header) are an inline answer.

    They are when they open with a ``>`` quote and an answer, set off from the
    quote above it by a blank line, is followed by more quoted lines. A typed
    line glued to the quote line above it is taken for a quoted line the
    client re-wrapped, and text after the last quote (a bottom-posted answer,
    or a disclaimer the sender's server appended) does not make an inline
    answer on its own.
    """
    filled = [(i, line) for i, line in enumerate(lines) if line.strip()]
    if not filled or not _QUOTED.match(filled[0][1]):
        return False
    answered = False
    for (prev_index, prev), (index, line) in itertools.pairwise(filled):
        quoted = bool(_QUOTED.match(line))
        if quoted and answered:
            return True
        if not quoted and _QUOTED.match(prev) and index > prev_index + 1:
            answered = True
    return False


def _after_leading_quote(lines: list[str]) -> list[str]:
    """The lines from the first one that is not quoted: a bottom-posted answer."""
    for index, line in enumerate(lines):
        if line.strip() and not _QUOTED.match(line):
            return lines[index:]
    return []


def _clean(lines: list[str], sent_from: re.Pattern[str], *, cut: bool = False) -> list[str]:
    """Cut the signature, then peel quotes and trailers off the end; [] if nothing is left.

    ``cut`` says that a quote header was cut off right below these lines, so
    the end may hold the first lines of a header the patterns could not read
    whole (wrapped over three lines, say).
    """
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line):
            lines = lines[:index]
            break
    end = len(lines)
    below_quote = cut
    while end > 0:
        line = lines[end - 1]
        if not line.strip() or _SEPARATOR.match(line) or sent_from.match(line):
            end -= 1
        elif _QUOTED.match(line):
            while end > 0 and (_QUOTED.match(lines[end - 1]) or not lines[end - 1].strip()):
                end -= 1
            below_quote = True
        elif below_quote and (top := _dangling_header(lines, end)) < end:
            end, below_quote = top, False
        else:
            break
    start = 0
    while start < end and not lines[start].strip():
        start += 1
    return lines[start:end]


def _dangling_header(lines: list[str], end: int) -> int:
    """Move ``end`` above a "wrote:" line left right above a quote that was dropped.

    Catches the quote headers of languages the library does not know, and
    headers the client wrapped over several lines ("… <" / "address> wrote:",
    "Le 4 janv. 2016 19:03, "Name"" / "<address>" / "a écrit :"). The last line
    must end in a colon; each line above joins while it carries a year, a time
    or an address, as the lines of a header do and typed sentences seldom do.
    """
    if end == 0 or not _HEADER_END.search(lines[end - 1]):
        return end
    top = end - 1
    while (
        top > 0
        and end - top < _WRAPPED_HEADER_LINES
        and lines[top - 1].strip()
        and _HEADER_EVIDENCE.search(lines[top - 1])
    ):
        top -= 1
    if not any(_HEADER_EVIDENCE.search(line) for line in lines[top:end]):
        return end
    return top


def _join(lines: list[str]) -> str:
    """The lines as one text, without leading blank lines or trailing whitespace."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:]).rstrip()
