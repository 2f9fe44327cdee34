"""New-text extraction on the shared real-world corpus.

``email_reply_trimmer/`` (Discourse's reply trimmer test set) is the reference:
for every ``emails/X.txt`` it gives the new text a person typed
(``trimmed/X.txt``) and what was cut (``elided/X.txt``), in a dozen languages.
Every file is asserted on its own (one test per file, id = its name) against
the trimmed text with maildesk's default languages, lines compared without
trailing whitespace and without leading or trailing blank lines (indentation
counts). The files that do not match are listed below with the reason, as
strict xfails, so that an improvement shows up as an XPASS to take off the list.

Weaker properties that must hold on every trimmer file, whether it matches or
not, check what matters most to maildesk: nothing typed at the top is lost,
nothing is invented or reordered, a quote is never left at the end, and the
first quoted line of the earlier mail is never part of the new text.

The github / zapier / mail-parser-reply body sets have no expected answers
upstream: every distinct file must give non-empty text without an exception,
within a hang guard (pytest-timeout; timings are not asserted).
"""

from __future__ import annotations

import csv
import re

import pytest

from maildesk.mail.reply import DEFAULT_LANGUAGES, extract_new_text
from tests.corpus import corpus_dir, corpus_path_or_none

pytestmark = pytest.mark.corpus

ROOT = corpus_path_or_none()
TRIMMER = "email_reply_trimmer"
BODY_SETS = ("github-email_reply_parser", "zapier-email-reply-parser", "mail-parser-reply")

_QUOTED = re.compile(r"^[ \t]*>")

# Files in a language outside DEFAULT_LANGUAGES, with the code that makes them match.
OTHER_LANGUAGE: dict[str, str] = {
    "email_headers_4.txt": "it",
    "embedded_email_swedish.txt": "sv",
    "embedded_email_norwegian.txt": "da",  # the Danish patterns read Norwegian too
}

# Trimmer files whose trimmed text maildesk does not give: file -> why.
MISMATCH: dict[str, str] = {
    "email_headers_4.txt": "Italian Outlook block (Da:/Data:/Oggetto:): not a default language",
    "embedded_email_swedish.txt": "Swedish Outlook block (Från:/Skickat:): not a default language",
    "embedded_email_norwegian.txt": (
        "Norwegian 'Den … skrev …:' above an unmarked quote, 'Sendt fra min iPad':"
        " not a default language"
    ),
    "embedded_email_11.txt": (
        "Gmail attribution without a verb or colon ('2016-03-03 17:21 GMT+01:00 Some One')"
        " above an unmarked earlier mail: nothing says it is a quote"
    ),
    "embedded_email_4.txt": (
        "old Gmail attribution without a verb ('2013/7/20 sam via … <…>') above a quote"
        " marked with '|', not '>'"
    ),
    "embedded_email_12.txt": (
        "attribution broken over five lines with a blank line inside"
        " ('On … Some One' / '' / '<' / 'mailto:…' / '> wrote:')"
    ),
    "embedded_email_7.txt": (
        "deliberate: the trimmer keeps text typed below a single quote block (and a"
        " supercite 'C>' quote); maildesk cuts at the first quote header unless answers"
        " interleave with more quoted lines"
    ),
    "embedded_email_17.txt": (
        "deliberate: the trimmer keeps inline answers below a second attribution;"
        " maildesk stops at the next unquoted quote header"
    ),
    "signatures.txt": (
        "30 mobile trailers in many forms ('<<sent by galaxy>>', K-9 Mail, Chinese);"
        " maildesk peels only the common 'Sent from my …' family"
    ),
    "spam_1.txt": (
        "deliberate: a mail that is all quote is returned whole (never lost silently);"
        " the trimmer returns nothing"
    ),
}


def _read_tsv(name: str) -> list[dict[str, str]]:
    if ROOT is None or not (ROOT / name).is_file():
        return []
    with (ROOT / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


DUPLICATES = frozenset(row["path"] for row in _read_tsv("DUPLICATES.tsv"))


def _trimmer_names() -> list[str]:
    if ROOT is None:
        return []
    return sorted(path.name for path in (ROOT / TRIMMER / "emails").glob("*.txt"))


def _body_files() -> list[str]:
    if ROOT is None:
        return []
    return [
        path.relative_to(ROOT).as_posix()
        for name in BODY_SETS
        for path in sorted((ROOT / name / "emails").glob("*.txt"))
        if path.relative_to(ROOT).as_posix() not in DUPLICATES
    ]


def _params(names: list[str], xfails: dict[str, str] | None = None) -> list[object]:
    if ROOT is None:
        return [pytest.param(None, id="corpus-missing")]
    xfails = xfails or {}
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(reason=xfails[name], strict=True)] if name in xfails else [],
        )
        for name in names
    ]


def _trimmer(name: str | None, folder: str) -> str:
    if name is None:
        corpus_dir()  # skips, or fails under MAILDESK_REQUIRE_CORPUS=1
        raise AssertionError("unreachable")
    return (corpus_dir() / TRIMMER / folder / name).read_text(encoding="utf-8")


def normalized(text: str) -> str:
    """Lines without trailing whitespace, without leading or trailing blank lines."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _typed(line: str) -> str:
    return re.sub(r"^[\s>]*", "", line).strip()


# --------------------------------------------------------------------------
# email_reply_trimmer: exact answers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", _params(_trimmer_names(), MISMATCH))
def test_trimmer_sample(name: str | None) -> None:
    mail = _trimmer(name, "emails")
    assert normalized(extract_new_text(mail)) == normalized(_trimmer(name, "trimmed"))


@pytest.mark.parametrize("name", _params(sorted(OTHER_LANGUAGE)))
def test_trimmer_sample_in_its_own_language(name: str | None) -> None:
    """The three language misses match once the mail's language is configured."""
    mail = _trimmer(name, "emails")
    assert name is not None
    languages = [*DEFAULT_LANGUAGES, OTHER_LANGUAGE[name]]
    assert normalized(extract_new_text(mail, languages)) == normalized(_trimmer(name, "trimmed"))


def test_trimmer_figures() -> None:
    """54 of the 64 files match exactly with the default languages; the rest are listed."""
    corpus_dir()
    names = _trimmer_names()
    assert len(names) == 64
    assert set(MISMATCH) <= set(names)
    assert set(OTHER_LANGUAGE) <= set(MISMATCH)
    assert len(names) - len(MISMATCH) == 54


# --------------------------------------------------------------------------
# email_reply_trimmer: properties on every file
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", _params(_trimmer_names()))
def test_trimmer_properties(name: str | None) -> None:
    mail = _trimmer(name, "emails")
    trimmed = _trimmer(name, "trimmed")
    elided = _trimmer(name, "elided")
    new = extract_new_text(mail)
    mail_lines = [line.rstrip() for line in normalized(mail).split("\n")]
    new_lines = new.split("\n")
    all_quote = not any(line.strip() and not _QUOTED.match(line) for line in mail_lines)

    # Nothing typed at the top is lost: the new text starts where the person's text does.
    typed = [line.strip() for line in trimmed.split("\n") if line.strip()]
    if typed:
        assert new.strip().split("\n")[0].strip() == typed[0]

    # Nothing invented, reordered or re-indented: the new text is a run of the mail's lines.
    remaining = iter(mail_lines)
    assert all(any(line.rstrip() == source for source in remaining) for line in new_lines)

    # A quote never ends the new text, unless the mail is nothing but quote.
    filled = [line for line in new_lines if line.strip()]
    assert all_quote or not _QUOTED.match(filled[-1])

    # The first quoted line of the earlier mail is not part of the new text.
    shown = {_typed(line) for line in trimmed.split("\n")}
    first_quoted = next(
        (
            line.rstrip()
            for line in elided.split("\n")
            if _QUOTED.match(line) and len(_typed(line)) >= 8 and _typed(line) not in shown
        ),
        None,
    )
    if first_quoted is not None and not all_quote:
        assert first_quoted not in {line.rstrip() for line in new_lines}


# --------------------------------------------------------------------------
# Body sets without expected answers
# --------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("rel", _params(_body_files()))
def test_body_sample_gives_new_text(rel: str | None) -> None:
    """No exception, and text out for text in (the 750 KB long quote included)."""
    if rel is None:
        corpus_dir()
        raise AssertionError("unreachable")
    mail = (corpus_dir() / rel).read_bytes().decode("utf-8", errors="replace")
    new = extract_new_text(mail)
    assert mail.strip()
    assert new.strip()
    assert new == new.rstrip()
    assert "\r" not in new
