"""Any subject maildesk writes is read back as the same string.

Python 3.11's header folding dropped the space between two encoded words
("n'a pas été envoyée" read back as "n'a pas étéenvoyée"), about one accented
French subject in sixteen. A mail program and mail-parser must both read back
exactly the subject maildesk meant, whatever its script and length.
"""

from __future__ import annotations

import email
import email.policy
import unicodedata
from datetime import UTC, datetime

import mailparser
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maildesk.mail.compose import Draft, Identity, compose

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
IDENTITY = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "md")

# Any character a subject can hold on one line: no control characters, line or
# paragraph separators (a line break in a header is refused), no lone surrogates.
_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
# In NFC, as text is stored (mail-parser gives compatibility ideographs in NFC).
_SUBJECTS = (
    st.text(_CHARS, min_size=1, max_size=400)
    .map(str.strip)
    .filter(lambda s: s and unicodedata.normalize("NFC", s) == s)
)
_FRENCH = st.lists(
    st.sampled_from(
        [
            "le",
            "message",
            "n'a",
            "pas",
            "été",
            "envoyée",
            "à",
            "votre",
            "adresse",
            "électronique",
            "car",
            "le",
            "serveur",
            "était",
            "indisponible",
            "pendant",
            "la",
            "maintenance",
            "planifiée",
            "[#2026-000123]",
            "Ré:",
        ]
    ),
    min_size=1,
    max_size=40,
).map(" ".join)


def _read_back(subject: str) -> tuple[str, str]:
    _, data = compose(Draft("ack", ("client@acme.example",), subject, "x\n"), IDENTITY, NOW)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"\n" not in head.replace(b"\r\n", b""), head  # no bare LF or CR
    assert b"\r" not in head.replace(b"\r\n", b""), head
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    stdlib = str(email.message_from_bytes(data, policy=email.policy.default)["Subject"])
    return stdlib, mailparser.parse_from_bytes(data).subject


@settings(max_examples=300, deadline=None)
@given(_FRENCH)
@example("le message n'a pas été envoyée à votre adresse électronique car le serveur était")
@example("le message message message [#2026-000123] [#2026-000123] [#2026-000123]")
def test_accented_french_subjects_keep_every_space(subject: str) -> None:
    assert _read_back(subject) == (subject, subject)


@settings(max_examples=300, deadline=None)
@given(_SUBJECTS)
def test_any_subject_reads_back_as_written(subject: str) -> None:
    assert _read_back(subject) == (subject, subject)
