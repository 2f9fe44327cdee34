"""HTML to text: readable text of an HTML body, for mails without a plain-text part.

A single linear scan instead of the stdlib HTMLParser (quadratic on
unterminated tags), so that hostile markup cannot make it slow.
"""

from __future__ import annotations

import re
from html import unescape

from maildesk.mail.text import clean

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
        return clean(_BLANK_LINES.sub("\n\n", joined).strip("\n").rstrip())
