"""maildesk's word lists, one data file per language: ``maildesk/lang/<code>/words.toml``.

Words that decide something (an outage in plain words, a step written inline)
differ per language and grow with every mail a provider reads, so they are data
rather than code: a translator or an operator can read and extend them without
touching Python. Each file holds top-level tables (``[priority]``, ``[steps]``)
of named lists of words and phrases. This module loads them once, checks that
every language has every list :data:`LISTS` names (non-empty, strings only), and
caches the result; a broken file is a packaging error and raises
:class:`WordListError` naming the file, the list and the problem.

The tables: ``[priority]`` and ``[steps]`` (reading a report as the contract
means it), ``[answers]`` (a quote or an approval accepted or refused),
``[intake]`` (steps and login lines), ``[keywords]`` (a starter set of priority
keywords for configs to copy), ``[language]`` (telling the languages apart) and
``[auto_reply]`` (out-of-office subjects, as regular expressions). Adding a
language is adding a folder ``maildesk/lang/<code>/`` with this file (and, for a
language maildesk writes in, its ``templates/``).

Tables this module does not know are left alone, so that other lists can join
the same files without a change here. What the words mean and how they match is
the business of their users (:mod:`maildesk.core.phrases`,
:mod:`maildesk.ingest.severity`, :mod:`maildesk.ingest.inline_steps`).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Final

__all__ = [
    "LANGUAGES",
    "LISTS",
    "WordListError",
    "every_language",
    "load",
    "read_words",
    "word_list",
]

#: The languages that have a word file, as ISO 639-1 codes.
LANGUAGES: Final = ("en", "nl", "fr", "de")

#: Every list each language must have, per table.
LISTS: Final[dict[str, tuple[str, ...]]] = {
    "priority": (
        "scope_all",
        "scope_few",
        "impact_down",
        "impact_unusable",
        "impact_degraded",
        "impact_part",
        "rest_works",
    ),
    "steps": ("first", "next"),
    "answers": ("accept", "refuse", "line_start_refusals", "negations"),
    "intake": ("action_words", "login_labels"),
    "keywords": ("high", "normal", "low", "markers_high"),
    "language": ("common",),
    "auto_reply": ("subject_labels", "subject_sentences"),
}


class WordListError(ValueError):
    """A word file is missing, unreadable or lacks a list."""


def _path(language: str) -> str:
    return f"maildesk/lang/{language}/words.toml"


@cache
def load(language: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Every list of ``language``'s word file, validated; loaded once per process."""
    if language not in LANGUAGES:
        raise WordListError(f"no word lists for language {language!r} (known: {LANGUAGES})")
    where = _path(language)
    try:
        data = (resources.files("maildesk") / "lang" / language / "words.toml").read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WordListError(f"{where}: cannot be read: {exc}") from None
    return read_words(text, where)


def read_words(text: str, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The lists :data:`LISTS` names in the TOML ``text`` of a word file, checked.

    ``where`` names the file in errors.
    """
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WordListError(f"{where}: not valid TOML: {exc}") from None
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for table, names in LISTS.items():
        section = parsed.get(table)
        if not isinstance(section, dict):
            raise WordListError(f"{where}: table [{table}] is missing")
        unknown = sorted(set(section) - set(names))
        if unknown:
            raise WordListError(f"{where}: [{table}] has unknown lists {unknown}")
        result[table] = {name: _checked(where, table, name, section.get(name)) for name in names}
    return result


def _checked(where: str, table: str, name: str, value: object) -> tuple[str, ...]:
    if value is None:
        raise WordListError(f"{where}: [{table}] {name} is missing")
    if not isinstance(value, list) or not value:
        raise WordListError(f"{where}: [{table}] {name} must be a non-empty list of words")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise WordListError(f"{where}: [{table}] {name} holds an empty or non-text entry")
    return tuple(value)


def word_list(language: str, table: str, name: str) -> tuple[str, ...]:
    """One list of one language (``word_list("nl", "priority", "scope_all")``)."""
    if name not in LISTS.get(table, ()):
        raise WordListError(f"unknown word list [{table}] {name}")
    return load(language)[table][name]


def every_language(table: str, name: str) -> tuple[str, ...]:
    """One list of every language, in :data:`LANGUAGES` order, each entry once.

    For words read in a mail of any language (an acceptance, a login label).
    """
    seen: dict[str, None] = {}
    for language in LANGUAGES:
        seen.update(dict.fromkeys(word_list(language, table, name)))
    return tuple(seen)
