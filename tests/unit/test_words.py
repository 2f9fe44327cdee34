"""The word lists are data per language: every language has every list, and a broken file
says which file, which list and what is wrong."""

from __future__ import annotations

import pytest

from maildesk.core.words import LANGUAGES, LISTS, WordListError, load, read_words, word_list

GOOD = r"""
[priority]
scope_all = ["everyone"]
scope_few = ["one user"]
impact_down = ["down"]
impact_unusable = ["cannot log in"]
impact_degraded = ["slow"]
impact_part = ["one page"]
rest_works = ["the rest works"]

[steps]
first = ["first"]
next = ["then"]

[answers]
accept = ["yes"]
refuse = ["no thanks"]
line_start_refusals = ["no"]
negations = ["not"]

[intake]
action_words = ["click"]
login_labels = ["login"]

[keywords]
high = ["is down"]
normal = ["slow"]
low = ["question"]
markers_high = ["urgent"]

[language]
common = ["the"]

[auto_reply]
subject_labels = ['out\s+of\s+office']
subject_sentences = ['i\s+am\s+away']

[other]
anything = ["left alone"]
"""


@pytest.mark.parametrize("language", ["en", "nl", "fr", "de"])
def test_every_language_has_every_list(language: str) -> None:
    assert language in LANGUAGES
    lists = load(language)
    for table, names in LISTS.items():
        assert set(lists[table]) == set(names)
        for name in names:
            assert lists[table][name], f"{language} [{table}] {name} is empty"
            assert all(entry.strip() for entry in lists[table][name])


def test_lists_are_loaded_once() -> None:
    assert load("nl") is load("nl")
    assert word_list("nl", "priority", "scope_all") is load("nl")["priority"]["scope_all"]


def test_a_good_file_reads_and_unknown_tables_are_left_alone() -> None:
    lists = read_words(GOOD, "x/words.toml")
    assert lists["priority"]["scope_all"] == ("everyone",)
    assert "other" not in lists


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD.replace('scope_few = ["one user"]\n', ""), "[priority] scope_few is missing"),
        (GOOD.replace('["slow"]', "[]"), "[priority] impact_degraded must be a non-empty list"),
        (GOOD.replace('["slow"]', '"slow"'), "[priority] impact_degraded must be a non-empty list"),
        (GOOD.replace('["then"]', '["then", " "]'), "[steps] next holds an empty or non-text"),
        (GOOD.replace('["then"]', '["then", 3]'), "[steps] next holds an empty or non-text"),
        (GOOD.replace("[steps]", "[stepz]"), "table [steps] is missing"),
        (GOOD + '\n[priority.extra]\nx = ["y"]\n', "[priority] has unknown lists ['extra']"),
        (GOOD.replace("[priority]", "[priority"), "not valid TOML"),
    ],
)
def test_a_broken_file_names_file_list_and_problem(text: str, problem: str) -> None:
    with pytest.raises(WordListError) as caught:
        read_words(text, "maildesk/lang/xx/words.toml")
    assert str(caught.value).startswith("maildesk/lang/xx/words.toml: ")
    assert problem in str(caught.value)


def test_unknown_language_or_list() -> None:
    with pytest.raises(WordListError, match="'es'"):
        load("es")
    with pytest.raises(WordListError, match="unknown word list"):
        word_list("en", "priority", "scope_some")


def test_a_broken_word_file_fails_the_config_not_a_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    import maildesk.core.policy as policy

    def broken(language: str) -> object:
        raise WordListError(f"maildesk/lang/{language}/words.toml: table [steps] is missing")

    monkeypatch.setattr(policy, "load", broken)
    with pytest.raises(ValidationError, match=r"maildesk/lang/en/words\.toml: table \[steps\]"):
        policy.ScopeImpact()
