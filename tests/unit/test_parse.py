"""``parse``: raw bytes to ``InboundMail``, on hand-written mails covering every field.

Each mail is built inline, so a reader sees the exact bytes a field comes
from. The real-world corpus is exercised in ``test_parse_corpus.py``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.mail.parse import (
    MAX_DEPTH,
    MAX_REFERENCES,
    InboundMail,
    UnparseableMail,
    html_to_text,
    parse,
)

SETTINGS = settings(max_examples=200, deadline=None)


def mail(headers: str, body: bytes | str = b"Hello\n", *, eol: bytes = b"\n") -> bytes:
    """A mail from header lines (one per line, "\\t"-indented continuations) and a body."""
    head = headers.strip("\n").encode("utf-8")
    data = head + b"\n\n" + (body.encode("utf-8") if isinstance(body, str) else body)
    return data.replace(b"\n", eol)


BASIC = mail(
    """\
Return-Path: <bounce@mailer.example>
Received: from mx2.example by mx1.example; Mon, 6 May 2024 10:00:02 +0200
Received: from client.example by mx2.example; Mon, 6 May 2024 10:00:01 +0200
Message-ID: <abc.123@client.example>
From: "Doe, Jane" <Jane.Doe@Client.Example>
To: Support <SUPPORT@provider.example>, other@provider.example,
\tsupport@provider.example
Cc: boss@client.example
Reply-To: tickets@client.example
Subject: Login page
\tbroken
Date: Mon, 6 May 2024 10:00:00 +0200
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
""",
    "The login page shows an error.\nSteps: open it.\n",
)


# --------------------------------------------------------------------------
# The fields of a plain mail
# --------------------------------------------------------------------------


def test_plain_mail_gives_every_field() -> None:
    parsed = parse(BASIC)

    assert parsed.raw_sha256 == hashlib.sha256(BASIC).hexdigest()
    assert parsed.size == len(BASIC)
    assert parsed.message_id == "abc.123@client.example"
    assert parsed.message_id_synthesized is False
    assert parsed.sender == "jane.doe@client.example"
    assert parsed.sender_name == "Doe, Jane"
    assert parsed.to == ("support@provider.example", "other@provider.example")
    assert parsed.cc == ("boss@client.example",)
    assert parsed.reply_to == ("tickets@client.example",)
    assert parsed.subject == "Login page broken"
    assert parsed.in_reply_to is None
    assert parsed.references == ()
    assert parsed.date == datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    assert parsed.text == "The login page shows an error.\nSteps: open it."
    assert parsed.html == ""
    assert parsed.content_type == "text/plain; charset=utf-8"
    assert parsed.attachments == ()
    assert parsed.defects == ()


def test_headers_keep_every_line_in_order_decoded() -> None:
    parsed = parse(BASIC)

    names = [name for name, _ in parsed.headers]
    assert names[:4] == ["return-path", "received", "received", "message-id"]
    assert parsed.header("SUBJECT") == "Login page\tbroken"  # unfolded, not re-spaced
    assert parsed.header_all("received") == (
        "from mx2.example by mx1.example; Mon, 6 May 2024 10:00:02 +0200",
        "from client.example by mx2.example; Mon, 6 May 2024 10:00:01 +0200",
    )
    assert parsed.header("x-missing") is None


# --------------------------------------------------------------------------
# RFC 2047 and raw 8-bit headers
# --------------------------------------------------------------------------


def test_encoded_subject_and_display_name_are_decoded() -> None:
    raw = mail(
        """\
From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <jm@client.example>
Subject: =?utf-8?B?UHJvYmzDqG1l?= =?utf-8?Q?_de_connexion?=
\t=?UTF-8?Q?_=E2=82=AC?=
"""
    )
    parsed = parse(raw)

    assert parsed.sender_name == "Jürgen Müller"
    assert parsed.subject == "Problème de connexion €"  # whitespace between words dropped
    assert parsed.header("subject") == "Problème de connexion €"


def test_multibyte_character_split_across_encoded_words() -> None:
    euro = "€".encode()  # three bytes, sent in two words by some mailers
    first = "=?utf-8?Q?Price_" + "".join(f"={b:02X}" for b in euro[:2]) + "?="
    second = "=?utf-8?Q?" + "".join(f"={b:02X}" for b in euro[2:]) + "_10?="
    parsed = parse(mail(f"From: a@client.example\nSubject: {first} {second}"))

    assert parsed.subject == "Price € 10"


def test_malformed_encoded_words_are_read_leniently() -> None:
    parsed = parse(
        mail(
            "From: a@client.example\n"
            "Subject: =?us-ascii?Q?ABC / 123?= and =?bogus-charset?Q?caf=E9?= =?utf-8?B?***?="
        )
    )
    # spaces inside a word; an unknown charset read as cp1252; an undecodable word kept
    assert parsed.subject == "ABC / 123 and café =?utf-8?B?***?="


def test_raw_8bit_headers_are_decoded() -> None:
    raw = (
        b"From: J\xc3\xb6rg <jorg@client.example>\n"  # RFC 6532 utf-8
        b"Subject: Gr\xfc\xdfe aus K\xf6ln\n"  # latin-1, no label anywhere
        b"\nHi\n"
    )
    parsed = parse(raw)

    assert parsed.sender_name == "Jörg"
    assert parsed.subject == "Grüße aus Köln"


def test_raw_8bit_subject_read_with_the_body_charset() -> None:
    raw = (
        b"From: a@client.example\n"
        b"Subject: \x83e\x83X\x83g\n"  # Shift_JIS, as the body declares
        b"Content-Type: text/plain; charset=shift_jis\n"
        b"\n\x83e\x83X\x83g\n"
    )
    parsed = parse(raw)

    assert parsed.subject == "テスト"
    assert parsed.text == "テスト"


def test_iso_2022_jp_in_header_and_body() -> None:
    jis = "すみません".encode("iso2022_jp")
    raw = (
        b"From: a@client.example\n"
        b"Subject: " + jis + b"\n"  # raw 7-bit JIS, no encoded word
        b"Content-Type: text/plain; charset=ISO-2022-JP\n"
        b"\n" + jis + b"\n"
    )
    parsed = parse(raw)

    assert parsed.subject == "すみません"
    assert parsed.text == "すみません"


# --------------------------------------------------------------------------
# Message-ID and threading
# --------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["", "Message-ID: <>\n", "Message-ID:   \n"])
def test_missing_message_id_is_synthesized_and_stable(header: str) -> None:
    raw = mail(f"{header}From: a@client.example\nSubject: no id")
    parsed = parse(raw)

    assert parsed.message_id == f"{hashlib.sha256(raw).hexdigest()}@maildesk.invalid"
    assert parsed.message_id_synthesized is True
    assert parse(raw).message_id == parsed.message_id
    assert parse(raw + b"more\n").message_id != parsed.message_id


def test_message_id_without_brackets_is_taken() -> None:
    parsed = parse(mail("Message-Id: 20200123.05D7@mx.example\nFrom: a@client.example"))

    assert parsed.message_id == "20200123.05D7@mx.example"
    assert parsed.message_id_synthesized is False


def test_in_reply_to_and_references() -> None:
    raw = mail(
        """\
From: a@client.example
In-Reply-To: <parent@provider.example> <other@provider.example>
References: <root@provider.example>
\t<mid@provider.example> <root@provider.example>
\t<parent@provider.example>
"""
    )
    parsed = parse(raw)

    assert parsed.in_reply_to == "parent@provider.example"
    assert parsed.references == (
        "root@provider.example",
        "mid@provider.example",
        "parent@provider.example",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Your message of Monday", None),  # an RFC 822 phrase, no id
        ("bare.id@provider.example", "bare.id@provider.example"),
        ('"Jane" <x@y.example> (Jane\'s mail)', "x@y.example"),
    ],
)
def test_in_reply_to_forms(value: str, expected: str | None) -> None:
    parsed = parse(mail(f"From: a@client.example\nIn-Reply-To: {value}"))

    assert parsed.in_reply_to == expected


def test_hostile_references_are_capped() -> None:
    ids = " ".join(f"<id{n}@provider.example>" for n in range(500))
    parsed = parse(mail(f"From: a@client.example\nReferences: {ids}"))

    assert len(parsed.references) == MAX_REFERENCES
    assert parsed.references[0] == "id0@provider.example"
    assert parsed.references[-1] == "id499@provider.example"
    assert any("References" in defect for defect in parsed.defects)


# --------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------

ALTERNATIVE = mail(
    """\
From: a@client.example
Content-Type: multipart/alternative; boundary="alt"
""",
    """\
--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 is closed.
--alt
Content-Type: text/html; charset=utf-8

<p>Caf&eacute; is <b>closed</b>.</p>
--alt--
""",
)


def test_multipart_alternative_prefers_the_plain_text() -> None:
    parsed = parse(ALTERNATIVE)

    assert parsed.text == "Café is closed."
    assert parsed.html == "<p>Caf&eacute; is <b>closed</b>.</p>"  # the last EOL is MIME's
    assert parsed.content_type == 'multipart/alternative; boundary="alt"'


HTML_ONLY = mail(
    """\
From: a@client.example
Content-Type: text/html; charset=windows-1252
""",
    b"<html><head><title>Report</title><style>p {color: red}</style></head>"
    b"<body><p>Hello&nbsp;team,</p><div>the page <a href='https://lms.example/course/5'>"
    b"this one</a> fails.<br>Since Monday.</div>"
    b"<ul><li>open it</li><li>click \x93Save\x94</li></ul>"
    b"<script>alert(1)</script><!-- a comment --><p>Thanks &amp; regards</p></body></html>",
)


def test_html_only_mail_gives_readable_text() -> None:
    parsed = parse(HTML_ONLY)

    assert parsed.text == (
        "Hello team,\n\n"
        "the page this one (https://lms.example/course/5) fails.\n"
        "Since Monday.\n"
        "- open it\n"
        "- click “Save”\n\n"
        "Thanks & regards"
    )
    assert parsed.html.startswith("<html><head><title>Report</title>")


def test_html_to_text_keeps_preformatted_text_and_visible_urls() -> None:
    text = html_to_text(
        "<pre>  step 1\n  step 2</pre><a href='https://x.example/a'>https://x.example/a</a>"
        "<table><tr><td>a</td><td>b</td></tr></table>3 &lt; 4 < 5"
    )

    assert text == "  step 1\n  step 2\nhttps://x.example/a\n\na b\n\n3 < 4 < 5"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("markup", ["<a", "<!--", "</", "<!", "<b>x</b>", "&#"])
def test_html_to_text_stays_linear_on_hostile_markup(markup: str) -> None:
    # The stdlib HTMLParser of Python 3.11 needs minutes for "<a" * 200_000.
    html_to_text(markup * 200_000)


def test_several_plain_parts_are_joined_and_empty_plain_falls_back_to_html() -> None:
    joined = parse(
        mail(
            'From: a@client.example\nContent-Type: multipart/mixed; boundary="m"',
            "--m\n\nfirst\n\n--m\nContent-Type: image/png\n\nPNG\n--m\n\nsecond\n--m--\n",
        )
    )
    fallback = parse(
        mail(
            'From: a@client.example\nContent-Type: multipart/alternative; boundary="a"',
            "--a\n\n \n--a\nContent-Type: text/html\n\n<p>only here</p>\n--a--\n",
        )
    )

    assert joined.text == "first\nsecond"
    assert fallback.text == "only here"


def test_text_fields_carry_no_nul() -> None:
    parsed = parse(b"From: a@client.example\nSubject: a\x00b\n\nx\x00y\n")

    assert parsed.subject == "ab"
    assert parsed.text == "xy"


# --------------------------------------------------------------------------
# Charsets: never raise, never lose the text
# --------------------------------------------------------------------------


def _body(charset: str | None, data: bytes) -> InboundMail:
    content_type = f"Content-Type: text/plain; charset={charset}\n" if charset else ""
    return parse(b"From: a@client.example\n" + content_type.encode() + b"\n" + data)


def test_latin1_8bit_body_without_charset() -> None:
    parsed = _body(None, b"Gr\xfc\xdfe, der Zugang geht nicht \x96 seit Montag\n")

    assert parsed.text == "Grüße, der Zugang geht nicht – seit Montag"
    assert any("cp1252" in defect for defect in parsed.defects)


@pytest.mark.parametrize(
    ("charset", "data", "expected"),
    [
        ("utf-8", "Grüße".encode("latin-1"), "Grüße"),  # utf-8 label on latin-1 bytes
        ("iso-8859-1", "Grüße €".encode(), "Grüße €"),  # latin-1 label on utf-8 bytes
        ("us-ascii", "Grüße".encode(), "Grüße"),
        ("unknown-8bit", "Grüße".encode("cp1252"), "Grüße"),
        ("x-user-defined", "Grüße".encode(), "Grüße"),
        ('"no-such-charset"', "Grüße".encode("cp1252"), "Grüße"),
        ("base64", b"R3L8w59l", "R3L8w59l"),  # a codec, but not a text charset
        ("iso-8859-1", b"Preis: 10 \x80", "Preis: 10 €"),  # read as its superset cp1252
        ("shift_jis", "テスト".encode("cp932"), "テスト"),
        ("iso-2022-jp", "テスト".encode("cp932"), "テスト"),  # mislabelled Shift_JIS
        ("gb2312", "测试".encode("gb18030"), "测试"),
        ("ks_c_5601-1987", "테스트".encode("cp949"), "테스트"),
        ("windows-1251", "Тест".encode("cp1251"), "Тест"),
        ("koi8-r", "Тест".encode("koi8-r"), "Тест"),
    ],
)
def test_body_charsets_right_wrong_or_unknown(charset: str, data: bytes, expected: str) -> None:
    assert _body(charset, data).text == expected


def test_utf8_with_a_few_broken_bytes_stays_utf8() -> None:
    data = "Grüße aus Köln, schöne Grüße".encode() + b" \xff"
    parsed = _body("utf-8", data)

    assert parsed.text == "Grüße aus Köln, schöne Grüße \ufffd"


# --------------------------------------------------------------------------
# Attachments and inline parts
# --------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
PDF = b"%PDF-1.4\n" + bytes(range(256))


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


RELATED = mail(
    """\
From: a@client.example
Content-Type: multipart/mixed; boundary="mix"
""",
    f"""\
--mix
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:image001.png@01D9"> and <img src="cid:ii_abc"></p>
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <image001.png@01D9>
Content-Disposition: inline

{_b64(PNG)}
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <ii_abc>

{_b64(PNG)}
--rel--
--mix
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%20final.pdf

{_b64(PDF)}
--mix
Content-Type: application/pdf; name="=?utf-8?Q?Pr=C3=BCfung.pdf?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename*0*=UTF-8''Sehr%20lange%20Bezeichnung%20;
\tfilename*1*=der%20Pr%C3%BCfung.pdf

{_b64(PDF)}
--mix
Content-Type: application/octet-stream; name="=?utf-8?Q?Pr=C3=BCfung.pdf?="
Content-Transfer-Encoding: base64

{_b64(PDF)}
--mix--
""",
)


def test_inline_images_and_attachments() -> None:
    parsed = parse(RELATED)
    pasted, unnamed, resume, continued, encoded = parsed.attachments

    assert parsed.text == "See and"
    assert (pasted.filename, pasted.inline, pasted.content_id) == (
        "image001.png",  # Outlook's name in the Content-ID
        True,
        "image001.png@01D9",
    )
    assert (unnamed.filename, unnamed.inline, unnamed.content_id) == ("part-5.png", True, "ii_abc")
    assert pasted.content_type == "image/png"
    assert pasted.payload == PNG
    assert pasted.size == len(PNG)
    assert pasted.sha256 == hashlib.sha256(PNG).hexdigest()

    assert (resume.filename, resume.inline, resume.content_id) == ("Résumé final.pdf", False, None)
    assert continued.filename == "Sehr lange Bezeichnung der Prüfung.pdf"  # RFC 2231 continuation
    assert encoded.filename == "Prüfung.pdf"  # RFC 2047 in a name= parameter (Outlook)
    assert {a.payload for a in (resume, continued, encoded)} == {PDF}
    assert resume.content_type == "application/pdf"


def test_generated_names_are_stable() -> None:
    first = [a.filename for a in parse(RELATED).attachments]
    again = [a.filename for a in parse(RELATED).attachments]

    assert first == again


def test_raw_8bit_filename_and_path_are_cleaned() -> None:
    raw = (
        b"From: a@client.example\n"
        b'Content-Type: multipart/mixed; boundary="m"\n\n'
        b"--m\nContent-Type: text/plain; charset=iso-8859-1\n\nHallo\n"
        b"--m\nContent-Type: image/jpeg\n"
        b'Content-Disposition: attachment; filename="C:\\Bilder\\Sch\xe4den.jpg"\n'
        b"\nJPEG\n--m--\n"
    )
    (attachment,) = parse(raw).attachments

    assert attachment.filename == "Schäden.jpg"
    assert attachment.payload == b"JPEG"


def test_text_parts_with_a_name_or_attachment_disposition_are_attachments() -> None:
    raw = mail(
        'From: a@client.example\nContent-Type: multipart/mixed; boundary="m"',
        "--m\n\nbody\n"
        '--m\nContent-Type: text/plain; name="log.txt"\n\nlog line\n'
        "--m\nContent-Type: text/html\nContent-Disposition: attachment\n\n<p>x</p>\n--m--\n",
    )
    parsed = parse(raw)

    assert parsed.text == "body"
    assert parsed.html == ""
    assert [(a.filename, a.payload) for a in parsed.attachments] == [
        ("log.txt", b"log line"),
        ("part-4.html", b"<p>x</p>"),
    ]


def test_forwarded_mail_is_one_eml_attachment_not_body_text() -> None:
    raw = mail(
        'From: a@client.example\nContent-Type: multipart/mixed; boundary="m"',
        "--m\n\nSee the forwarded mail.\n"
        "--m\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        "From: user@lms.example\nSubject: Original\n\nOriginal text\n--m--\n",
    )
    parsed = parse(raw)
    (forwarded,) = parsed.attachments

    assert parsed.text == "See the forwarded mail."
    assert forwarded.filename == "part-3.eml"
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.payload == b"From: user@lms.example\nSubject: Original\n\nOriginal text"


DSN = mail(
    """\
From: Mail Delivery System <MAILER-DAEMON@mx.provider.example>
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="dsn"
""",
    """\
--dsn
Content-Type: text/plain

Your message could not be delivered.
--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.provider.example

Final-Recipient: rfc822; gone@client.example
Action: failed
Status: 5.1.1
--dsn
Content-Type: text/rfc822-headers

Message-ID: <ack-1@provider.example>
--dsn--
""",
)


def test_delivery_report_keeps_content_type_and_parts() -> None:
    parsed = parse(DSN)

    assert parsed.content_type == ('multipart/report; report-type=delivery-status; boundary="dsn"')
    assert parsed.sender == "mailer-daemon@mx.provider.example"
    assert parsed.text == "Your message could not be delivered."
    status, headers = parsed.attachments
    assert (status.filename, status.content_type) == ("part-3.txt", "message/delivery-status")
    assert b"Final-Recipient: rfc822; gone@client.example" in status.payload
    assert b"Reporting-MTA: dns; mx.provider.example" in status.payload
    assert headers.payload == b"Message-ID: <ack-1@provider.example>"


def test_uuencoded_part_without_begin_line() -> None:
    raw = mail(
        'From: a@client.example\nContent-Type: multipart/mixed; boundary="m"',
        "--m\n\nbody\n--m\nContent-Type: application/msword; name=notes.txt\n"
        "Content-Transfer-Encoding: x-uuencode\n\n,2&5L;&\\@6F%M;6%D\n`\n--m--\n",
    )

    assert parse(raw).attachments[0].payload == b"Hello Zammad"


# --------------------------------------------------------------------------
# Sender
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ("Sender: Helper <Helper@client.example>", "helper@client.example"),
        ("Return-Path: <Bounce@client.example>", "bounce@client.example"),
        ("From: <>\nSender: s@client.example\nReturn-Path: <r@client.example>", "s@client.example"),
        ("From: [garbage]\nFrom: Real <real@client.example>", "real@client.example"),
        ("From: Test test@client.example", "test@client.example"),
        ('From: <"#FAX#*49"@fax.example>', '"#fax#*49"@fax.example'),
        ("From: MAILER-DAEMON\nReturn-Path: <>", "mailer-daemon"),
        ("From: MAILER-DAEMON\nReturn-Path: <bounce@mx.example>", "bounce@mx.example"),
    ],
)
def test_sender_falls_back_from_from_to_sender_to_return_path(headers: str, sender: str) -> None:
    assert parse(mail(f"{headers}\nSubject: x")).sender == sender


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ("From: MAILER-DAEMON <>\nReturn-Path: <>", "MAILER-DAEMON"),
        ("From: <>", ""),
        ('From: "Only a name"', ""),
    ],
)
def test_null_sender_is_empty_so_bounces_reach_the_rules(headers: str, name: str) -> None:
    parsed = parse(mail(headers))

    assert (parsed.sender, parsed.sender_name) == ("", name)


@pytest.mark.parametrize(
    "headers", ["Subject: no sender at all", "Sender: <>\nReturn-Path: <>\nSubject: x"]
)
def test_no_from_and_no_sender_address_is_unparseable(headers: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse(mail(headers))

    assert caught.value.reason == "no sender address"


# --------------------------------------------------------------------------
# What is not a mail, and hostile input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b" \r\n\t\n", "empty message"),
        (PNG * 10, "not a mail: no header block"),
        (b"\x00" * 64, "not a mail: no header block"),
        (
            b"Lorem ipsum dolor sit amet,\nconsectetur adipisicing elit.\n",
            "not a mail: no header block",
        ),
        (bytes(range(256)) * 4, "not a mail: no header block"),
    ],
)
def test_what_is_not_a_mail(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse(raw)

    assert caught.value.reason == reason


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_are_unparseable(raw: bytes) -> None:
    try:
        parsed = parse(raw)
    except UnparseableMail as exc:
        assert exc.reason
    else:
        assert parsed.sender or parsed.header("from") is not None  # "" only for a null sender


_PIECES = st.sampled_from(
    [
        b"From: a@client.example\n",
        b"Content-Type: multipart/mixed; boundary=b\n",
        b"Content-Type: message/rfc822\n",
        b'Content-Type: text/plain; charset="unknown"\n',
        b"Content-Transfer-Encoding: base64\n",
        b"Content-Transfer-Encoding: quoted-printable\n",
        b"Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1*=%AC\n",
        b"Subject: =?utf-8?B?w6k?= =?x?Q?=FF?=\n",
        b"--b\n",
        b"--b--\n",
        b"\n",
        b"\r\n",
        b"\xff\xfe\x00",
        b"=?utf-8?q?",
        b"<p>x<a href='",
        b"dGV4dA==\n",
    ]
)


@SETTINGS
@given(st.lists(_PIECES, max_size=40))
def test_mime_shaped_noise_parses_or_is_unparseable(pieces: list[bytes]) -> None:
    try:
        parse(b"".join(pieces))
    except UnparseableMail as exc:
        assert exc.reason


def test_deep_nesting_is_cut_with_a_defect() -> None:
    depth = MAX_DEPTH + 10
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\n\n--b{n}\n' for n in range(depth)
    )
    tail = "".join(f"--b{n}--\n" for n in reversed(range(depth)))
    parsed = parse(f"From: a@client.example\n{head}Content-Type: text/plain\n\nin\n{tail}".encode())

    assert any("nested deeper" in defect for defect in parsed.defects)


@pytest.mark.timeout(120)
def test_nesting_beyond_the_parser_is_unparseable() -> None:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\n\n--b{n}\n' for n in range(3000)
    )
    with pytest.raises(UnparseableMail) as caught:
        parse(f"From: a@client.example\n{head}\nx\n".encode())

    assert "nested too deeply" in caught.value.reason


def test_huge_address_list_is_cut_after_a_whole_address() -> None:
    to = ", ".join(f"user{n}@client.example" for n in range(20_000))
    parsed = parse(mail(f"From: a@client.example\nTo: {to}"))

    assert 1000 < len(parsed.to) < 20_000
    assert parsed.to[-1] == f"user{len(parsed.to) - 1}@client.example"
    assert any(defect.startswith("to header of") for defect in parsed.defects)


@pytest.mark.timeout(60)
def test_huge_parameter_header_is_refused() -> None:
    # The stdlib reads parameters in quadratic time: this header would take hours.
    params = "; a=b" * 2_000_000
    raw = f"From: a@client.example\nContent-Type: multipart/mixed{params}; boundary=x\n\n"
    with pytest.raises(UnparseableMail) as caught:
        parse(raw.encode() + b"--x\n\nhi\n--x--\n")

    assert caught.value.reason.startswith("Content-Type header of 10000")


def test_mime_defects_are_reported() -> None:
    parsed = parse(
        mail(
            'From: a@client.example\nContent-Type: multipart/mixed; boundary="never"',
            "no boundary here\n",
        )
    )

    assert any("StartBoundaryNotFoundDefect" in defect for defect in parsed.defects)
    assert parsed.text == "no boundary here"


# --------------------------------------------------------------------------
# Broken header blocks that are still mail
# --------------------------------------------------------------------------


def test_header_lines_that_lost_their_indentation() -> None:
    raw = mail(
        """\
Received: from mx.example (1.2.3.4) by
edge.example (5.6.7.8) with SMTP
From: a@client.example
Subject: found
"""
    )
    parsed = parse(raw)

    assert parsed.subject == "found"
    assert (
        parsed.header("received") == "from mx.example (1.2.3.4) by edge.example (5.6.7.8) with SMTP"
    )


def test_banner_line_and_blank_lines_before_the_headers() -> None:
    banner = parse(b"---- Original email message ----\nFrom: a@client.example\nSubject: s\n\nx\n")
    blank = parse(b"\n\nFrom: a@client.example\nSubject: s\n\nx\n")

    assert (banner.sender, banner.subject, banner.text) == ("a@client.example", "s", "x")
    assert (blank.sender, blank.subject, blank.text) == ("a@client.example", "s", "x")


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 6 May 2024 10:00:00 +0200", datetime(2024, 5, 6, 8, 0, tzinfo=UTC)),
        ("6 May 2024 10:00:00 -0500 (EST)", datetime(2024, 5, 6, 15, 0, tzinfo=UTC)),
        ("Mon, 06 May 2024 10:00:00 GMT", datetime(2024, 5, 6, 10, 0, tzinfo=UTC)),
        ("Mon, 6 May 2024 10:00:00 -0000", datetime(2024, 5, 6, 10, 0, tzinfo=UTC)),
        ("Tue, 6 May 2024 10:00:00 +0100", datetime(2024, 5, 6, 9, 0, tzinfo=UTC)),  # wrong day
        ("Mon, 6 May 24 10:00 +0100", datetime(2024, 5, 6, 9, 0, tzinfo=UTC)),
        ("Wed, 15 Dec 2010 59:10 -0500", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_date_is_utc_or_none(value: str, expected: datetime | None) -> None:
    parsed = parse(mail(f"From: a@client.example\nDate: {value}"))

    assert parsed.date == expected
    if parsed.date is not None:
        assert parsed.date.utcoffset() is not None


def test_missing_date_is_none() -> None:
    assert parse(mail("From: a@client.example")).date is None


# --------------------------------------------------------------------------
# Content-Type and line endings
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "text/plain"),
        ("Content-Type: TEXT/HTML; charset=UTF-8\n", "text/html; charset=UTF-8"),
        ("Content-Type: text\n", "text/plain"),
        (
            "Content-Type: Multipart/Report;\n\treport-type=feedback-report;\n\tboundary=x\n",
            "multipart/report; report-type=feedback-report; boundary=x",
        ),
    ],
)
def test_content_type(header: str, expected: str) -> None:
    assert parse(mail(f"From: a@client.example\n{header}")).content_type == expected


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
def test_crlf_and_cr_only_mails_read_like_lf(eol: bytes) -> None:
    lf, other = parse(RELATED), parse(RELATED.replace(b"\n", eol))

    for name in ("sender", "subject", "message_id", "text", "html", "content_type", "headers"):
        if name != "message_id" or not lf.message_id_synthesized:
            assert getattr(other, name) == getattr(lf, name), name
    assert [(a.filename, a.sha256) for a in other.attachments] == [
        (a.filename, a.sha256) for a in lf.attachments
    ]
    basic = parse(BASIC.replace(b"\n", eol))
    assert (basic.message_id, basic.subject, basic.text) == (
        "abc.123@client.example",
        "Login page broken",
        "The login page shows an error.\nSteps: open it.",
    )
