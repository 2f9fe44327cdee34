"""The sender is the From's addr-spec: the strict reader of ``mail.address`` and ``parse``.

Cases from RFC 5322 (3.4, Appendix A), the attacks of issue 14, and the odd
Froms of the corpus: every corpus From that the strict reader accepts gives
the address the stdlib's modern parser gives for it.
"""

from __future__ import annotations

import email
import email.policy
from email.headerregistry import AddressHeader, HeaderRegistry

import pytest

from maildesk.mail.address import (
    NAME_HOLDS_ADDRESS,
    NAME_HOLDS_LINE_BREAK,
    NOT_STRICT,
    SEVERAL_ADDRESSES,
    parse_from,
)
from maildesk.mail.headers import decode_words
from maildesk.mail.parse import parse
from tests.corpus import corpus_dir, message_files


@pytest.mark.parametrize(
    ("value", "address", "name", "flags"),
    [
        ("Joe <joe@acme.example>", "joe@acme.example", "Joe", ()),
        ("<joe@acme.example>", "joe@acme.example", "", ()),
        ("joe@acme.example", "joe@acme.example", "", ()),
        ("joe@acme.example (Joe)", "joe@acme.example", "Joe", ()),
        ("Boss <Boss@Acme.Example>", "boss@acme.example", "Boss", ()),
        (
            "Joe Q. Public <john.q.public@example.com>",
            "john.q.public@example.com",
            "Joe Q. Public",
            (),
        ),
        (
            '"Giant; \\"Big\\" Box" <sysservices@example.net>',
            "sysservices@example.net",
            'Giant; "Big" Box',
            (),
        ),
        (
            "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
            "pete@silly.test",
            "Pete",
            (),
        ),
        ('"joe@acme.example" <joe@acme.example>', "joe@acme.example", "joe@acme.example", ()),
        ("=?utf-8?q?J=C3=A9?= =?utf-8?q?r=C3=B4me?= <j@x.example>", "j@x.example", "Jérôme", ()),
        ("Mail Delivery System <>", "", "Mail Delivery System", ()),
        # The attacks: the display name never supplies the address.
        (
            "it@acme.example <mallory@evil.example>",
            "mallory@evil.example",
            "it@acme.example",
            (NAME_HOLDS_ADDRESS,),
        ),
        (
            '"it@acme.example" <mallory@evil.example>',
            "mallory@evil.example",
            "it@acme.example",
            (NAME_HOLDS_ADDRESS,),
        ),
        (
            "=?utf-8?b?aXRAYWNtZS5leGFtcGxl?= <m@evil.example>",
            "m@evil.example",
            "it@acme.example",
            (NAME_HOLDS_ADDRESS,),
        ),
        (
            "=?utf-8?q?Eve=0D=0ABcc:_n@evil.example?= <it@acme.example>",
            "it@acme.example",
            "Eve Bcc: n@evil.example",
            (NAME_HOLDS_LINE_BREAK, NAME_HOLDS_ADDRESS),
        ),
        ("a@x.example, b@y.example", "a@x.example", "", (SEVERAL_ADDRESSES,)),
        ("G: Ed <c@a.test>, joe@where.test;", "c@a.test", "Ed", (SEVERAL_ADDRESSES,)),
        ("foo bar@x.example", "", "", (NOT_STRICT,)),
        ("MAILER-DAEMON", "", "", (NOT_STRICT,)),
        ('"unclosed <a@b.example>', "", "", (NOT_STRICT,)),
        ("a@b@c.example", "", "", (NOT_STRICT,)),
        ("Joe <joe@acme.example> trailing", "", "", (NOT_STRICT,)),
    ],
)
def test_strict_from(value: str, address: str, name: str, flags: tuple[str, ...]) -> None:
    got = parse_from([value], decode_words)
    assert (got.address, got.display_name, got.flags) == (address, name, flags)


def test_two_from_headers_are_several_addresses() -> None:
    got = parse_from(["a@x.example", "b@y.example"])
    assert got.address == "a@x.example"
    assert SEVERAL_ADDRESSES in got.flags


def _raw(from_value: str) -> bytes:
    return (
        f"From: {from_value}\r\nTo: support@helpdesk.example\r\nSubject: hi\r\n"
        "Message-ID: <1@x.example>\r\n\r\nHello\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("from_value", "sender", "flagged"),
    [
        ("it@acme.example <mallory@evil.example>", "mallory@evil.example", True),
        ("=?utf-8?q?Eve=0D=0ABcc:_n@evil.example?= <it@acme.example>", "it@acme.example", True),
        ("Joe <joe@acme.example>", "joe@acme.example", False),
        # Lenient fallback for a From the strict reading cannot read, flagged for it.
        ("Test test@example.com", "test@example.com", True),
    ],
)
def test_parse_takes_the_addr_spec(from_value: str, sender: str, flagged: bool) -> None:
    mail = parse(_raw(from_value))
    assert mail.sender == sender
    assert bool(mail.from_flags) is flagged
    assert "\n" not in mail.sender_name and "\r" not in mail.sender_name


def test_corpus_froms_agree_with_the_stdlib_where_both_are_strict() -> None:
    """Every corpus From that both readers take without complaint names the same address."""
    corpus_dir()
    factory = HeaderRegistry()
    compared = 0
    differ: list[tuple[str, str, str]] = []
    for path in message_files():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        values = [str(v) for v in message.get_all("From") or [] if isinstance(v, str)]
        if len(values) != 1 or not values[0].isascii():
            continue
        ours = parse_from(values, decode_words)
        try:
            theirs = factory("from", " ".join(values[0].split()))
        except Exception:
            continue
        assert isinstance(theirs, AddressHeader)
        if ours.flags or theirs.defects or len(theirs.addresses) != 1:
            continue
        compared += 1
        # The same address; maildesk keeps a quoted local part as written.
        if ours.address.replace('"', "") != theirs.addresses[0].addr_spec.lower().replace('"', ""):
            differ.append((path.name, values[0], ours.address))
    assert compared > 500
    assert differ == []
