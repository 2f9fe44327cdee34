"""Read a report's priority as the contract defines it: who is affected, and how badly.

The learning-platform contract defines High as "the service cannot be used at all",
Normal as "degraded or partly unusable for all users", Low as "a small part, or a
few users". A report says this in plain words: a *scope* (everyone, alle
gebruikers, tous les utilisateurs; one student, een paar, un seul) and an
*impact* (down, onbereikbaar, en panne; cannot log in; slow, sometimes; one
page). This module finds those words (lists in ``maildesk/lang/<code>/words.toml``
plus the policy's own, matched by :mod:`maildesk.core.phrases`: stems, accents,
gaps) and combines them per sentence with the policy's cells
(:class:`~maildesk.core.policy.ScopeImpact`):

============================  =====================  ===========
a sentence says               cell                   learning
============================  =====================  ===========
one or a few users            ``few_users``          low
everyone × cannot be used     ``all_unusable``       high
the service itself is down    ``service_down``       high
everyone × degraded/one part  ``all_degraded``       normal
one part (no scope)           ``small_part``         low
============================  =====================  ===========

In that order, first match per sentence; "the service is down" is
``service_down`` only without a few-users scope and without a part ("the quiz
page is down for everyone" is partly unusable: ``all_degraded``). Then the most
urgent sentence decides the report: one sentence saying that nobody can log in
outweighs one about a typo. The subject of a reply ("Re: …", "AW: …") is the
earlier mail's and is not read. Where a scope of one kind lies inside a longer
one of the other ("enkele student" in "geen enkele student"), the longer counts.
A report that says the rest works ("de rest werkt wel", ``rest_works``) is at
most partly unusable: its High sentences count as ``all_degraded``.
Sentences, not the whole text, because "one student
cannot open the quiz; all the others can" names everyone and an impact, but not
together. The subject is a sentence of its own. Every language's lists are
tried on every sentence, so a mixed-language mail is read too.

When no sentence decides but one names an impact that makes the service
unusable without a scope ("I cannot log in"), or everyone without an impact,
the reading is *unsure*: the caller may ask a person (the on-call notice).

Not understood: negation and tense ("was down yesterday, fine now" reads as
down). Quoted text must be removed by the caller. Pure code: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from maildesk.core.phrases import Hit, Phrase, compile_phrases, words_of
from maildesk.core.policy import PRIORITIES, Cell, Priority, ScopeImpact
from maildesk.core.words import LANGUAGES, word_list

__all__ = ["Reading", "read_severity"]

#: A sentence ends at ., !, ? or ; before a blank, or at a blank line. A single line
#: break does not end one: plain-text mail is often wrapped at 72 columns.
_SENTENCE: Final = re.compile(r"[.!?;]+(?=\s|$)|\n[ \t]*\n")
_MAX_CHARS: Final = 20_000
#: "Re: Storing gisteren" repeats the subject of an earlier mail, not what this one says.
_REPLY: Final = re.compile(r"\s*(?:re|aw|antw|sv|vs|ref|réf)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_LABEL: Final = {"high": "High", "normal": "Normal", "low": "Low"}


@dataclass(frozen=True)
class Reading:
    """What the scope × impact rules made of a report.

    ``priority`` is None when no sentence decided; ``rule`` then is empty.
    ``unsure`` says why a person should look (an impact without a scope, or the
    reverse), or is None.
    """

    priority: Priority | None
    rule: str
    unsure: str | None


@dataclass(frozen=True)
class _Found:
    scope_all: list[Hit]
    scope_few: list[Hit]
    down: list[Hit]
    unusable: list[Hit]
    degraded: list[Hit]
    part: list[Hit]
    rest: list[Hit]


_KINDS: Final = {
    "scope_all": "scope_all",
    "scope_few": "scope_few",
    "down": "impact_down",
    "unusable": "impact_unusable",
    "degraded": "impact_degraded",
    "part": "impact_part",
    "rest": "rest_works",
}


def _lists(cfg: ScopeImpact) -> dict[str, dict[str, tuple[Phrase, ...]]]:
    result: dict[str, dict[str, tuple[Phrase, ...]]] = {}
    for language in LANGUAGES:
        extra = cfg.words.get(language, {})
        result[language] = {
            kind: compile_phrases(
                language, (*word_list(language, "priority", name), *extra.get(name, ()))
            )
            for kind, name in _KINDS.items()
        }
    return result


def _find(sentence: str, lists: dict[str, dict[str, tuple[Phrase, ...]]]) -> _Found:
    hits: dict[str, list[Hit]] = {kind: [] for kind in _KINDS}
    for language, kinds in lists.items():
        words = words_of(sentence, language)
        for kind, phrases in kinds.items():
            for hit in words.find_all(phrases):
                if all(hit.found != seen.found for seen in hits[kind]):
                    hits[kind].append(hit)
    # "niemand kan nog inloggen" is no sign that logging in still works.
    broken = hits["down"] + hits["unusable"]
    hits["rest"] = [hit for hit in hits["rest"] if not _overlaps(hit, broken)]
    every, few = hits["scope_all"], hits["scope_few"]
    hits["scope_all"] = [hit for hit in every if not _inside_longer(hit, few)]
    hits["scope_few"] = [hit for hit in few if not _inside_longer(hit, every)]
    return _Found(**hits)


def _overlaps(hit: Hit, others: list[Hit]) -> bool:
    return any(o.start < hit.end and hit.start < o.end for o in others)


def _inside_longer(hit: Hit, others: list[Hit]) -> bool:
    """``hit`` is part of a longer scope of the other kind: "enkele student" within
    "geen enkele student", "personne" within "une personne"."""
    return any(
        o.start <= hit.start and hit.end <= o.end and o.end - o.start > hit.end - hit.start
        for o in others
    )


def _said(hits: list[Hit]) -> str:
    """The longest words found: "alle gebruikers" rather than also "alle"."""
    return max((hit.found for hit in hits), key=len)


def _cell(value: Cell) -> Priority | None:
    for priority in PRIORITIES:
        if value == priority:
            return priority
    return None


def _verdict(found: _Found, cfg: ScopeImpact) -> tuple[Priority, str] | None:
    """The cell one sentence falls in, and the words that put it there."""
    impact = found.down or found.unusable or found.degraded or found.part
    unusable = found.down or found.unusable
    few, every = _cell(cfg.few_users), _cell(cfg.all_unusable)
    down, degraded, part = _cell(cfg.service_down), _cell(cfg.all_degraded), _cell(cfg.small_part)
    if found.scope_few and few is not None:
        words = f"scope: {_said(found.scope_few)}"
        if impact:
            words += f"; impact: {_said(impact)}"
        return few, f"{words} (few users)"
    if found.scope_all and unusable and not found.part and every is not None:
        return every, (
            f"scope: {_said(found.scope_all)}; impact: {_said(unusable)} (all users, unusable)"
        )
    if found.down and not found.part and down is not None:
        return down, f"impact: {_said(found.down)} (the service itself)"
    if found.scope_all and impact and degraded is not None:
        return degraded, (
            f"scope: {_said(found.scope_all)}; impact: {_said(impact)} (all users, degraded)"
        )
    if found.part and not found.scope_all and part is not None:
        return part, f"impact: {_said(found.part)} (a small part)"
    return None


def _unsure(found: _Found) -> str | None:
    if found.scope_few:
        return None
    if (found.down or found.unusable) and not found.scope_all:
        return f"impact without a scope: {_said(found.down or found.unusable)}"
    if found.scope_all and not (found.down or found.unusable or found.degraded or found.part):
        return f"scope without an impact: {_said(found.scope_all)}"
    return None


def _partly(
    verdict: tuple[Priority, str], found: _Found, rest: list[Hit], cfg: ScopeImpact
) -> tuple[Priority, str] | None:
    """The report says the rest works: what is unusable is a part (``all_degraded``)."""
    if not verdict[1].endswith(("(all users, unusable)", "(the service itself)")):
        return verdict
    degraded = _cell(cfg.all_degraded)
    if degraded is None:
        return None
    impact = found.down or found.unusable
    return degraded, f"impact: {_said(impact)}; but: {_said(rest)} (partly unusable)"


def _rank(verdict: tuple[Priority, str]) -> tuple[int, int]:
    """More urgent first; at the same priority, a sentence naming both scope and impact."""
    priority, words = verdict
    return PRIORITIES.index(priority), 0 if words.startswith("scope:") else 1


def read_severity(subject: str, text: str, cfg: ScopeImpact) -> Reading:
    """The priority ``subject`` and ``text`` (quotes removed) ask for under ``cfg``."""
    lists = _lists(cfg)
    best: tuple[Priority, str] | None = None
    unsure: str | None = None
    topic = "" if _REPLY.match(subject) else subject
    sentences = [topic, *_SENTENCE.split(text[:_MAX_CHARS])]
    found_all = [_find(sentence, lists) for sentence in sentences if sentence.strip()]
    rest = next((found.rest for found in found_all if found.rest), None)
    for found in found_all:
        verdict = _verdict(found, cfg)
        if verdict is not None and rest is not None:
            verdict = _partly(verdict, found, rest, cfg)
        if verdict is not None and (best is None or _rank(verdict) < _rank(best)):
            best = verdict
        unsure = unsure or _unsure(found)
    if best is None:
        return Reading(None, "", unsure)
    priority, words = best
    return Reading(priority, f"{words} → {_LABEL[priority]}", None)
