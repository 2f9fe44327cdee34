"""Small header readers shared by the classification rules.

Not a rule itself (``classify.RULES`` names the rules explicitly). Kept here so
that each rule file reads as its decision and nothing else, and so that the
rules agree on details such as how a null Return-Path or the report-type of
a ``multipart/report`` is read.
"""

from __future__ import annotations

import re

from maildesk.mail.headers import domain_of as domain_of
from maildesk.mail.headers import local_part as local_part
from maildesk.mail.parse import InboundMail

_REPORT_TYPE = re.compile(r"""(?:^|;)\s*report-type\s*=\s*(?:"([^"]*)"|([^;\s]*))""", re.I)


def media_type(mail: InboundMail) -> str:
    """The top-level media type, lower-cased, without parameters."""
    raw = mail.header("content-type") or mail.content_type or ""
    return raw.split(";", 1)[0].strip().lower()


def report_type(mail: InboundMail) -> str | None:
    """The ``report-type`` of a top-level ``multipart/report`` (RFC 6522), else None."""
    if media_type(mail) != "multipart/report":
        return None
    match = _REPORT_TYPE.search(mail.header("content-type") or mail.content_type or "")
    if match is None:
        return ""
    return (match.group(1) if match.group(1) is not None else match.group(2)).strip().lower()


def null_return_path(mail: InboundMail) -> bool:
    """True when the envelope sender was empty (``Return-Path: <>``), as for DSNs."""
    return any(value.strip().strip("<>").strip() == "" for value in mail.header_all("return-path"))


def null_reverse_path(mail: InboundMail) -> bool:
    """No one to answer: ``MAIL FROM:<>`` over LMTP, or a null ``Return-Path: <>``.

    RFC 5321 4.5.5 and RFC 3834 2: mail with a null reverse-path (bounces,
    other automatic mail) must never be answered automatically.
    """
    return mail.envelope_sender == "" or null_return_path(mail)


def first_token(value: str | None) -> str:
    """The keyword of a header value (``auto-replied`` of ``auto-replied; x=y``), or ""."""
    words = (value or "").split(";", 1)[0].split()
    return words[0].lower() if words else ""


def auto_submitted(mail: InboundMail) -> bool:
    """RFC 3834: ``Auto-Submitted`` with any value but ``no`` (an empty one says nothing)."""
    return first_token(mail.header("auto-submitted")) not in ("", "no")


def header_tokens(mail: InboundMail, name: str) -> frozenset[str]:
    """Every comma/space/semicolon separated token of header ``name``, lower-cased."""
    tokens: set[str] = set()
    for value in mail.header_all(name):
        tokens.update(t for t in re.split(r"[\s,;]+", value.lower()) if t)
    return frozenset(tokens)


#: RFC 2919 / RFC 2369 list headers and the older ones lists still write.
LIST_HEADERS = (
    "list-id",
    "list-post",
    "list-unsubscribe",
    "list-subscribe",
    "list-help",
    "list-owner",
    "list-archive",
    "mailing-list",
    "x-mailing-list",
)


def has_list_headers(mail: InboundMail) -> bool:
    """True when any mailing-list header is present."""
    return any(mail.header(name) is not None for name in LIST_HEADERS)
