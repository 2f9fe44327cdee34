"""``parse`` on every complete message of the shared real-world corpus.

Three kinds of checks:

- every message parses, or is refused with ``UnparseableMail`` and a reason;
  no other exception, and the refusals are exactly the ones listed below;
- Zammad's expected parse (``zammad/mail/mailNNN.yml``): subject, sender,
  attachment names and bytes, and (loosely) the body;
- sisimai's CRLF (``dos/``) and CR-only (``mac/``) copies read like the LF
  originals (``bsd/``).

Where maildesk deliberately differs from Zammad, the case is listed with a
one-line reason. Parametrized ids are the corpus paths.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from maildesk.mail.parse import InboundMail, UnparseableMail, html_to_text, parse
from tests.corpus import corpus_dir, corpus_path_or_none, message_files

pytestmark = pytest.mark.corpus

SOURCES = (
    "zammad",
    "flanker",
    "ruby-mail",
    "enmime",
    "request-tracker",
    "otrs-3.1",
    "django-helpdesk",
    "sisimai-set-of-emails",
)
ROOT = corpus_path_or_none()


def _params(paths: list[Path]) -> list[Any]:
    """Paths as parameters with their corpus path as id; one placeholder without a corpus.

    The placeholder makes the test call ``corpus_dir()``, which skips, or
    fails under ``MAILDESK_REQUIRE_CORPUS=1``.
    """
    if ROOT is None or not paths:
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(path, id=str(path.relative_to(ROOT))) for path in paths]


def _rel(path: Path) -> str:
    return str(path.relative_to(corpus_dir()))


def _parse_or_reason(path: Path) -> InboundMail | str:
    try:
        return parse(path.read_bytes())
    except UnparseableMail as exc:
        return exc.reason


# --------------------------------------------------------------------------
# Every message: parsed, or refused for a listed reason
# --------------------------------------------------------------------------

#: Every corpus message maildesk refuses, with the reason it gives and why.
REFUSED = {
    "enmime/mail/erroneous.raw": ("not a mail: no header block", "one line of text"),
    "request-tracker/emails/lorem-ipsum": ("not a mail: no header block", "plain text"),
    "ruby-mail/emails/rfc2822/example13.eml": (
        "not a mail: no header block",
        "obsolete RFC 2822 syntax 'From  :' (space before the colon)",
    ),
    "flanker/messages/attached-pdf.eml": ("no sender address", "no From/Sender/Return-Path"),
    "flanker/messages/bounce/delayed-broken.eml": ("no sender address", "a bare DSN part"),
    "ruby-mail/emails/error_emails/bad_encoded_subject.eml": (
        "no sender address",
        "a Subject line and a body, nothing else",
    ),
    "sisimai-set-of-emails/maildir/bsd/rfc3464-36.eml": (
        "no sender address",
        "the From header is glued onto the Date line",
    ),
}
#: enmime's MIME part fixtures carry only Content-* headers: parts, not mails.
REFUSED_PREFIX = ("enmime/parts/", "no sender address")


@pytest.mark.parametrize("path", _params(list(message_files(*SOURCES))))
def test_message_parses_or_is_refused_with_a_reason(path: Path | None) -> None:
    if path is None:
        corpus_dir()
        return
    raw = path.read_bytes()
    rel = _rel(path)
    try:
        mail = parse(raw)
    except UnparseableMail as exc:
        assert exc.reason.strip()
        if rel.startswith(REFUSED_PREFIX[0]):
            assert exc.reason == REFUSED_PREFIX[1]
        else:
            assert rel in REFUSED, f"refused: {exc.reason}"
            assert exc.reason == REFUSED[rel][0]
        return
    assert rel not in REFUSED, "now parses: remove it from REFUSED"
    _check_invariants(mail, raw)


def _check_invariants(mail: InboundMail, raw: bytes) -> None:
    """What every parsed mail must satisfy, whatever its source."""
    assert mail.size == len(raw)
    assert mail.message_id and not mail.message_id.startswith("<")
    assert mail.sender == mail.sender.lower()
    assert mail.sender or mail.header("from") is not None  # "" is the null sender
    assert all(a == a.lower() and "@" in a for a in mail.to + mail.cc + mail.reply_to)
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.date is None or mail.date.utcoffset() is not None
    assert "/" in mail.content_type.split(";")[0]
    assert "\r" not in mail.text
    for value in (mail.text, mail.html, mail.subject, mail.sender_name):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogate: every database takes it
    for name, value in mail.headers:
        assert name == name.lower()
        value.encode("utf-8")
    for attachment in mail.attachments:
        assert attachment.filename
        assert attachment.size == len(attachment.payload)
        assert "/" in attachment.content_type


# --------------------------------------------------------------------------
# Zammad's expected parse
# --------------------------------------------------------------------------

#: Zammad's mails that come with an expected parse (``mailNNN.box`` + ``mailNNN.yml``).
ZAMMAD = (
    sorted(box for box in ROOT.glob("zammad/mail/*.box") if box.with_suffix(".yml").exists())
    if ROOT is not None
    else []
)

#: Subjects where Zammad's answer is not ours, and why ours stands.
SUBJECT_DIFFERENCES = {
    "mail018": "a UTF-7 encoded word split by folding: decoded here, left raw by Zammad",
    "mail046": "raw 8-bit GB2312 under a latin-1 label: Zammad guesses the charset, we do not",
}
#: Senders where Zammad's answer is not ours, and why ours stands.
SENDER_DIFFERENCES = {
    "mail016": "no From: Zammad takes Reply-To, maildesk Return-Path (From, Sender, Return-Path)",
    "mail019": "null sender 'From: \"我\" <>': Zammad takes Reply-To, maildesk keeps it empty",
    "mail035": "'From: \"a@b\"': Zammad keeps the quotes, the address is the same",
    "mail071": "'<power quadrant system@...>' has spaces: maildesk keeps the last token",
    "mail076": "unbalanced '\"…\"@example.com>': Zammad keeps the stray '>'",
    "mail087": "'From: Test test@example.com': Zammad keeps the display word in the address",
}
#: Display names where Zammad's answer is not ours, and why ours stands.
NAME_DIFFERENCES = {
    "mail046": "raw 8-bit GB2312 name: both sides guess a charset, differently",
    "mail092": "'MAILER-DAEMON (Mail Delivery System) <…>': Zammad drops the comment",
    "mail065": "a comma inside an encoded word ('=?iso-8859-1?Q?B=FCrling,=20Andreas?='):"
    " Zammad splits the word there, maildesk decodes it whole ('Bürling, Andreas')",
}
#: Attachment lists where Zammad's answer is not ours, and why ours stands.
ATTACHMENT_DIFFERENCES = {
    "mail062": "extra text/html parts: Zammad makes them files, maildesk joins them to html",
    "mail064": "windows-1258 filename: Zammad decodes it as latin-1 ('eìcran' for 'écran')",
    "mail085": "a second text/html part: Zammad makes it a file, maildesk joins it to html",
    "mail087": "an unnamed text part after a PDF: Zammad makes it a file, maildesk the body",
    "mail100": "a Content-ID as filename, and a duplicate renamed: Zammad naming",
    "mail102": "a repeated filename: Zammad renames the second one ('091.00.38')",
}
#: Bodies where Zammad's words are not found in ours, and why.
BODY_DIFFERENCES = {
    "mail026": "Zammad keeps the HTML <title> as body text; maildesk drops titles",
    "mail099": "'①' (CP50220) is not in Python's ISO-2022-JP table: replaced here",
}
#: Names Zammad gives unnamed parts (maildesk gives ``part-N.ext``), and the
#: HTML body, which Zammad stores as an attachment.
_ZAMMAD_ONLY = {"message.html"}
_GENERATED = re.compile(r"part-\d+\.[a-z0-9]+")
_WORD = re.compile(r"\w{4,}")


def _zammad_expectation(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read Zammad's expectations")

    class _Loader(yaml.SafeLoader):  # type: ignore[name-defined,misc]
        """Zammad's files carry Ruby tags: read them as plain mappings."""

    _Loader.add_multi_constructor(
        "!ruby/", lambda loader, suffix, node: loader.construct_mapping(node, deep=True)
    )
    _Loader.add_constructor(
        "!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node))
    )
    with path.open("rb") as handle:
        data: dict[str, Any] = yaml.load(handle, Loader=_Loader)
    return data


def _fold(value: object) -> str:
    """Zammad keeps folding whitespace in subjects; maildesk makes it one space.

    Only ASCII whitespace: an ideographic space (U+3000) is text.
    """
    return re.sub(r"[ \t\r\n]+", " ", str(value or "")).strip()


def _eol(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


@pytest.mark.parametrize("box", _params(ZAMMAD))
def test_zammad_expected_parse(box: Path | None) -> None:
    if box is None:
        corpus_dir()
        return
    name = box.stem
    expected = _zammad_expectation(box.with_suffix(".yml"))
    mail = parse(box.read_bytes())

    if name not in SUBJECT_DIFFERENCES:
        assert mail.subject == _fold(expected.get("subject"))
    if name not in SENDER_DIFFERENCES:
        assert mail.sender == str(expected.get("from_email") or "").lower()
        if name not in NAME_DIFFERENCES:
            assert mail.sender_name == (expected.get("from_display_name") or "")
    if name not in ATTACHMENT_DIFFERENCES:
        _check_zammad_attachments(mail, expected.get("attachments") or [])
    if name not in BODY_DIFFERENCES:
        _check_zammad_body(mail, expected)


def _check_zammad_attachments(mail: InboundMail, expected: list[dict[str, Any]]) -> None:
    """Same parts in the same order; names equal unless one side generated its own."""
    wanted = [item for item in expected if item.get("filename") not in _ZAMMAD_ONLY]
    assert len(mail.attachments) == len(wanted), [a.filename for a in mail.attachments]
    for ours, theirs in zip(mail.attachments, wanted, strict=True):
        if _GENERATED.fullmatch(ours.filename):
            continue  # unnamed on the wire: each side names it its own way
        assert ours.filename == theirs["filename"]
        data = theirs.get("data")
        if isinstance(data, str):
            data = data.encode("utf-8")
        if isinstance(data, bytes):
            # Zammad stores text attachments with LF line ends.
            assert _eol(ours.payload) == _eol(data), ours.filename


def _check_zammad_body(mail: InboundMail, expected: dict[str, Any]) -> None:
    """Loosely: most of the first words of Zammad's body occur in ours.

    Zammad's body is post-processed (HTML cleaned, signature marks) and is
    the HTML when there is one; maildesk's text prefers the plain part, so
    both of ours count.
    """
    body = expected.get("body") or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body.strip() == "no visible content":  # Zammad's placeholder for an empty body
        return
    if expected.get("content_type") == "text/html":
        body = html_to_text(body)
    words = _WORD.findall(body)[:10]
    ours = " ".join(f"{mail.text} {html_to_text(mail.html)}".split())
    missing = [word for word in words if word not in ours]
    assert len(missing) * 2 <= len(words), missing


# --------------------------------------------------------------------------
# Line endings: sisimai's dos/ and mac/ copies against the bsd/ originals
# --------------------------------------------------------------------------

_MAILDIR = ROOT / "sisimai-set-of-emails" / "maildir" if ROOT is not None else None
COPIES = (
    sorted(
        path
        for kind in ("dos", "mac")
        for path in (_MAILDIR / kind).iterdir()
        if (_MAILDIR / "bsd" / path.name).exists()
    )
    if _MAILDIR is not None
    else []
)
_SAME_FIELDS = (
    "sender",
    "sender_name",
    "subject",
    "to",
    "cc",
    "reply_to",
    "in_reply_to",
    "references",
    "date",
    "content_type",
    "text",
    "html",
    "headers",
)


@pytest.mark.parametrize("copy", _params(COPIES))
def test_crlf_and_cr_copies_read_like_the_lf_original(copy: Path | None) -> None:
    if copy is None:
        corpus_dir()
        return
    original = _parse_or_reason(copy.parents[1] / "bsd" / copy.name)
    converted = _parse_or_reason(copy)

    if isinstance(original, str) or isinstance(converted, str):
        assert converted == original  # refused alike, for the same reason
        return
    for field in _SAME_FIELDS:
        assert getattr(converted, field) == getattr(original, field), field
    # A synthesized id comes from the raw bytes, which differ by their line ends.
    assert converted.message_id_synthesized == original.message_id_synthesized
    if not original.message_id_synthesized:
        assert converted.message_id == original.message_id
    # Part bytes keep their wire line ends (binary parts hold CR bytes of their
    # own), so parts are compared by what they are, not byte for byte.
    assert [(a.filename, a.content_type, a.inline) for a in converted.attachments] == [
        (a.filename, a.content_type, a.inline) for a in original.attachments
    ]
