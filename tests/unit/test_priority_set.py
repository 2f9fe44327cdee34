"""The targets of the labelled reports (``tests/data/priority/``, see its README), under the
learning-helpdesk example as shipped: High found at least 95 % of the time, fewer than 3 %
of the reports that are no outage paged as High, and no client asked for steps they sent.

The figures are computed in ``tests/priority_set.py`` from the hand-written labels and
maildesk's decisions; ``bench/priority.py`` prints them in full. Timings are not measured.
"""

from __future__ import annotations

import pytest

from tests.priority_set import DATA, LEVELS, Figures, evaluate, load_cases


@pytest.fixture(scope="module")
def figures() -> Figures:
    return evaluate()


def test_the_set_is_large_varied_and_labelled() -> None:
    cases = load_cases()
    assert len(cases) >= 150
    assert len({c.id for c in cases}) == len(cases), "ids are unique"
    assert {c.language for c in cases} >= {"en", "nl", "fr", "de", "mixed"}
    for level in LEVELS:
        assert sum(c.priority == level for c in cases) >= 20, level
    assert sum(c.steps for c in cases) >= 20
    assert sum(c.html is not None for c in cases) >= 5
    assert sum(c.quoted is not None for c in cases) >= 5
    assert len(load_cases(DATA / "holdout")) >= 30


def test_high_is_found(figures: Figures) -> None:
    missed = [o.case.id for o in figures.outcomes if o.case.priority == "high" != o.priority]
    assert figures.recall("high") >= 0.95, missed


def test_few_non_outages_page_anyone(figures: Figures) -> None:
    paged = [f"{o.case.id}: {o.rule}" for o in figures.non_outages_paged]
    assert figures.paged_share < 0.03, paged


def test_no_client_is_asked_for_steps_they_sent(figures: Figures) -> None:
    assert [o.case.id for o in figures.asked_for_sent_steps] == []


def test_the_figures_add_up(figures: Figures) -> None:
    total = sum(sum(row.values()) for row in figures.confusion.values())
    assert total == len(figures.outcomes) == len(load_cases())
