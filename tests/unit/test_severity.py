"""Priority read as the contract defines it: scope × impact, per sentence, explained.

Expected priorities come from the learning-platform contract's definitions (High: the
service cannot be used at all; Normal: degraded or partly unusable for all users; Low:
a small part or a few users), and the rule texts from the words in each mail.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import ValidationError

from maildesk.configfile import load_settings
from maildesk.core.config import ConfigError, settings_from_toml
from maildesk.core.policy import PriorityRules, ScopeImpact
from maildesk.ingest.explain import decide
from maildesk.ingest.priority import PriorityDecision, decide_priority
from maildesk.ingest.severity import read_severity
from maildesk.mail.parse import parse

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
CELLS = ScopeImpact()
RULES = PriorityRules(
    default="normal",
    scope_impact=CELLS,
    keywords={"low": ("question",)},
    markers={"high": ("[P1]",)},
)


def pick(
    subject: str, text: str = "", rules: PriorityRules = RULES, **kw: object
) -> PriorityDecision:
    options: dict[str, object] = {"allow_markers": True, "client_default": None, **kw}
    return decide_priority(subject, text, rules, **options)  # type: ignore[arg-type]


# -- the issue's table ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "priority", "words"),
    [
        (
            "Platform volledig onbereikbaar",
            "Sinds 23:00 kan niemand meer inloggen op het leerplatform. "
            "Alle studenten krijgen een foutmelding.",
            "high",
            "scope: niemand",
        ),
        (
            "De website ligt eruit",
            "Het leerplatform ligt er volledig uit, alle gebruikers zijn getroffen.",
            "high",
            "ligt er volledig uit",
        ),
        ("Storing leerplatform", "Het platform geeft een 502 error voor iedereen.", "high", "502"),
        (
            "Toets werkt niet voor één student",
            "Eén student kan de toets niet openen.",
            "low",
            "één student",
        ),
    ],
)
def test_the_issues_table(subject: str, body: str, priority: str, words: str) -> None:
    decision = pick(subject, body)
    assert decision.priority == priority
    assert words in decision.rule
    assert decision.rule.endswith(f"→ {priority.capitalize()}")


def test_the_rule_names_scope_impact_and_cell() -> None:
    decision = pick("Help", "Het platform is onbereikbaar voor alle gebruikers.")
    assert decision.rule == (
        "scope: alle gebruikers; impact: onbereikbaar (all users, unusable) → High"
    )


# -- the cells ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "priority", "cell"),
    [
        ("Nobody can log in since 8:00.", "high", "(all users, unusable)"),
        ("The site is unreachable.", "high", "(the service itself)"),
        ("Everything is very slow for all our users.", "normal", "(all users, degraded)"),
        ("Tous les utilisateurs reçoivent parfois une erreur.", "normal", "(all users, degraded)"),
        ("Ein Schüler kann den Test nicht öffnen.", "low", "(few users)"),
        ("A typo on the start page.", "low", "(a small part)"),
        ("Een paar studenten zien hun cijfers niet.", "low", "(few users)"),
    ],
)
def test_cells(text: str, priority: str, cell: str) -> None:
    decision = pick("Report", text)
    assert (decision.priority, cell in decision.rule) == (priority, True), decision.rule


def test_cells_come_from_the_policy() -> None:
    gentle = PriorityRules(scope_impact=ScopeImpact(all_degraded="low", few_users="normal"))
    assert pick("x", "It is slow for everyone.", gentle).priority == "low"
    assert pick("x", "One student cannot log in.", gentle).priority == "normal"


def test_a_cell_set_to_none_decides_nothing() -> None:
    quiet = PriorityRules(default="low", scope_impact=ScopeImpact(service_down="none"))
    decision = pick("x", "The site is unreachable.", quiet)
    assert (decision.priority, decision.rule) == ("low", "policy default")


def test_few_users_outweigh_everyone_in_one_sentence_but_not_across_sentences() -> None:
    assert pick("x", "One student cannot open the quiz, all the others can.").priority == "low"
    both = pick("x", "One student reported it first. Now nobody can log in.")
    assert both.priority == "high", "the most urgent sentence decides"


def test_a_longer_scope_wins_over_the_one_inside_it() -> None:
    decision = pick("x", "Geen enkele student kan inloggen.")
    assert decision.priority == "high" and "scope: Geen enkele student;" in decision.rule


def test_the_rest_works_makes_it_partly_unusable() -> None:
    text = "Niemand kan nog inloggen op de toetsmodule. De rest werkt wel."
    assert pick("Toetsen", text.split(".")[0]).priority == "high"
    decision = pick("Toetsen", text)
    assert decision.priority == "normal" and "(partly unusable)" in decision.rule
    still = pick("x", "Niemand kan nog inloggen.")
    assert still.priority == "high", "'kan nog inloggen' inside the outage is no sign of health"


@pytest.mark.parametrize("prefix", ["Re:", "RE :", "AW:", "Antw:", "SV:", "Re[2]:"])
def test_a_replys_subject_is_not_read(prefix: str) -> None:
    decision = pick(f"{prefix} Storing gisteren", "Bedankt! Nog een question over het rapport.")
    assert decision.priority == "low" and decision.rule.startswith("keyword")
    assert pick("Fwd: Storing", "").priority == "high", "a forward's subject is the report"


# -- order with markers, keywords and defaults ----------------------------------------


def test_markers_first_then_scope_impact_then_keywords_then_defaults() -> None:
    assert pick("[P1] One student cannot log in").priority == "high"
    assert pick("[P1] One student cannot log in", allow_markers=False).priority == "low"
    assert pick("A question", "Nobody can log in.").priority == "high"
    assert pick("A question", "How to export?").rule == "keyword 'question' in subject"
    assert pick("Hello", "How to export?", client_default="low").rule == "client default"
    assert pick("Hello", "How to export?").rule == "policy default"
    assert PriorityRules().scope_impact is None
    assert pick("x", "Nobody can log in.", PriorityRules()).rule == "policy default"


# -- unsure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unsure"),
    [
        ("Het leerplatform laadt niet.", "impact without a scope: laadt niet"),
        ("Iedereen heeft een vraagje.", "scope without an impact: Iedereen"),
        ("The platform is slow.", None),  # degraded without scope: no outage in sight
        ("One student cannot log in.", None),  # decided: Low
        ("Nobody can log in.", None),  # decided: High
    ],
)
def test_unsure(text: str, unsure: str | None) -> None:
    assert read_severity("", text, CELLS).unsure == unsure
    assert pick("x", text).unsure == unsure


def test_unsure_does_not_matter_once_high() -> None:
    rules = PriorityRules(default="high", scope_impact=CELLS)
    assert pick("x", "Het leerplatform laadt niet.", rules).unsure is None


# -- the operator's own words ---------------------------------------------------------


def test_operator_words_extend_the_built_in_lists() -> None:
    text = "Alle stagiairs kunnen niet inloggen."
    assert pick("x", text).priority == "normal"
    assert pick("x", text).rule == "policy default"
    own = PriorityRules(
        scope_impact=ScopeImpact(words={"nl": {"scope_all": ("alle stagiairs",)}}),
    )
    decision = pick("x", text, own)
    assert decision.priority == "high" and "scope: Alle stagiairs" in decision.rule


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({"es": {"scope_all": ["todos"]}}, "words.es: no word lists for language 'es'"),
        ({"nl": {"scope_some": ["x"]}}, "words.nl.scope_some: unknown list"),
        ({"nl": {"scope_all": [" "]}}, "words.nl.scope_all: holds an empty entry"),
    ],
)
def test_bad_operator_words_are_refused(words: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        ScopeImpact.model_validate({"words": words})


def test_a_bad_word_list_in_a_config_file_names_file_key_and_problem(tmp_path: Path) -> None:
    text = (
        '[service]\nsupport_address = "s@x.example"\n'
        "[policies.default.priority.scope_impact.words]\n"
        'nl = { scope_some = ["x"] }\n'
    )
    with pytest.raises(ConfigError) as caught:
        settings_from_toml(text, "/etc/maildesk.toml")
    problem = str(caught.value)
    assert "/etc/maildesk.toml" in problem
    assert "policies.default.priority.scope_impact.words" in problem
    assert "scope_some: unknown list" in problem


# -- as the pipeline reads a mail: quotes removed --------------------------------------


def _mail(subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = (
        "ict@hogeschool-west.example",
        "support@learning-helpdesk.example",
        subject,
    )
    msg.set_content(body)
    return msg.as_bytes()


def test_an_old_outage_quoted_below_a_question_pages_nobody() -> None:
    settings = load_settings(EXAMPLES / "learning-helpdesk.toml")
    body = (
        "Bedankt voor de snelle oplossing. Hoe kan ik een rapport trekken?\n\n"
        "Op ma 2 nov. 2026 om 10:12 schreef Support <support@learning-helpdesk.example>:\n"
        "> Het leerplatform lag volledig plat voor alle gebruikers; niemand kon inloggen.\n"
    )
    decisions = decide(parse(_mail("Nog een vraag", body)), settings)
    assert decisions.priority == "low", decisions.priority_rule


# -- maildesk inspect says which words decided ------------------------------------------


def test_inspect_names_the_words_and_the_rule(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from maildesk.cli.main import app

    config = str(EXAMPLES / "learning-helpdesk.toml")
    outage = tmp_path / "outage.eml"
    outage.write_bytes(_mail("Storing", "Het platform is onbereikbaar voor alle gebruikers.\n"))
    shown = CliRunner().invoke(app, ["inspect", "--config", config, str(outage)])
    assert shown.exit_code == 0, shown.output
    assert (
        "priority:  high (scope: alle gebruikers; impact: onbereikbaar"
        " (all users, unusable) → High)" in shown.output
    )
    assert "unsure:" not in shown.output

    doubt = tmp_path / "doubt.eml"
    doubt.write_bytes(_mail("Leerplatform", "Het leerplatform laadt niet.\n"))
    shown = CliRunner().invoke(app, ["inspect", "--config", config, "--json", str(doubt)])
    decisions = json.loads(shown.output)["decisions"]
    text = CliRunner().invoke(app, ["inspect", "--config", config, str(doubt)]).output
    assert "unsure:    impact without a scope: laadt niet" in text
    assert decisions["priority"] == "normal"
    assert decisions["priority_unsure"] == "impact without a scope: laadt niet"


def test_a_long_rule_is_cut_to_the_tickets_column() -> None:
    long_word = "a" * 500  # sender-controlled: a gap may hold any word
    decision = pick("x", f"Sinds vanochtend kan niemand {long_word} inloggen.")
    assert decision.priority == "high"
    assert len(decision.rule) == 200 and decision.rule.endswith("…")


def test_a_line_wrapped_at_72_columns_is_one_sentence_and_a_blank_line_ends_one() -> None:
    wrapped = "Sinds 23:00 kan niemand meer\ninloggen op het leerplatform, dringend"
    assert pick("Help", wrapped).priority == "high"
    paragraphs = "One student reported it first\n\nnobody can log in now"
    assert pick("Help", paragraphs).priority == "high", "few users in another paragraph"
