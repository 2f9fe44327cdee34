"""Which language to answer in: the client's, else a guess from the mail, else the default.

The guess counts common short words of each language maildesk writes (en, nl,
fr); it needs a clear lead, so a mail of three words or of mixed languages
falls back to the default rather than to a coin toss.
"""

from __future__ import annotations

import re

_WORDS = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "was",
            "not",
            "have",
            "this",
            "that",
            "with",
            "for",
            "you",
            "our",
            "your",
            "please",
            "thank",
            "thanks",
            "can",
            "cannot",
            "does",
            "when",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "is",
            "zijn",
            "niet",
            "met",
            "voor",
            "van",
            "dat",
            "dit",
            "wij",
            "jullie",
            "u",
            "uw",
            "graag",
            "bedankt",
            "kan",
            "kunnen",
            "werkt",
            "wanneer",
            "ook",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "un",
            "une",
            "et",
            "est",
            "sont",
            "pas",
            "avec",
            "pour",
            "que",
            "vous",
            "nous",
            "votre",
            "merci",
            "bonjour",
            "peut",
            "fonctionne",
            "quand",
            "aussi",
        ]
    ),
}
_TOKEN = re.compile(r"[a-zà-ÿ']+")


def guess_language(text: str) -> str | None:
    """ "en", "nl" or "fr" when the text clearly is that language, else None."""
    tokens = _TOKEN.findall(text.lower()[:5000])
    scores = {lang: sum(1 for t in tokens if t in words) for lang, words in _WORDS.items()}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= 3 and top >= 2 * second:
        return best
    return None


def choose_language(client_language: str | None, text: str, default: str) -> str:
    """The client's language, else the mail's, else the service default."""
    return client_language or guess_language(text) or default
