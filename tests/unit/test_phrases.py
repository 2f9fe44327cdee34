"""Phrases found as a reader finds them: any case, accents, inflection, and small gaps."""

from __future__ import annotations

import pytest

from maildesk.core.phrases import MAX_GAP, MAX_WORDS, compile_phrases, words_of

NOBODY = "niemand meer inloggen"


def found(phrase: str, text: str, language: str = "nl") -> str | None:
    (compiled,) = compile_phrases(language, [phrase])
    hit = words_of(text, language).find(compiled)
    return hit.found if hit else None


@pytest.mark.parametrize(
    ("phrase", "text", "language", "expected"),
    [
        ("alle gebruikers", "ALLE GEBRUIKERS zijn getroffen", "nl", "ALLE GEBRUIKERS"),
        ("alle gebruikers", "voor alle gebruiker", "nl", "alle gebruiker"),  # inflection
        ("störung", "Storungen seit heute", "de", "Storungen"),  # accent and plural
        ("Störung", "STÖRUNG", "de", "STÖRUNG"),
        ("ne répond plus", "le site ne repond plus", "fr", "ne repond plus"),
        ("tous les utilisateurs", "Tous les Utilisateurs", "fr", "Tous les Utilisateurs"),
        ("all users", "all of our users", "en", "all of our users"),  # a gap of two
        ("can_t log in", "I can’t log in", "en", "can’t log in"),  # curly apostrophe
        (
            "niemand inloggen",
            "Sinds 23:00 kan niemand meer inloggen.",
            "nl",
            "niemand meer inloggen",
        ),
        ("502", "een 502 error", "nl", "502"),
    ],
)
def test_found(phrase: str, text: str, language: str, expected: str) -> None:
    assert found(phrase, text, language) == expected


def test_gap_is_bounded() -> None:
    gap = " ".join(["meer"] * MAX_GAP)
    assert found("niemand inloggen", f"niemand {gap} inloggen") is not None
    assert found("niemand inloggen", f"niemand {gap} meer inloggen") is None


def test_order_matters() -> None:
    assert found("niemand inloggen", "inloggen kan niemand") is None


def test_joined_words_stand_side_by_side() -> None:
    assert found("no_one", "no problem for one student", "en") is None
    assert found("no_one", "No one can log in", "en") == "No one"
    assert found("no one", "no problem for one student", "en") == "no problem for one"


def test_whole_words_only() -> None:
    assert found("down", "I downloaded the file", "en") is None
    assert found("alle", "allemaal", "nl") is None


def test_only_the_first_words_are_read() -> None:
    filler = "bla " * MAX_WORDS
    assert found("storing", f"storing {filler}") == "storing"
    assert found("storing", f"{filler} storing") is None


def test_find_from_gives_the_earliest_after_a_position() -> None:
    phrases = compile_phrases("en", ["then", "after that"])
    words = words_of("first log in, then open, after that click", "en")
    first = words.find_from(phrases, 0)
    assert first is not None and first.found == "then"
    second = words.find_from(phrases, first.end)
    assert second is not None and second.found == "after that"
    assert words.find_from(phrases, second.end) is None


def test_blank_phrases_are_left_out() -> None:
    assert compile_phrases("en", ["  ", "...", "ok"])[0].text == "ok"
    assert len(compile_phrases("en", ["  ", "...", "ok"])) == 1
