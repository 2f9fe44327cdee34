"""A client's yes or no to a quote or an approval, in English, Dutch and French."""

from __future__ import annotations

import pytest

from maildesk.billing.answers import read_answer

ACCEPT = [
    # en
    "Accept",
    "accepted",
    "OK",
    "Ok, go ahead.",
    "We agree, please proceed",
    "Hello,\n\nApproved.\n",
    "Yes",
    "ok, no problem",
    # nl
    "Akkoord",
    "Ik ga akkoord met de offerte.",
    "aanvaard",
    "Goedgekeurd, dank u",
    # fr
    "accepte",
    "Accepté.",
    "D’accord, allez-y",
    "Ok pour nous",
    "Pas de problème, j'accepte",
    "approuvé",
]
REFUSE = [
    # en
    "Refuse",
    "We decline the quote.",
    "No, thanks.",
    "We do not accept this.",
    "I don't agree",
    "not ok",
    # nl
    "weiger",
    "Niet akkoord",
    "We gaan hier niet mee akkoord.",
    "Nee, te duur.",
    # fr
    "refuse",
    "Refusé",
    "Pas d'accord",
    "Je ne l'accepte pas",
    "Nous n'acceptons pas ce devis",
    "Non merci",
]
NEITHER = [
    "",
    "Could you call me about this first?",
    "How long will it take?",
    "Accept or refuse? I'll ask my manager. No idea yet.",
    "Thanks!",
]


@pytest.mark.parametrize("text", ACCEPT)
def test_accepting_words(text: str) -> None:
    assert read_answer(text) == "accept"


@pytest.mark.parametrize("text", REFUSE)
def test_refusing_words(text: str) -> None:
    assert read_answer(text) == "refuse"


@pytest.mark.parametrize("text", NEITHER)
def test_no_clear_answer(text: str) -> None:
    assert read_answer(text) is None
