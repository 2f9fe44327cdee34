"""Priority of a new report: markers, then keywords, then the client's and the policy's default.

Every decision names its rule, because that rule is recorded on the ticket and
is what staff read when they wonder why a report paged someone at night.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.policy import PRIORITIES, PriorityRules
from maildesk.ingest.priority import (
    DEFAULT_KEYWORDS,
    DEFAULT_MARKERS,
    PriorityDecision,
    decide_priority,
)

SETTINGS = settings(max_examples=200, deadline=None)

RULES = PriorityRules(
    default="normal",
    keywords={
        "high": (
            "down", "unreachable", "all users",
            "niet bereikbaar", "alle gebruikers", "ligt plat",
            "panne", "tous les utilisateurs", "hors service",
        ),
        "normal": ("slow", "traag", "lenteur"),
        "low": ("question", "vraag", "typo", "faute de frappe"),
    },
    markers={"high": ("[P1]", "urgent"), "low": ("[P3]",)},
)  # fmt: skip
STARTER = PriorityRules(keywords=DEFAULT_KEYWORDS, markers=DEFAULT_MARKERS)


def decide(
    subject: str,
    text: str = "",
    rules: PriorityRules = RULES,
    *,
    allow_markers: bool = True,
    client_default: str | None = None,
) -> PriorityDecision:
    return decide_priority(
        subject, text, rules, allow_markers=allow_markers, client_default=client_default
    )


# -- keywords in three languages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "text", "priority", "rule"),
    [
        # en
        ("Platform down", "", "high", "keyword 'down' in subject"),
        ("Help", "The site is unreachable since 9:00.", "high", "keyword 'unreachable' in text"),
        ("Quiz", "This affects ALL users of the school.", "high", "keyword 'all users' in text"),
        ("Grades", "The gradebook is slow.", "normal", "keyword 'slow' in text"),
        ("A question", "", "low", "keyword 'question' in subject"),
        ("Course page", "There is a typo in the title.", "low", "keyword 'typo' in text"),
        # nl
        ("Help", "Het platform is niet bereikbaar.", "high", "keyword 'niet bereikbaar' in text"),
        ("Storing", "Alle gebruikers zien een fout.", "high", "keyword 'alle gebruikers' in text"),
        ("Website ligt plat!", "", "high", "keyword 'ligt plat' in subject"),
        ("Cijfers", "Het cijferoverzicht is erg traag.", "normal", "keyword 'traag' in text"),
        ("Vraag over toetsen", "", "low", "keyword 'vraag' in subject"),
        # fr
        ("Plateforme en panne", "", "high", "keyword 'panne' in subject"),
        ("Aide", "Tous les utilisateurs !", "high", "keyword 'tous les utilisateurs' in text"),
        ("Aide", "Le site est HORS SERVICE.", "high", "keyword 'hors service' in text"),
        ("Notes", "Grande lenteur du carnet de notes.", "normal", "keyword 'lenteur' in text"),
        ("Cours", "Il y a une faute de frappe.", "low", "keyword 'faute de frappe' in text"),
    ],
)  # fmt: skip
def test_keywords_in_each_language(subject: str, text: str, priority: str, rule: str) -> None:
    assert decide(subject, text) == PriorityDecision(priority, rule)  # type: ignore[arg-type]


def test_high_is_checked_before_normal_before_low() -> None:
    decision = decide("Question", "A question: the whole site is down, and it was slow before.")
    assert decision == PriorityDecision("high", "keyword 'down' in text")
    assert decide("Question", "slow").priority == "normal"


def test_subject_is_checked_before_text_for_the_same_keyword() -> None:
    assert decide("Site down", "it is down").rule == "keyword 'down' in subject"


def test_first_configured_keyword_of_a_priority_names_the_rule() -> None:
    decision = decide("", "panne: down for all users")
    assert decision.rule == "keyword 'down' in text"


def test_keywords_are_whole_words() -> None:
    for text in (
        "I cannot download the certificate.",
        "The dropdown is empty.",
        "The drop-down is empty.",
        "Downtime planned?",
        "shutdown",
        "Questionnaire results",
        "unreachableness",
        "paneel",  # nl, not "panne"
    ):
        assert decide("Help", text).rule == "policy default", text


def test_keywords_are_case_and_accent_insensitive() -> None:
    rules = PriorityRules(keywords={"high": ("ne répond plus", "Störung")})
    assert decide("", "Le serveur NE REPOND PLUS", rules).priority == "high"
    assert decide("", "le serveur ne répond plus", rules).priority == "high"
    assert decide("STÖRUNG im System", "", rules).priority == "high"
    assert decide("Storung", "", rules).rule == "keyword 'Störung' in subject"


def test_phrases_match_across_line_breaks_and_spaces() -> None:
    assert decide("", "Since today\nall\n   users see an error").priority == "high"
    assert decide("", "niet\nbereikbaar").priority == "high"


def test_curly_apostrophes_equal_straight_ones() -> None:
    rules = PriorityRules(keywords={"high": ("can't log in",)})
    assert decide("", "Nobody can’t log in", rules).priority == "high"
    rules = PriorityRules(keywords={"low": ("faute d’orthographe",)})
    assert decide("", "une faute d'orthographe", rules).priority == "low"


def test_negation_is_not_understood() -> None:
    # Documented: keywords do not read negation; staff lower it with #priority.
    assert decide("Re: outage", "The site is not down anymore.").priority == "high"


def test_blank_keywords_are_ignored() -> None:
    rules = PriorityRules(keywords={"high": ("", "   ")})
    assert decide("anything", "at all", rules).rule == "policy default"


# -- markers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "priority", "rule"),
    [
        ("[P1] Quiz broken", "high", "marker [P1] in subject"),
        ("Re: [p1] quiz broken", "high", "marker [P1] in subject"),
        ("URGENT: grades", "high", "marker urgent in subject"),
        ("Urgent!", "high", "marker urgent in subject"),
        ("[P3] typo on the login page", "low", "marker [P3] in subject"),
    ],
)
def test_markers_in_the_subject(subject: str, priority: str, rule: str) -> None:
    assert decide(subject) == PriorityDecision(priority, rule)  # type: ignore[arg-type]


def test_markers_win_over_keywords() -> None:
    decision = decide("[P3] site down?", "all users")
    assert decision == PriorityDecision("low", "marker [P3] in subject")


def test_markers_are_ignored_when_not_allowed() -> None:
    decision = decide("[P1] typo", "", allow_markers=False)
    assert decision == PriorityDecision("low", "keyword 'typo' in subject")
    assert decide("URGENT", allow_markers=False).rule == "policy default"


def test_markers_are_read_in_the_subject_only() -> None:
    assert decide("Quiz", "[P1] urgent please").rule == "policy default"


def test_markers_are_whole_words() -> None:
    for subject in ("Non-urgent: typo fix", "urgently?", "[P10] x", "P1 quiz"):
        decision = decide(subject)
        assert not decision.rule.startswith("marker"), subject


def test_high_marker_is_checked_before_low_marker() -> None:
    assert decide("[P3] [P1]").rule == "marker [P1] in subject"


# -- defaults --------------------------------------------------------------------------------


def test_client_default_when_nothing_matches() -> None:
    decision = decide("Quiz", "The answers vanish.", client_default="high")
    assert decision == PriorityDecision("high", "client default")


def test_client_default_does_not_override_a_keyword() -> None:
    assert decide("Typo", client_default="high") == PriorityDecision(
        "low", "keyword 'typo' in subject"
    )


def test_policy_default_last() -> None:
    rules = PriorityRules(default="low")
    assert decide("Site down", "all users", rules) == PriorityDecision("low", "policy default")


def test_unknown_client_default_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown client default priority 'urgent'"):
        decide("x", client_default="urgent")


def test_rules_without_keywords_use_nothing_built_in() -> None:
    # DEFAULT_KEYWORDS are for configs to copy, never applied behind the config's back.
    assert decide("Site is down", "", PriorityRules()).rule == "policy default"


# -- the starter set -------------------------------------------------------------------------


def test_starter_set_is_a_valid_config() -> None:
    assert set(DEFAULT_KEYWORDS) == set(PRIORITIES)
    rules = PriorityRules.model_validate(
        {"keywords": {k: list(v) for k, v in DEFAULT_KEYWORDS.items()}}
    )
    assert rules.keywords == DEFAULT_KEYWORDS
    for keywords in DEFAULT_KEYWORDS.values():
        assert all(k == k.strip() and k for k in keywords)


@pytest.mark.parametrize(
    ("subject", "text", "priority"),
    [
        ("Platform is down", "", "high"),
        ("Help", "Our LMS went down at 10:00.", "high"),
        ("Help", "De leeromgeving is niet bereikbaar.", "high"),
        ("Storing", "", "high"),
        ("Help", "La plateforme est en panne pour tous les utilisateurs.", "high"),
        ("Hilfe", "Der Server ist nicht erreichbar.", "high"),
        ("Grades", "The gradebook is very slow today.", "normal"),
        ("Cijfers", "Het laden gaat erg traag.", "normal"),
        ("Notes", "Le carnet de notes est très lent.", "normal"),
        ("Quick question", "How do I add a teacher?", "low"),
        ("Vraagje", "Hoe kan ik een docent toevoegen?", "low"),
        ("Petite question", "Comment faire pour ajouter un enseignant ?", "low"),
        ("Frage", "Wie kann ich einen Lehrer hinzufügen?", "low"),
    ],
)
def test_starter_set_in_four_languages(subject: str, text: str, priority: str) -> None:
    assert decide(subject, text, STARTER).priority == priority


@pytest.mark.parametrize(
    "text",
    [
        "Please scroll down to the grades.",
        "The drop down menu is empty.",
        "I cannot download my certificate.",
        "Hallo iedereen, de quiz toont geen vragen meer.",
    ],
)
def test_starter_set_avoids_common_false_highs(text: str) -> None:
    assert decide("Help", text, STARTER).priority != "high"


# -- properties ----------------------------------------------------------------------------


@SETTINGS
@given(
    st.text(max_size=120),
    st.text(max_size=300),
    st.sampled_from(PRIORITIES),
    st.one_of(st.none(), st.sampled_from(PRIORITIES)),
    st.booleans(),
)
def test_any_mail_gets_a_priority_and_a_named_rule(
    subject: str, text: str, default: str, client: str | None, markers: bool
) -> None:
    rules = RULES.model_copy(update={"default": default})
    decision = decide(subject, text, rules, allow_markers=markers, client_default=client)
    assert decision.priority in PRIORITIES
    assert decision.rule.startswith(("marker ", "keyword ", "client default", "policy default"))
    if not markers:
        assert not decision.rule.startswith("marker")


@SETTINGS
@given(
    st.text(alphabet="abceghijklmpqrstuvxyz0123456789 .,!?\n", max_size=100),
    st.sampled_from(["download", "Downloads", "dropdown", "countdown", "drop-down", "down-time"]),
)
def test_down_never_matches_inside_a_word(text: str, word: str) -> None:
    rules = PriorityRules(keywords={"high": ("down",)})
    assert decide(f"{text}{word}", f"{word}{text}", rules).rule == "policy default"


@SETTINGS
@given(st.text(max_size=200))
def test_a_matching_subject_keyword_wins_whatever_the_text(text: str) -> None:
    assert decide("Everything is down", text).priority == "high"


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàç", min_size=1, max_size=8)


@SETTINGS
@given(
    st.lists(WORDS, min_size=1, max_size=3),
    st.lists(WORDS, max_size=5),
    st.lists(WORDS, max_size=5),
    st.sampled_from([" ", "\n", "  \t", "\u00a0"]),
)
def test_a_keyword_written_anywhere_as_whole_words_is_found(
    keyword: list[str], before: list[str], after: list[str], gap: str
) -> None:
    phrase = " ".join(keyword)
    rules = PriorityRules(keywords={"high": (phrase,)})
    written = gap.join(keyword).upper()
    text = " ".join([*before, written, *after]) + "."
    assert decide("", text, rules) == PriorityDecision("high", f"keyword '{phrase}' in text")
