"""The README's Postfix ``header_checks`` line, applied as Postfix applies it.

Postfix matches each logical header of the incoming mail (folded lines
joined) against the regexp, case-insensitively by default, and ``IGNORE``
drops it; the headers its milters (OpenDMARC, rspamd) add afterwards are not
checked. So: headers with our authserv-id go (forged, or a real one of a corpus mail that
happens to name it), every other header stays, and what maildesk then
reads is the milter's verdict alone.
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from maildesk.mail.authresults import authenticate, parse_header
from tests.corpus import corpus_dir, message_files

README = Path(__file__).resolve().parents[2] / "README.md"
AUTHSERV_ID = "mx.example.com"  # the README's example


def _snippet() -> re.Pattern[str]:
    """The regexp of the README's header_checks line (``/pattern/  IGNORE``)."""
    lines = [
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("/^Authentication-Results:") and line.rstrip().endswith("IGNORE")
    ]
    assert len(lines) == 1, lines
    pattern = lines[0].rstrip()[: -len("IGNORE")].strip()
    assert pattern.startswith("/") and pattern.endswith("/")
    # POSIX ERE as Postfix's regexp tables read it; Python spells [[:space:]] \s.
    return re.compile(pattern[1:-1].replace("[:space:]", r"\s"), re.IGNORECASE)


def _postfix(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers left after header_checks: each logical header matched as one line."""
    check = _snippet()
    return [(n, v) for n, v in headers if not check.search(f"{n}: {' '.join(v.split())}")]


FORGED = [
    f"{AUTHSERV_ID}; dmarc=pass header.from=acme.example",
    f"{AUTHSERV_ID.upper()}; dkim=pass header.d=acme.example",
    f"{AUTHSERV_ID} 1; dmarc=pass header.from=acme.example",
    f"(our server) {AUTHSERV_ID};\r\n\tdmarc=pass header.from=acme.example",
    f'"{AUTHSERV_ID}"; dmarc=pass header.from=acme.example',
    f"((nested) comment) {AUTHSERV_ID} (x); dmarc=pass header.from=acme.example",
    f"{AUTHSERV_ID}(x);dmarc=pass header.from=acme.example",
]


@pytest.mark.parametrize("value", FORGED)
def test_forged_headers_with_our_authserv_id_are_dropped(value: str) -> None:
    assert _postfix([("Authentication-Results", value)]) == []


@pytest.mark.parametrize(
    "value",
    [
        "mx.example.jp; sender-id=none header.from=MAILER-DAEMON@mx.example.com",
        "mx.example.com.evil.example; dmarc=pass header.from=acme.example",
        "other.example; dkim=pass header.d=mx.example.com",
    ],
)
def test_other_servers_headers_naming_our_host_stay(value: str) -> None:
    assert _postfix([("Authentication-Results", value)]) != []


def test_the_corpus_loses_only_headers_with_our_authserv_id() -> None:
    corpus_dir()
    kept = checked = 0
    for path in message_files():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        headers = [(k, str(v)) for k, v in message.items()]
        checked += 1
        # Dropped: exactly the headers whose authserv-id, as maildesk reads it, is ours.
        expected = [
            (n, v)
            for n, v in headers
            if n.lower() != "authentication-results" or parse_header(v).authserv_id != AUTHSERV_ID
        ]
        assert _postfix(headers) == expected, path.name
        kept += sum(1 for n, _ in expected if n.lower() == "authentication-results")
    assert checked > 1000 and kept > 150


def test_after_header_checks_only_the_milters_verdict_counts() -> None:
    """A forged pass arrives; Postfix drops it; OpenDMARC adds its fail on top."""
    incoming = [
        ("Authentication-Results", f"{AUTHSERV_ID}; dmarc=pass header.from=acme.example"),
        ("From", "it@acme.example"),
        ("Subject", "Please reset the password"),
    ]
    delivered = [
        ("authentication-results", f"{AUTHSERV_ID}; dmarc=fail header.from=acme.example"),
        ("received", f"from mail.evil.example by {AUTHSERV_ID} with ESMTPS id 1"),
        *((n.lower(), v) for n, v in _postfix(incoming)),
    ]
    assert [n for n, _ in delivered].count("authentication-results") == 1
    assert not authenticate(delivered, AUTHSERV_ID, "it@acme.example").authenticated
    # Without the header_checks line, the forgery would still be there (below ours).
    assert any("pass" in v for n, v in incoming if n == "Authentication-Results")
