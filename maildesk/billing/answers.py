"""A client's yes or no to a quote or an approval request, read from their reply (pure).

Clients answer in their own words, in English, Dutch or French. The text
given must be the *new* text of the reply (quote and signature removed), or
the words of our own mail would answer for them. Rules:

- Words are compared without case and accents (``Accepté`` is ``accepte``);
  French elisions are split (``l'accepte`` is ``accepte``, ``n'accepte`` is a
  negation), ``d'accord`` stays one word.
- An accepting word with a negation up to two words before it (``not``,
  ``don't``, ``niet``, ``pas``, ``ne``, ``n'`` …) refuses: ``niet akkoord``,
  ``pas d'accord``, ``do not accept``, ``je ne l'accepte pas``.
- ``no``, ``nee`` and ``non`` refuse only as the first word of a line
  ("No, thanks"), so "ok, no problem" still accepts.
- Both a yes and a no in one reply is no answer (``None``): a person reads it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

from maildesk.core.words import every_language

__all__ = ["Answer", "read_answer"]

Answer = Literal["accept", "refuse"]

# The words are data, one file per language (maildesk/lang/<code>/words.toml,
# table [answers]); an answer is read in whatever language it is written.
ACCEPT_WORDS: Final = frozenset(every_language("answers", "accept"))
REFUSE_WORDS: Final = frozenset(every_language("answers", "refuse"))
LINE_START_REFUSALS: Final = frozenset(every_language("answers", "line_start_refusals"))
NEGATIONS: Final = frozenset(every_language("answers", "negations"))
_WINDOW: Final = 2
_TOKEN_RE: Final = re.compile(r"[a-z]+(?:'[a-z]+)*")
_ELIDED: Final = ("l", "j", "qu", "c", "s", "m", "t")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    for token in _TOKEN_RE.findall(line):
        if token.endswith("n't") or token in ("dont", "cant", "wont", "doesnt", "didnt"):
            out.append("not")
            continue
        prefix, apostrophe, rest = token.partition("'")
        if apostrophe and token != "d'accord":
            if prefix == "n":
                out.extend(("n'", rest))
                continue
            if prefix in _ELIDED:
                out.append(rest)
                continue
        out.append(token)
    return out


def read_answer(text: str) -> Answer | None:
    """``accept``, ``refuse``, or ``None`` when the text says neither (or both)."""
    accepts = refuses = False
    for line in _plain(text).splitlines():
        tokens = _tokens(line)
        if tokens and tokens[0] in LINE_START_REFUSALS:
            refuses = True
        for i, token in enumerate(tokens):
            negated = any(t in NEGATIONS for t in tokens[max(0, i - _WINDOW) : i])
            if token in ACCEPT_WORDS:
                if negated:
                    refuses = True
                else:
                    accepts = True
            elif token in REFUSE_WORDS and not negated:
                refuses = True
    if accepts == refuses:
        return None
    return "accept" if accepts else "refuse"
