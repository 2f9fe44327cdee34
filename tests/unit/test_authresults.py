"""RFC 8601 Authentication-Results: reading real and documented headers, and what counts.

Three sources: the real headers of the shared corpus (Gmail, Microsoft 365,
Yahoo, mail.ru, Japanese providers: every mail that carries one), the
examples of RFC 8601 Appendix B and the formats OpenDMARC, OpenDKIM and
rspamd write, and hand-made attacks on the position and alignment rules.
"""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from maildesk.mail.authresults import (
    AuthResults,
    MethodResult,
    authenticate,
    our_results,
    parse_header,
)
from maildesk.mail.orgdomain import aligned, organisational_domain
from tests.corpus import corpus_dir, message_files

OURS = "mx.helpdesk.example"


def _results(value: str) -> list[tuple[str, str]]:
    return [(r.method, r.result) for r in parse_header(value).results]


# --------------------------------------------------------------------------
# Documented formats
# --------------------------------------------------------------------------

# RFC 8601 Appendix B, and what OpenDKIM, OpenDMARC and rspamd write; each with
# the authserv-id, the version and the (method, result) pairs read by hand.
DOCUMENTED: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("B.2: no results", "example.org 1; none", "example.org", []),
    (
        "B.3: SPF, with a comment before the authserv-id's results",
        "example.com; spf=pass smtp.mailfrom=example.net",
        "example.com",
        [("spf", "pass")],
    ),
    (
        "B.4: several results, comments with the sender in them",
        "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
        "          spf=pass smtp.mailfrom=example.net",
        "example.com",
        [("auth", "pass"), ("spf", "pass")],
    ),
    (
        "B.5: a method version and reason",
        "example.com;\r\n      sender-id=fail header.from=example.com;\r\n"
        "      dkim/1=pass (good signature) header.d=example.com",
        "example.com",
        [("sender-id", "fail"), ("dkim", "pass")],
    ),
    (
        "B.6: quoted reason, property spacing",
        "mail-router.example.net; dkim=pass (good signature) header.d=newyork.example.com"
        ' header.b=oINEO8hg; dkim=fail reason = "bad signature" header.d = example.org',
        "mail-router.example.net",
        [("dkim", "pass"), ("dkim", "fail")],
    ),
    (
        "OpenDKIM: bit count and key security in a comment holding ';'",
        "mx.helpdesk.example;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=acme.example"
        " header.i=@acme.example header.a=rsa-sha256 header.s=mail header.b=AbCdEf12",
        OURS,
        [("dkim", "pass")],
    ),
    (
        "OpenDMARC",
        "mx.helpdesk.example; dmarc=pass (p=reject dis=none) header.from=acme.example",
        OURS,
        [("dmarc", "pass")],
    ),
    (
        "rspamd, folded, several results with policies in comments",
        "mx.helpdesk.example;\r\n\tdkim=pass header.d=acme.example header.s=dkim"
        ' header.b="Xy/z+1";\r\n\tdmarc=pass (policy=reject) header.from=acme.example;\r\n'
        "\tspf=pass (mx.helpdesk.example: domain of it@acme.example designates 192.0.2.1 as"
        " permitted sender) smtp.mailfrom=it@acme.example",
        OURS,
        [("dkim", "pass"), ("dmarc", "pass"), ("spf", "pass")],
    ),
    (
        "Microsoft 365: no authserv-id at all, stray ';domain' clauses",
        "spf=pass (sender IP is 104.47.124.209)\r\n smtp.helo=x.outbound.protection.outlook.com;"
        " outlook.com;\r\n dkim=none (message not signed) header.d=none;outlook.com; dmarc=pass"
        "\r\n action=none header.from=outlook.com;",
        "",
        [("spf", "pass"), ("dkim", "none"), ("dmarc", "pass")],
    ),
]


@pytest.mark.parametrize(
    ("value", "authserv_id", "pairs"),
    [pytest.param(v, a, p, id=name) for name, v, a, p in DOCUMENTED],
)
def test_documented_formats(value: str, authserv_id: str, pairs: list[tuple[str, str]]) -> None:
    parsed = parse_header(value)
    assert parsed.authserv_id == authserv_id
    assert [(r.method, r.result) for r in parsed.results] == pairs


def test_properties_and_reason_are_read() -> None:
    parsed = parse_header(
        'example.com; dkim=fail reason="bad signature; key" header.d = example.org'
        ' header.i=@example.org (comment) header.b="ab\\"c"'
    )
    (result,) = parsed.results
    assert result.reason == "bad signature; key"
    assert result.prop("header.d") == "example.org"
    assert result.prop("HEADER.I") == "@example.org"
    assert result.prop("header.b") == 'ab"c'
    assert result.prop("header.s") == ""


def test_version_and_nested_comments() -> None:
    parsed = parse_header(
        "(a (nested) comment) example.net 1 (x); spf=pass (why (so)) smtp.mailfrom=a@b"
    )
    assert (parsed.authserv_id, parsed.version) == ("example.net", "1")
    assert _results("example.net; spf=pass (why (so)) smtp.mailfrom=a@b") == [("spf", "pass")]


@pytest.mark.parametrize(
    "junk",
    [
        "",
        ";",
        ";;;",
        "=",
        "(",
        "((((",
        '"',
        "a; =pass",
        "a; dkim=",
        "a; dkim=(x)",
        "\x00;\x00=\x00",
    ],
)
def test_junk_never_raises(junk: str) -> None:
    assert isinstance(parse_header(junk), AuthResults)


# --------------------------------------------------------------------------
# The corpus: every real header
# --------------------------------------------------------------------------

_CLAUSE_START = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)(?:/\d+)?\s*=\s*([^\s;]+)")


def _without_comments(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, re.sub(r"\([^()]*\)", " ", value)
    return value


def _corpus_headers() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in message_files():
        raw = path.read_bytes()
        if b"uthentication-results" not in raw.lower()[:200_000]:
            continue
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        for value in message.get_all("Authentication-Results") or []:
            found.append((path.name, str(value)))
    return found


def test_every_corpus_header_is_read() -> None:
    """Every ``method=result`` that starts a ``;`` clause of a real header is read as such.

    The expectation is computed from the header text with a rule independent
    of the parser (strip comments, split at ``;``, read the clause start), on
    headers without quoted strings (none of the real ones carry ``;`` inside
    quotes).
    """
    corpus_dir()
    headers = _corpus_headers()
    mails = {name for name, _ in headers}
    assert len(mails) >= 150, len(mails)
    wrong = []
    for name, value in headers:
        if '"' in value or "=?" in value:
            continue
        clauses = _without_comments(" ".join(value.split())).split(";")
        head = clauses[0].strip().split()
        first = 0 if head and "=" in head[0] else 1
        expected = [
            (m.group(1).lower(), m.group(2).lower())
            for clause in clauses[first:]
            if (m := _CLAUSE_START.match(clause))
        ]
        got = _results(value)
        if got != expected:
            wrong.append((name, value[:120], got, expected))
    assert wrong == []


def test_real_gmail_yahoo_and_microsoft_headers() -> None:
    corpus_dir()
    by_id: dict[str, list[AuthResults]] = {}
    for _, value in _corpus_headers():
        parsed = parse_header(value)
        by_id.setdefault(parsed.authserv_id, []).append(parsed)
    gmail = [r for h in by_id["mx.google.com"] for r in h.results if r.method == "dmarc"]
    assert any(r.result == "pass" and r.prop("header.from") == "googlemail.com" for r in gmail)
    yahoo = [h for key, hs in by_id.items() if key.endswith("yahoo.com") for h in hs]
    assert yahoo and all(any(r.method == "dkim" for r in h.results) for h in yahoo)
    microsoft = [r for h in by_id[""] for r in h.results if r.method == "dmarc"]
    assert microsoft and all(r.prop("header.from") for r in microsoft)


def test_no_corpus_header_vouches_for_us() -> None:
    """None of the corpus's own servers is ours: no real mail authenticates as a client."""
    corpus_dir()
    for path in message_files():
        raw = path.read_bytes()
        if b"uthentication-results" not in raw.lower()[:200_000]:
            continue
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        headers = [(k.lower(), str(v)) for k, v in message.items()]
        assert our_results(headers, OURS) == ()
        # Under the authserv-id of the mail's own first header, a verdict is still
        # never raised: only alignment with the From domain can authenticate.
        verdict = authenticate(headers, parse_header(headers[0][1]).authserv_id, "x@nowhere.test")
        assert not verdict.authenticated


# --------------------------------------------------------------------------
# Position: only the topmost headers of our server count
# --------------------------------------------------------------------------


def _ar(text: str) -> tuple[str, str]:
    return ("authentication-results", f"{OURS}; {text}")


RECEIVED_BY_US = ("received", "from mail.evil.example by mx.helpdesk.example with ESMTPS id 1")
RECEIVED_ELSEWHERE = ("received", "from attacker-pc by smtp.evil.example with ESMTPSA id 9")
DELIVERY_HOP = ("received", "from mx.helpdesk.example by imap.helpdesk.example with LMTP id 2")
REINJECTED = (
    "received",
    "from localhost (localhost [127.0.0.1]) by mx.helpdesk.example with ESMTP",
)
FORGED_LOCAL = ("received", "from localhost (localhost [127.0.0.1]) by mail.evil.example")
PASS = "dmarc=pass header.from=acme.example"
FAIL = "dmarc=fail header.from=acme.example"


@pytest.mark.parametrize(
    ("headers", "authenticated"),
    [
        pytest.param([_ar(PASS), RECEIVED_BY_US], True, id="ours on top"),
        pytest.param([DELIVERY_HOP, _ar(PASS), RECEIVED_BY_US], True, id="below dovecot's hop"),
        pytest.param([_ar(FAIL), RECEIVED_BY_US, _ar(PASS)], False, id="forged pass below ours"),
        pytest.param([RECEIVED_BY_US, _ar(PASS)], True, id="postfix: milter's below our received"),
        pytest.param(
            [REINJECTED, RECEIVED_BY_US, _ar(PASS), RECEIVED_ELSEWHERE],
            True,
            id="postfix with a content filter",
        ),
        pytest.param(
            [RECEIVED_BY_US, RECEIVED_ELSEWHERE, _ar(PASS)], False, id="lone forged header"
        ),
        pytest.param([RECEIVED_BY_US, FORGED_LOCAL, _ar(PASS)], False, id="forged localhost hop"),
        pytest.param(
            [RECEIVED_BY_US, _ar(FAIL), _ar(PASS)], False, id="forged next to our milter's fail"
        ),
        pytest.param(
            [
                RECEIVED_BY_US,
                _ar("dmarc=none header.from=acme.example"),
                _ar("dkim=none"),
                _ar("dkim=pass header.d=acme.example"),
            ],
            False,
            id="forged dkim below our milter's dkim",
        ),
        pytest.param(
            [
                RECEIVED_BY_US,
                _ar("dmarc=none header.from=acme.example"),
                _ar("dkim=pass header.d=acme.example"),
            ],
            True,
            id="no dmarc record, aligned dkim",
        ),
        pytest.param([("subject", "x"), RECEIVED_BY_US], False, id="no header at all"),
        pytest.param(
            [("authentication-results", f"mx.other.example; {PASS}"), RECEIVED_BY_US],
            False,
            id="another server's",
        ),
        pytest.param(
            [("authentication-results", f"MX.Helpdesk.Example (x); {PASS}"), RECEIVED_BY_US],
            True,
            id="authserv-id case and comment",
        ),
        pytest.param(
            [_ar("dkim=pass header.d=acme.example"), _ar("spf=pass"), RECEIVED_BY_US],
            True,
            id="OpenDKIM and SPF in two headers",
        ),
    ],
)
def test_position(headers: list[tuple[str, str]], authenticated: bool) -> None:
    assert authenticate(headers, OURS, "it@acme.example").authenticated is authenticated


def test_an_empty_authserv_id_trusts_nothing() -> None:
    assert our_results([_ar(PASS)], "") == ()


# --------------------------------------------------------------------------
# Alignment with the From domain
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "sender", "authenticated"),
    [
        ("dmarc=pass header.from=acme.example", "it@acme.example", True),
        ("dmarc=pass header.from=acme.example", "it@sub.acme.example", True),
        ("dmarc=pass header.from=evil.example", "it@acme.example", False),
        ("dmarc=pass", "it@acme.example", False),
        ("dkim=pass header.d=acme.example", "it@acme.example", True),
        ("dkim=pass header.d=acme.example", "it@mail.acme.example", True),
        ("dkim=pass header.i=@acme.example", "it@acme.example", True),
        ("dkim=pass header.d=mail.acme.example", "it@acme.example", False),
        ("dkim=pass header.d=evil.example", "it@acme.example", False),
        ("dkim=pass header.d=example", "it@acme.example", False),
        ("dkim=pass header.d=co.uk", "it@acme.co.uk", False),
        ("dkim=pass header.d=acme.co.uk", "it@shop.acme.co.uk", True),
        (
            "dkim=pass header.d=evil.example; dmarc=fail header.from=acme.example",
            "it@acme.example",
            False,
        ),
        (
            "dkim=pass header.d=acme.example; dmarc=fail header.from=acme.example",
            "it@acme.example",
            False,
        ),
        ("spf=pass smtp.mailfrom=it@acme.example", "it@acme.example", False),
        ("dkim=fail header.d=acme.example", "it@acme.example", False),
        ("dmarc=pass header.from=acme.example", "", False),
    ],
)
def test_alignment(result: str, sender: str, authenticated: bool) -> None:
    headers = [("authentication-results", f"{OURS}; {result}"), RECEIVED_BY_US]
    assert authenticate(headers, OURS, sender).authenticated is authenticated


def test_organisational_domain_from_the_bundled_list() -> None:
    assert organisational_domain("mail.acme.co.uk") == "acme.co.uk"
    assert organisational_domain("a.b.acme.example") == "acme.example"
    assert organisational_domain("co.uk") == ""
    assert organisational_domain("") == ""
    assert aligned("acme.co.uk", "shop.acme.co.uk")
    assert not aligned("co.uk", "acme.co.uk")
    assert not aligned("cme.example", "acme.example")


def test_method_result_prop_is_case_insensitive() -> None:
    result = MethodResult("dkim", "pass", properties=(("header.d", "x"),))
    assert result.prop("Header.D") == "x"
