"""How urgent is a new report? Markers, then keywords, then the defaults.

A contract's priorities decide its SLA targets and whether the on-call
technician is paged out of hours, so the choice must be predictable and
explainable: :func:`decide_priority` returns the priority together with the
rule that decided it ("marker [P1] in subject", "keyword 'niet bereikbaar' in
text", "client default", "policy default"), and that rule is recorded on the
ticket. Staff can always change the priority afterwards (``#priority high``),
as the contracts allow "after consultation"; this is only the first guess.

Order, first hit wins:

1. **Markers** in the subject, only when ``allow_markers`` (the caller decides
   who may set them, e.g. authorised contacts only, so that not every sender
   can page someone at night). ``PriorityRules.markers`` per priority, high
   before normal before low: ``[P1]``, ``urgent`` …
2. **Scope × impact**, when the policy has ``scope_impact``: who is affected
   and how, read as the contract's definitions
   (:mod:`maildesk.ingest.severity`). The rule names the words and the cell:
   "scope: alle gebruikers; impact: onbereikbaar (all users, unusable) → High".
   When it decides nothing but is unsure, :attr:`PriorityDecision.unsure`
   says why, for the out-of-hours notice.
3. **Keywords** in the subject, then the text: ``PriorityRules.keywords``,
   high before normal before low, each priority's keywords in their configured
   order. The first keyword of the highest priority that matches decides.
4. The **client's default** priority, if the client has one.
5. The **policy default** (``PriorityRules.default``).

Matching, for markers and keywords (scope × impact words match by stem, see
:mod:`maildesk.core.phrases`):

- Case-insensitive and accent-insensitive: both sides are case-folded and
  stripped of diacritics, so "Störung" in config matches "STÖRUNG" and
  "Storung" in a mail, and "ne répond plus" matches "ne repond plus" (the
  German "oe" spelling is not folded). Curly apostrophes equal straight ones.
- Whole words and phrases: where a marker or keyword begins or ends with a
  letter or digit, the neighbouring character must be neither a letter, a
  digit nor a hyphen. So "down" does not match "download", "downtime" or
  "drop-down", and "urgent" does not match "non-urgent". Bracketed markers
  such as ``[P1]`` match wherever they appear. A phrase's words match across
  any run of whitespace, line breaks included.
- A bare word can still hit the wrong sense: "down" in "scroll down" or "drop
  down menu". That is why :data:`DEFAULT_KEYWORDS` uses phrases ("is down",
  "server down") for such words; a provider's config decides its own list.
- Negation is not understood: "the site is not down anymore" matches "is
  down". A reliable reading of negation in three languages is beyond a
  keyword list, and a false "high" costs less than a missed outage; staff
  lower the priority with ``#priority``. Quoted text should be removed by the
  caller, so an old "down" quoted in a reply does not count.

``decide_priority`` uses only the rules it is given: :data:`DEFAULT_KEYWORDS`
and :data:`DEFAULT_MARKERS` are starter sets for example configs to copy,
never applied behind a provider's back. Pure code: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from maildesk.core.policy import PRIORITIES, Priority, PriorityRules
from maildesk.core.words import every_language
from maildesk.ingest.severity import read_severity

__all__ = [
    "DEFAULT_KEYWORDS",
    "DEFAULT_MARKERS",
    "PriorityDecision",
    "decide_priority",
]


@dataclass(frozen=True)
class PriorityDecision:
    """The priority chosen for a new report and the rule that chose it."""

    priority: Priority
    rule: str
    unsure: str | None = None


#: A starter set of keywords (en, nl, fr, de) for example configs to copy: data,
#: the [keywords] table of maildesk/lang/<code>/words.toml. Ambiguous single words
#: are written as phrases ("is down", not "down", which would hit "scroll down").
#: "all users" is high here, as a report that nobody can work is what the
#: learning-platform contract calls whole-service.
DEFAULT_KEYWORDS: Final[dict[Priority, tuple[str, ...]]] = {
    priority: every_language("keywords", priority) for priority in PRIORITIES
}

#: A starter set of subject markers for example configs to copy.
DEFAULT_MARKERS: Final[dict[Priority, tuple[str, ...]]] = {
    "high": ("[P1]", *every_language("keywords", "markers_high")),
    "normal": ("[P2]",),
    "low": ("[P3]",),
}


def decide_priority(
    subject: str,
    text: str,
    rules: PriorityRules,
    *,
    allow_markers: bool,
    client_default: str | None,
) -> PriorityDecision:
    """The priority of a new report, and the rule that decided it.

    ``text`` is the new text of the mail (quotes removed). ``client_default``
    is the client's own default priority, if any; an unknown value is a
    configuration error and raises :class:`ValueError`.
    """
    default = _checked(client_default)
    folded_subject = _fold(subject)
    if allow_markers:
        for priority in PRIORITIES:
            for marker in rules.markers.get(priority, ()):
                if _matches(marker, folded_subject):
                    return PriorityDecision(priority, f"marker {marker.strip()} in subject")
    unsure: str | None = None
    if rules.scope_impact is not None:
        reading = read_severity(subject, text, rules.scope_impact)
        if reading.priority is not None:
            return PriorityDecision(reading.priority, _cut(reading.rule))
        unsure = reading.unsure
    folded_text = _fold(text)
    present = {*_WORD.findall(folded_subject), *_WORD.findall(folded_text)}
    for priority in PRIORITIES:
        for keyword in rules.keywords.get(priority, ()):
            if not present.issuperset(_words(keyword)):
                continue
            if _matches(keyword, folded_subject):
                rule = f"keyword '{keyword.strip()}' in subject"
                return PriorityDecision(priority, _cut(rule), _unless_high(priority, unsure))
            if _matches(keyword, folded_text):
                rule = f"keyword '{keyword.strip()}' in text"
                return PriorityDecision(priority, _cut(rule), _unless_high(priority, unsure))
    if default is not None:
        return PriorityDecision(default, "client default", _unless_high(default, unsure))
    return PriorityDecision(rules.default, "policy default", _unless_high(rules.default, unsure))


#: The ticket's ``priority_rule`` column holds 200 characters.
_RULE_MAX: Final = 200


def _cut(rule: str) -> str:
    return rule if len(rule) <= _RULE_MAX else rule[: _RULE_MAX - 1] + "…"


def _unless_high(priority: Priority, unsure: str | None) -> str | None:
    """Doubt matters only where the report is not already paged as High."""
    return None if priority == "high" else unsure


def _checked(value: str | None) -> Priority | None:
    if value is None:
        return None
    for priority in PRIORITIES:
        if value == priority:
            return priority
    raise ValueError(f"unknown client default priority {value!r} (expected high, normal or low)")


# Same folding as ``maildesk.ingest.intake``: case-folded, diacritics removed,
# typographic apostrophes made straight.
_APOSTROPHES: Final = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1024)
def _pattern(phrase: str) -> re.Pattern[str] | None:
    """Whole-word pattern for a marker or keyword; None for a blank one."""
    words = _fold(phrase).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    first, last = words[0][0], words[-1][-1]
    before = r"(?<![\w-])" if first.isalnum() or first == "_" else ""
    after = r"(?![\w-])" if last.isalnum() or last == "_" else ""
    return re.compile(before + body + after)


_WORD: Final = re.compile(r"\w+")


@lru_cache(maxsize=1024)
def _words(phrase: str) -> frozenset[str]:
    """The words of ``phrase``; a match needs each of them as a whole word of the mail.

    Checked first against the mail's set of words, so that the many keywords
    a mail does not contain cost one set lookup each instead of a scan of the
    text (a mail's text may be long, and sender-controlled).
    """
    return frozenset(_WORD.findall(_fold(phrase)))


def _matches(phrase: str, folded: str) -> bool:
    pattern = _pattern(phrase)
    return pattern is not None and pattern.search(folded) is not None
