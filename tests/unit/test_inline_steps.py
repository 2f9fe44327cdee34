"""Steps written inside a line count as steps: numbered runs, sequences, menu paths,
in plain and HTML bodies, so a client is never asked for steps they gave."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from maildesk.core.policy import RequiredInfo
from maildesk.ingest.inline_steps import find_inline_steps
from maildesk.ingest.intake import ReportPart, check_report
from maildesk.mail.parse import parse

STEPS = RequiredInfo(steps=True)


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("Stappen: 1. inloggen 2. quiz openen 3. op start klikken", "3 inline numbered steps"),
        ("Steps: 1) log in 2) open Grades", "2 inline numbered steps"),
        ("Étapes : 1. se connecter 2. ouvrir le cours", "2 inline numbered steps"),
        ("Eerst log ik in, daarna open ik de quiz en dan klik ik op start.", "sequence: Eerst …"),
        ("First I log in, then I open the quiz.", "sequence: First … then"),
        ("D'abord je me connecte, puis j'ouvre le quiz.", "sequence: D'abord … puis"),
        ("Zuerst melde ich mich an, dann öffne ich den Test.", "sequence: Zuerst … dann"),
        ("She clicks Enrol, then Confirm, and then gets an error.", "sequence: then …"),
        ("Menu > Export > CSV gives an empty file.", "menu path: Menu > Export > CSV"),
        ("Ga naar Instellingen → Gebruikers → Rollen.", "menu path: Ga naar Instellingen →"),
        ("Paramètres » Utilisateurs » Import", "menu path: Paramètres » Utilisateurs »"),
        ("Kurse -> Biologie -> Kapitel 4", "menu path: Kurse -> Biologie -> Kapitel 4"),
    ],
)
def test_inline_steps(text: str, evidence: str) -> None:
    found = check_report([ReportPart(text=text, subject="")], STEPS).found.get("steps", "")
    assert found.startswith(evidence), found


@pytest.mark.parametrize(
    "text",
    [
        "De les begint om 13.00 uur, 2. verdieping.",  # a time, then one number
        "We use version 4.2. Then 3. something",  # no run from 1
        "Zie hoofdstuk 2. Inleiding en 3. Methode.",  # counts up, but not from 1
        "1. Log in",  # one step is no list
        "First of all, thanks for the quick help.",  # no next step
        "Then it broke again.",  # one "then" and no action
        "It works when x > 5 and y > 3.",  # a comparison
        "> quoted > line > here",  # a quoted line
        "Groter dan een minuut, meer dan twee keer.",  # "dan" is also "than"
    ],
)
def test_not_steps(text: str) -> None:
    assert find_inline_steps(text, 2) is None


def test_min_items_comes_from_the_policy() -> None:
    text = "1. inloggen 2. quiz openen"
    assert find_inline_steps(text, 2) is not None
    assert find_inline_steps(text, 3) is None
    strict = RequiredInfo(steps=True, steps_min_items=3)
    assert check_report([ReportPart(text=text, subject="")], strict).missing == ("steps",)


OUTLOOK = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style>p.MsoNormal {margin:0cm; font-family:"Calibri"}</style></head>
<body lang=NL-BE><div class=WordSection1>
<p class=MsoNormal>Hallo,<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>Een student kan de quiz niet starten.<o:p></o:p></p>
<p class=MsoNormal>Stappen: 1. inloggen 2. quiz openen 3. op start klikken<o:p></o:p></p>
<p class=MsoNormal>Groetjes,<o:p></o:p></p><p class=MsoNormal>Lies<o:p></o:p></p>
</div></body></html>"""


def _html_mail(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "lies@school.example", "help@x.example", "Quiz"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_outlook_html_mail_with_inline_steps_is_not_asked_for_steps() -> None:
    mail = parse(_html_mail(OUTLOOK))
    check = check_report([ReportPart.from_mail(mail, mail.text)], STEPS)
    assert check.missing == ()
    assert check.found["steps"] == "3 inline numbered steps"


def test_html_menu_path_with_entities() -> None:
    mail = parse(_html_mail("<p>Menu &gt; Export &gt; CSV geeft een leeg bestand</p>"))
    assert check_report([ReportPart.from_mail(mail, mail.text)], STEPS).missing == ()


def test_a_report_without_steps_is_still_asked_for_them() -> None:
    mail = parse(_html_mail("<p>Het platform is traag.</p><p>Groeten, Kim</p>"))
    assert check_report([ReportPart.from_mail(mail, mail.text)], STEPS).missing == ("steps",)
