"""Steps written inside a line: "1. inloggen 2. quiz openen", "first … then …", "Menu > Export".

Many clients write the steps they took on one line, or in one sentence, rather
than as a list: a numbered run inside a paragraph ("Stappen: 1. inloggen 2. quiz
openen 3. op start klikken", typical of Outlook's HTML), a sequence of clauses
("eerst … daarna … dan", "first … then …", "d'abord … puis …", "zuerst …
dann …"), or a menu path ("Menu > Export > CSV"). Asking such a client for the
steps they gave is the mistake the contract's "bij voorkeur" least forgives,
so :func:`find_inline_steps` recognises these three forms:

``numbered``
    Within one line, ``min_items`` numbers in a row (``1. … 2. …`` or ``1) …
    2) …``), each followed by a blank and a letter, counting up by one. A time
    ("13.00"), a version ("4.2"), a date ("3. März") does not count up from a
    run that started elsewhere, so one number alone never counts.
``sequence``
    Within one paragraph, a "first" word (``[steps] first`` of any language's
    ``words.toml``) followed by at least ``min_items - 1`` "next" words
    (``[steps] next``), each at least two words after the one before. "First
    of all, thanks" has no "next" after it. Without a "first" word,
    ``min_items`` "next" words in a paragraph that also holds an action word
    ("clicks Enrol, then Confirm, and then …").
``path``
    Within one line, at least three items joined by ``>``, ``→``, ``->``,
    ``=>`` or ``»``, each item one to four words starting with a letter, so a
    comparison ("x > 5") or a quoted line ("> text") is not a path.

Evidence is short text for the ticket's history: "3 inline numbered steps",
"sequence: eerst … daarna", "menu path: Menu > Export > CSV". Pure code; every
pattern is linear in the text.
"""

from __future__ import annotations

import re
from typing import Final

from maildesk.core.phrases import Hit, Phrase, Words, compile_phrases, fold, words_of
from maildesk.core.words import LANGUAGES, word_list

__all__ = ["find_inline_steps"]

# "1. word" or "1) word" anywhere in a line, not part of a longer number or a decimal.
_NUMBER: Final = re.compile(r"(?<![\w.,:/-])(\d{1,2})[.)][ \t]+(?=[^\W\d_])")
_ARROW: Final = r"[ \t]*(?:->|=>|→|»|>)[ \t]*"
_ITEM: Final = r"[^\W\d_][\w'’&./-]*(?:[ \t]+[\w'’&./-]+){0,3}"
_PATH: Final = re.compile(rf"(?<![\w>])({_ITEM})(?:{_ARROW}{_ITEM}){{2,}}")
_PARAGRAPH: Final = re.compile(r"\n[ \t]*\n")
_CUT: Final = 60


def _numbered(text: str, min_items: int) -> str | None:
    best = 0
    for line in text.splitlines():
        run, expected = 0, None
        for match in _NUMBER.finditer(line):
            number = int(match.group(1))
            if expected is not None and number == expected:
                run += 1
            elif number == 1:
                run = 1
            else:
                run = 0
            expected = number + 1 if run else None
            best = max(best, run)
    return f"{best} inline numbered steps" if best >= min_items else None


def _path(text: str) -> str | None:
    for line in text.splitlines():
        if line.lstrip().startswith(">"):
            continue  # a quoted line
        match = _PATH.search(line)
        if match is not None:
            path = " ".join(match.group().split())
            return f"menu path: {path if len(path) <= _CUT else path[: _CUT - 1] + '…'}"
    return None


def _phrases(name: str) -> dict[str, tuple[Phrase, ...]]:
    return {lang: compile_phrases(lang, word_list(lang, "steps", name)) for lang in LANGUAGES}


def _sequence(text: str, min_items: int, action: re.Pattern[str] | None) -> str | None:
    firsts, nexts = _phrases("first"), _phrases("next")
    for paragraph in _PARAGRAPH.split(text):
        for language in LANGUAGES:
            words = words_of(paragraph, language)
            start = _earliest(words.find_all(firsts[language]))
            if start is not None:
                later = _after(words, nexts[language], start.end)
                if len(later) >= min_items - 1:
                    return f"sequence: {start.found} … {' … '.join(h.found for h in later[:2])}"
            elif action is not None and action.search(fold(paragraph)):
                later = _after(words, nexts[language], -2)
                if len(later) >= min_items:
                    return f"sequence: {' … '.join(h.found for h in later[:3])}"
    return None


def _earliest(hits: list[Hit]) -> Hit | None:
    return min(hits, key=lambda hit: hit.start, default=None)


def _after(words: Words, phrases: tuple[Phrase, ...], position: int) -> list[Hit]:
    """ "next" words after ``position``, each at least two words after the one before."""
    found: list[Hit] = []
    hit = words.find_from(phrases, position + 2)
    while hit is not None:
        found.append(hit)
        hit = words.find_from(phrases, hit.end + 2)
    return found


def find_inline_steps(
    text: str, min_items: int, action: re.Pattern[str] | None = None
) -> str | None:
    """Evidence of steps written inline in ``text``, or None.

    ``action`` finds an action word in folded text (``intake``'s list): with it,
    ``min_items`` "next" words in a paragraph that names an action are a
    sequence too ("she clicks Enrol, then Confirm, and then gets an error").
    """
    return _numbered(text, min_items) or _path(text) or _sequence(text, min_items, action)
