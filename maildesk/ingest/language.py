"""Which language to answer in: the client's, else a guess from the mail, else the default.

The guess counts common short words of each language maildesk writes (en, nl,
fr); it needs a clear lead, so a mail of three words or of mixed languages
falls back to the default rather than to a coin toss.
"""

from __future__ import annotations

import re

from maildesk.core.words import word_list

# Common short words of each language maildesk writes in (data: the [language]
# table of maildesk/lang/<code>/words.toml); a guess is only ever a language
# there are templates for.
_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(word_list(language, "language", "common"))
    for language in ("en", "nl", "fr")
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
