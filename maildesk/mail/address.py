"""The sender's address: the addr-spec of the From header, read strictly (RFC 5322 3.4).

The display name is text for people; it never supplies the address. Lenient
parsers get this wrong in ways an attacker can use: the stdlib reads
``From: it@acme.example <mallory@evil.example>`` as it@acme.example, and an
encoded display name that decodes to ``Eve\\r\\nBcc: n@evil.example`` as a
group holding ``_n@evil.example?=``. Here the tokens are read before any
RFC 2047 decoding (an encoded word is one atom of the display name, whatever
it holds), and the address is only ever what stands in angle brackets, or the
bare addr-spec when there are none.

A From that is suspicious is still read, but flagged (``flags``): several
addresses, a display name that holds an address other than the addr-spec
(phishing: ``"it@acme.example" <mallory@evil.example>``), a display name that
decodes to a line break, or a From that the strict reading cannot read at all.
A flagged mail may not draw hours, answer a quote or approve work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_SPECIALS = '()<>[]:;@\\,."'
_ATOM = re.compile(r"[^\s()<>\[\]:;@\\,.\"]+")
_NAME_TOKEN_SEPARATORS = re.compile(r"[\s<>\"'(),;:\[\]]+")
_ADDRESS_TOKEN = re.compile(
    r"[^@]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+\.?"
)
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_NON_ASCII_LOCAL = re.compile(r"[^\s()<>\[\]:;@\\,\"]+")

SEVERAL_ADDRESSES = "several addresses in From"
NAME_HOLDS_ADDRESS = "the display name holds another address"
NAME_HOLDS_LINE_BREAK = "the display name holds a line break"
NOT_STRICT = "From cannot be read strictly"


@dataclass(frozen=True)
class FromHeader:
    """The strict reading of From: the first mailbox's address and name, and any flags."""

    address: str
    """The addr-spec, lower-cased; "" when From names no address."""
    display_name: str
    """The decoded display name, on one line (line breaks made spaces)."""
    flags: tuple[str, ...] = ()


@dataclass
class _Token:
    kind: str  # "atom", "quoted", "comment", "literal", "ew" (encoded word) or a special
    text: str


def _tokens(value: str) -> list[_Token] | None:
    """Tokens of an address header value; None when quotes, comments or brackets do not close."""
    out: list[_Token] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch.isspace():
            i += 1
            continue
        word = _ENCODED_WORD.match(value, i)
        if word is not None:
            out.append(_Token("ew", word.group()))
            i = word.end()
            continue
        if ch == '"':
            j, buf = i + 1, []
            while j < n and value[j] != '"':
                if value[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(value[j])
                j += 1
            if j >= n:
                return None
            out.append(_Token("quoted", "".join(buf)))
            i = j + 1
            continue
        if ch == "(":
            depth, j, buf = 1, i + 1, []
            while j < n and depth:
                c = value[j]
                if c == "\\" and j + 1 < n:
                    j += 1
                    c = value[j]
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                if depth:
                    buf.append(c)
                j += 1
            if depth:
                return None
            out.append(_Token("comment", "".join(buf)))
            i = j
            continue
        if ch == "[":
            j = value.find("]", i)
            if j < 0:
                return None
            out.append(_Token("literal", value[i : j + 1]))
            i = j + 1
            continue
        if ch in _SPECIALS:
            out.append(_Token(ch, ch))
            i += 1
            continue
        atom = _ATOM.match(value, i)
        assert atom is not None
        out.append(_Token("atom", atom.group()))
        i = atom.end()
    return out


def _split_mailboxes(tokens: list[_Token]) -> list[list[_Token]]:
    """The mailboxes of a list: split at top-level commas; group names and ``;`` dropped."""
    boxes: list[list[_Token]] = [[]]
    angle = False
    for token in tokens:
        if token.kind == "<":
            angle = True
        elif token.kind == ">":
            angle = False
        if not angle and token.kind == ",":
            boxes.append([])
            continue
        if not angle and token.kind == ":":
            boxes[-1] = []  # "group name:" — the mailboxes follow
            continue
        if not angle and token.kind == ";":
            boxes.append([])
            continue
        boxes[-1].append(token)
    return [box for box in boxes if any(t.kind != "comment" for t in box)]


def _dotted(tokens: Sequence[_Token]) -> bool:
    """Atoms separated by single dots (``a.b.c``), as a dot-atom is written."""
    kinds = [t.kind for t in tokens]
    return bool(kinds) and all(k == ("atom" if i % 2 == 0 else ".") for i, k in enumerate(kinds))


def _addr_spec(tokens: Sequence[_Token]) -> str | None:
    """``local@domain`` from tokens (comments ignored), or None when not an addr-spec."""
    parts = [t for t in tokens if t.kind != "comment"]
    at = [i for i, t in enumerate(parts) if t.kind == "@"]
    if len(at) != 1 or at[0] == 0 or at[0] == len(parts) - 1:
        return None
    local_tokens, domain_tokens = parts[: at[0]], parts[at[0] + 1 :]
    if len(local_tokens) == 1 and local_tokens[0].kind == "quoted":
        local = '"' + local_tokens[0].text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        if not _dotted(local_tokens):
            return None
        local = "".join(t.text for t in local_tokens)
        if not (_DOT_ATOM.fullmatch(local) or _NON_ASCII_LOCAL.fullmatch(local)):
            return None
    if len(domain_tokens) == 1 and domain_tokens[0].kind == "literal":
        domain = domain_tokens[0].text
    else:
        if not _dotted(domain_tokens):
            return None
        domain = "".join(t.text for t in domain_tokens)
        if not _DOMAIN.fullmatch(domain) and not _NON_ASCII_LOCAL.fullmatch(domain):
            return None
    return f"{local}@{domain}".lower()


def _mailbox(tokens: list[_Token], decode: Callable[[str], str]) -> tuple[str, str, bool] | None:
    """(address, display name, name holds an unquoted ``@``) of one mailbox, or None."""
    kinds = [t.kind for t in tokens]
    if "<" in kinds:
        start = kinds.index("<")
        if ">" not in kinds[start:]:
            return None
        end = start + kinds[start:].index(">")
        inner = tokens[start + 1 : end]
        route_end = max((i for i, t in enumerate(inner) if t.kind == ":"), default=-1)
        address = _addr_spec(inner[route_end + 1 :]) if inner else ""
        if address is None or any(t.kind != "comment" for t in tokens[end + 1 :]):
            return None
        phrase = tokens[:start]
        unquoted_at = any(t.kind == "@" for t in phrase)
        words = " ".join(t.text for t in phrase if t.kind in ("ew", "atom", "quoted", ".", "@"))
        name = decode(re.sub(r" ([.@]) ?" if unquoted_at else r" (\.)", r"\1", words))
        return address, name, unquoted_at
    address = _addr_spec(tokens)
    if address is None:
        return None
    comments = [t.text for t in tokens if t.kind == "comment"]
    return address, decode(comments[-1]) if comments else "", False


def _addresses_in(text: str) -> set[str]:
    """Address-like words of a display name (linear: split first, then match each word)."""
    if "@" not in text:
        return set()
    words = _NAME_TOKEN_SEPARATORS.split(text)
    return {w.lower().rstrip(".") for w in words if "@" in w and _ADDRESS_TOKEN.fullmatch(w)}


def parse_from(values: Sequence[str], decode: Callable[[str], str] = lambda s: s) -> FromHeader:
    """The strict reading of every From header value (unfolded text, words still encoded).

    ``decode`` decodes RFC 2047 encoded words (the caller's, so that charsets
    are handled one way throughout). Never raises: what cannot be read
    strictly gives an empty address and the ``NOT_STRICT`` flag.
    """
    flags: list[str] = []
    boxes: list[tuple[str, str, bool]] = []
    unreadable = False
    for value in values:
        tokens = _tokens(value.replace("\r", " ").replace("\n", " "))
        if tokens is None:
            unreadable = True
            continue
        for box in _split_mailboxes(tokens):
            found = _mailbox(box, decode)
            if found is None:
                unreadable = True
            else:
                boxes.append(found)
    if unreadable:
        flags.append(NOT_STRICT)
    if len(boxes) > 1:
        flags.append(SEVERAL_ADDRESSES)
    if not boxes:
        return FromHeader("", "", tuple(flags))
    address, name, unquoted_at = boxes[0]
    if "\r" in name or "\n" in name:
        flags.append(NAME_HOLDS_LINE_BREAK)
    named = _addresses_in(name)
    if named - {address} or (unquoted_at and not named):
        flags.append(NAME_HOLDS_ADDRESS)
    one_line = re.sub(r"[ \t]*[\r\n]+[ \t]*", " ", name).strip()
    return FromHeader(address, one_line, tuple(dict.fromkeys(flags)))
