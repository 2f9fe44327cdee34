"""Find a word list's phrases in a mail as a reader would: any case, accents, inflection, gaps.

Clients write "Alle Studenten", "alle studenten" and "alle student"; "kan niemand
meer inloggen" where a list says "niemand inloggen"; "ne répond plus" with or
without its accent. Exact phrase matching misses all of these, so matching here
compares normalised words:

- **Words** are runs of letters and digits (``[^\\W_]+``); "can't" is the two
  words "can" and "t", "l'école" is "l" and "ecole".
- **Folded**: case-folded, diacritics removed (NFKD), before stemming, so that a
  mail with and without accents gives the same stems.
- **Stemmed** with the Snowball stemmer of the list's language
  (``snowballstemmer``, the maintained port of the Snowball algorithms for
  English, Dutch, French and German), so "users" is "user" and "studenten" is
  "student". This module is the only one that imports it.
- **Gaps**: between two words of a phrase up to :data:`MAX_GAP` other words may
  stand, in the phrase's order. Words written with ``_`` between them
  (``no_one``), and the pieces of one written word ("can't"), must stand side by
  side.

A text is matched as given; callers split it into sentences first where a
phrase must not reach across them. Mail text is sender-controlled, so only the
first :data:`MAX_WORDS` words are read and matching is linear in them for each
phrase (a phrase's first word is looked up in an index; the gap is bounded).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import snowballstemmer  # type: ignore[import-untyped]

__all__ = ["MAX_GAP", "MAX_WORDS", "Hit", "Phrase", "Words", "compile_phrases", "fold", "words_of"]

#: Other words allowed between two words of a phrase.
MAX_GAP: Final = 3
#: Words of a text read at most (a report's first screens say what it is about).
MAX_WORDS: Final = 5000

_ALGORITHMS: Final = {"en": "english", "nl": "dutch", "fr": "french", "de": "german"}
_WORD: Final = re.compile(r"[^\W_]+")
_APOSTROPHES: Final = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})


def fold(text: str) -> str:
    """Case-folded, diacritics removed: "Störung" and "STORUNG" fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    """:func:`fold` of one word, remembered: mails repeat their words (issue 20's profile)."""
    return fold(word)


@lru_cache(maxsize=8)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    try:
        return snowballstemmer.stemmer(_ALGORITHMS[language])
    except KeyError:
        raise ValueError(f"no stemmer for language {language!r}") from None


#: A Snowball stemmer object keeps the word it works on: one thread at a time.
_STEMMING: Final = threading.Lock()


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """The Snowball stem of one folded word."""
    with _STEMMING:
        result: str = _stemmer(language).stemWord(word)
    return result


@dataclass(frozen=True)
class Phrase:
    """A list entry, compiled: units of adjacent stems, with gaps allowed between units."""

    text: str
    units: tuple[tuple[str, ...], ...]


@lru_cache(maxsize=256)
def _compiled(language: str, phrases: tuple[str, ...]) -> tuple[Phrase, ...]:
    result: list[Phrase] = []
    for text in phrases:
        units = tuple(
            unit
            for unit in (
                tuple(stem(w, language) for w in _WORD.findall(fold(piece)))
                for piece in text.split()
            )
            if unit
        )
        if units:
            result.append(Phrase(" ".join(text.replace("_", " ").split()), units))
    return tuple(result)


def compile_phrases(language: str, phrases: Iterable[str]) -> tuple[Phrase, ...]:
    """``phrases`` of ``language``, stemmed once (cached per list)."""
    return _compiled(language, tuple(phrases))


@dataclass(frozen=True)
class Hit:
    """A phrase found: the list entry and the words of the mail that matched it."""

    phrase: str
    found: str
    start: int
    end: int


class Words:
    """One text's words in one language: stems, their places, and an index by stem."""

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        spans: list[tuple[int, int]] = []
        stems: list[str] = []
        for match in _WORD.finditer(text):
            if len(stems) >= MAX_WORDS:
                break
            folded = _fold_word(match.group())
            for piece in _WORD.findall(folded):
                stems.append(stem(piece, language))
                spans.append(match.span())
        self.stems: Sequence[str] = stems
        self.spans: Sequence[tuple[int, int]] = spans
        index: dict[str, list[int]] = {}
        for position, value in enumerate(stems):
            index.setdefault(value, []).append(position)
        self._index = index

    def find(self, phrase: Phrase, position: int = 0) -> Hit | None:
        """The first place ``phrase`` occurs at or after word ``position``, or None."""
        first = phrase.units[0]
        starts = self._index.get(first[0], [])
        for start in starts[bisect_left(starts, position) :]:
            end = self._unit_at(first, start)
            if end is None:
                continue
            last = self._rest(phrase.units, 1, end)
            if last is not None:
                begin, finish = self.spans[start][0], self.spans[last - 1][1]
                found = " ".join(self.text[begin:finish].split())
                return Hit(phrase.text, found, start, last)
        return None

    def find_from(self, phrases: Iterable[Phrase], position: int) -> Hit | None:
        """The earliest occurrence of any of ``phrases`` at or after word ``position``."""
        hits = [hit for hit in (self.find(p, position) for p in phrases) if hit is not None]
        return min(hits, key=lambda hit: (hit.start, -hit.end), default=None)

    def find_all(self, phrases: Iterable[Phrase]) -> list[Hit]:
        """Every phrase of ``phrases`` that occurs, each once, in list order."""
        return [hit for hit in map(self.find, phrases) if hit is not None]

    def _unit_at(self, unit: tuple[str, ...], position: int) -> int | None:
        end = position + len(unit)
        if end <= len(self.stems) and tuple(self.stems[position:end]) == unit:
            return end
        return None

    def _rest(self, units: tuple[tuple[str, ...], ...], k: int, after: int) -> int | None:
        """Where the match of ``units[k:]`` ends, starting within a gap after ``after``."""
        if k == len(units):
            return after
        for position in range(after, min(after + MAX_GAP + 1, len(self.stems))):
            end = self._unit_at(units[k], position)
            if end is not None:
                last = self._rest(units, k + 1, end)
                if last is not None:
                    return last
        return None


def words_of(text: str, language: str) -> Words:
    """The words of ``text`` for matching phrases of ``language``."""
    return Words(text, language)
