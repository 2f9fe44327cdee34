"""Every mail maildesk writes, rendered in English, Dutch and French.

Each template has one sample context below: every variable the code passes,
with a value that takes the "shown" branch of every ``{% if %}``. The samples
double as the documentation of what each template expects; ``VARIANTS`` then
override some of them to take the other branches (``None``, ``""``, ``False``,
an empty list, another priority …).

For every template × language × variant the tests check that the subject is
one non-empty line carrying the ticket tag (where the mail belongs to a
ticket), that every value meant to be shown is shown, that words the template
translates (priority, status, SLA target, missing items, flags) appear in that
language, that nothing of Jinja is left over, and that the three languages
really differ, so a template copied untranslated fails.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from jinja2.exceptions import UndefinedError

import maildesk
from maildesk.notify.render import LANGUAGES, Rendered, Renderer

LANG_DIR = Path(maildesk.__file__).parent / "lang"

TAG = "[#2026-000042]"
NUMBER = "2026-000042"
SUPPORT = "Example Learning Support"
DUE = "Monday 24 November 2026 12:00 (Belgium Time)"
RESOLUTION_DUE = "Wednesday 26 November 2026 10:30 (Belgium Time)"
CLIENT_TEXT = "Since this morning the login page shows error 500 for every student."
# A signed link to the client's portal page; None when the portal is off.
PORTAL_URL = "https://support.example/portal/c/eyJjIjoiYWNtZSJ9.c2lnbmF0dXJl"

# --- one sample context per template: the variables the code passes ---------

ACK: dict[str, Any] = {
    "tag": TAG,  # subject tag of the ticket, e.g. "[#2026-000042]"
    "number": NUMBER,  # ticket number
    "subject": "Login page shows error 500",  # the client's subject, without tag
    "name": "Jane Doe",  # the sender's display name; may be ""
    "support_name": SUPPORT,  # who signs the mail
    "priority": "high",  # "high" | "normal" | "low"; shown translated
    "response_due": DUE,  # str | None, preformatted in the mail's language
    "received_out_of_hours": True,  # arrived outside business hours
    "password_warning": True,  # the mail seems to contain a password
    "portal_url": PORTAL_URL,  # str | None
}

ACK_MISSING: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Login page shows error 500",
    "name": "Jane Doe",  # may be ""
    "support_name": SUPPORT,
    "missing": ["url", "screenshot", "steps", "login"],  # in order; keys of MISSING_WORDS
    "password_warning": True,
    "portal_url": PORTAL_URL,  # str | None
}

INFO_COMPLETE: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "name": "Jane Doe",  # may be ""
    "support_name": SUPPORT,
    "priority": "normal",
    "response_due": DUE,  # str | None
}

UNKNOWN_SENDER: dict[str, Any] = {
    "subject": "Question about my invoice",  # subject of their mail
    "support_name": SUPPORT,
    "support_address": "support@learn.example.com",
}

STAFF_UNAUTHENTICATED: dict[str, Any] = {
    "subject": "Re: [#2026-000042] Login page shows error 500",  # subject of the refused mail
    "reason": "dmarc=fail for helpdesk.example",  # why our server did not vouch for it
    "support_name": SUPPORT,
}

TOO_LARGE: dict[str, Any] = {
    "subject": "Screen recording of the problem",
    "support_name": SUPPORT,
    "limit_mb": 25,  # int
}

BOUNCE_STAFF: dict[str, Any] = {
    "tag": TAG,  # str | None (the bounced mail was not about a ticket)
    "number": NUMBER,  # str | None
    "bounced_address": "jane.doe@client.example",
    "status": "5.1.1",  # the DSN status code; may be ""
    "original_subject": "Login page shows error 500",  # may already contain the tag
    "diagnostic": "550 5.1.1 <jane.doe@client.example>: user unknown",  # may be ""
}

SOURCE_DOWN: dict[str, Any] = {
    "label": "imap://support@mail.example:993",  # the mailbox, or the outgoing relay
    "since": "2026-11-24 09:12 (Europe/Brussels)",
    "minutes": 15,
    "error": "LoginError: b'[AUTHENTICATIONFAILED] Authentication failed.'",
    "hint": "the server refused the login of 'support': check the password",  # may be ""
    "outgoing": True,  # outgoing delivery: this alert itself waited in the outbox
}

SOURCE_UP: dict[str, Any] = {
    "label": "imap://support@mail.example:993",
    "since": "2026-11-24 09:12 (Europe/Brussels)",
    "until": "2026-11-24 10:40 (Europe/Brussels)",
}

STAFF_NEW_TICKET: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Login page shows error 500",
    "client_name": "Acme University",  # str | None
    "requester": "Jane Doe <jane.doe@client.example>",
    "priority": "high",
    "status": "open",  # "open" | "waiting" | "resolved" | "closed"; shown translated
    "response_due": DUE,  # str | None
    "resolution_due": RESOLUTION_DUE,  # str | None
    "remaining_hours": "12 h 30 min",  # str | None: the client's hours left
    "text": CLIENT_TEXT,  # the client's text
    "is_new": True,  # a new ticket (True) or a new client message on one (False)
}

COMMAND_PROBLEMS: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "support_name": SUPPORT,
    # one per problem line; ingest.commands.CommandProblem objects work too
    "problems": [
        {"line_no": 3, "raw": "#tme 1h", "message": "unknown command #tme"},
        {"line_no": 5, "raw": "#time 1h 30 lunch", "message": "cannot read duration"},
    ],
}

RELAY: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Login page shows error 500",  # without leading "Re:"
    "text": "The login page works again: a full disk stopped the database.",
    "staff_name": "Pieter Janssens",
    "support_name": SUPPORT,
    "also_to": "it@vendor.example",
}

PAGE: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Whole platform down",
    "client_name": "Acme University",  # str | None
    "requester": "Jane Doe <jane.doe@client.example>",
    "priority": "high",
    "text": CLIENT_TEXT,
    "level": 2,  # int: 0 for the first page, then one more per escalation
    "ack_minutes": 15,  # int: minutes before the next person is paged
}

POSSIBLE_OUTAGE: dict[str, Any] = {  # to the on-call person: not paged, but maybe an outage
    "tag": TAG,
    "number": NUMBER,
    "subject": "Cannot log in",
    "client_name": "Acme University",  # str | None
    "requester": "jane.doe@client.example",
    "priority": "normal",  # the priority given; never one that pages
    "unsure": "impact without a scope: can't log in",  # why a person should look
    "text": CLIENT_TEXT,
}

PAGE_ACKED: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "acked_by": "Pieter Janssens",
    "support_name": SUPPORT,
}

SLA_WARNING: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Login page shows error 500",
    "target": "response",  # "response" | "resolution"; shown translated
    "due": DUE,
    "priority": "high",
    "client_name": "Acme University",  # str | None
}

SLA_BREACH: dict[str, Any] = dict(SLA_WARNING)

QUOTE: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Upgrade to the new platform version",
    "name": "Jane Doe",  # may be ""
    "hours": "3 h",
    "description": "Upgrade the platform to version 4.5 and migrate the course themes",
    "rate": "60.00 EUR/h excl. VAT",  # str | None
    "support_name": SUPPORT,
    "portal_url": PORTAL_URL,  # str | None
}

LOW_BALANCE: dict[str, Any] = {
    "client_name": "Acme University",
    "remaining": "1 h 45 min",
    "support_name": SUPPORT,
    "threshold": "2 h",
    "portal_url": PORTAL_URL,  # str | None
}

BALANCE_ZERO: dict[str, Any] = {
    "client_name": "Acme University",
    "rate": "80.00 EUR/h excl. VAT",  # str | None
    "support_name": SUPPORT,
    "portal_url": PORTAL_URL,  # str | None
}

TIMESHEET: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "Login page shows error 500",
    "client_name": "Acme University",
    "entries": [
        {
            "date": "Friday 20 November 2026",
            "who": "Pieter Janssens",
            "description": "migrated the course backups",
            "raw": "1 h 20 min",
            "billed": "1 h 30 min",
            "amount": "EUR 90.00",  # str | None (no rate)
        },
        {
            "date": "Saturday 21 November 2026",
            "who": "Marie Dubois",
            "description": "Restarted the service.",
            "raw": "10 min",
            "billed": "15 min",
            "amount": "EUR 22.50",
        },
        {
            "date": "Monday 23 November 2026",
            "who": "Marie Dubois",
            "description": "Checked the logs.",
            "raw": "5 min",
            "billed": "0 min (included)",
            "amount": "",  # nothing at the rate
        },
    ],
    "worked": "1 h 35 min",
    "billed": "1 h 45 min",
    "amount": "EUR 112.50",  # str | None (no rate)
    "remaining": "6 h 15 min",  # str | None (no prepaid hours)
    "support_name": SUPPORT,
}

WEEKLY_STATEMENT: dict[str, Any] = {
    "client_name": "Acme University",
    "period": "2026-W47 (16–22 November 2026)",
    "opening": "8 h 00 min",
    "purchases": [  # may be empty
        {"date": "2026-11-17", "description": "Punch card 10 hours", "amount": "10 h"},
    ],
    "entries": [  # may be empty
        {
            "date": "2026-11-18",
            "number": "2026-000040",
            "subject": "Quiz grades missing",
            "who": "Pieter Janssens",
            "raw": "50 min",
            "billed": "1 h",
        },
        {
            "date": "2026-11-20",
            "number": "2026-000042",
            "subject": "Login page shows error 500",
            "who": "Marie Dubois",
            "raw": "1 h 5 min",
            "billed": "1 h 15 min",
        },
    ],
    "closing": "15 h 45 min",  # the balance at the end of the period
    "week_end": "Sunday 22 November 2026",
    "remaining": "14 h 30 min",  # the hours left today
    "support_name": SUPPORT,
    "portal_url": PORTAL_URL,  # str | None
}

APPROVAL_REQUEST: dict[str, Any] = {
    "tag": TAG,
    "number": NUMBER,
    "subject": "New course for the spring term",
    "requester": "Tom Peeters <tom.peeters@client.example>",
    "client_name": "Acme University",
    "support_name": SUPPORT,
}

QUOTE_ANSWERED: dict[str, Any] = {  # to the quote's author, after a portal answer
    "tag": TAG,
    "number": NUMBER,
    "subject": "Upgrade to the new platform version",
    "contact": "it@acme.example",
    "status": "accepted",  # "accepted" | "refused"
    "hours": "3 h",
    "description": "Upgrade the platform to version 4.5 and migrate the course themes",
    "support_name": SUPPORT,
}

UNQUOTED_TIME: dict[str, Any] = {  # to staff: time on a ticket without an accepted quote
    "tag": TAG,
    "number": NUMBER,
    "subject": "Upgrade to the new platform version",
    "support_name": SUPPORT,
}

QUEUE_DIGEST: dict[str, Any] = {  # to a staff member, once a business day
    "name": "Ann",
    "day": "Tuesday 24 November 2026",
    "mine": [  # each list may be empty; most urgent first
        {
            "number": "2026-000040",
            "client": "acme",
            "priority": "high",
            "sla": "breached",  # breached | warning | running | not started
            "due": "Tuesday 24 November 2026 10:30 (Europe/Brussels)",
            "subject": "Platform down",
        },
    ],
    "unassigned": [
        {
            "number": "2026-000042",
            "client": "",
            "priority": "low",
            "sla": "not started",
            "due": None,
            "subject": "Question about exports",
        },
    ],
    "waiting": [],
    "support_name": SUPPORT,
}

SERVICE_REPORT = {
    "client_name": "Acme Learning",
    "period": "2026-11",
    "received": {"high": 2, "normal": 7, "low": 3},
    "resolved": {"high": 2, "normal": 5, "low": 1},
    "targets": [
        {"name": "response", "met": 11, "total": 12, "percent": "91.7 %"},
        {"name": "resolution", "met": 7, "total": 8, "percent": "87.5 %"},
    ],
    "breaches": [
        {
            "number": "2026-000031",
            "subject": "Exports fail",
            "priority": "normal",
            "target": "resolution",
            "due": "Friday 6 November 2026 14:30 (Belgium Time)",
            "actual": "Monday 9 November 2026 10:00 (Belgium Time)",
            "pauses": [
                {
                    "start": "Tuesday 3 November 2026 10:00 (Belgium Time)",
                    "end": "Thursday 5 November 2026 09:00 (Belgium Time)",
                }
            ],
        },
        {
            "number": "2026-000040",
            "subject": "Platform down",
            "priority": "high",
            "target": "response",
            "due": "Monday 30 November 2026 17:00 (Belgium Time)",
            "actual": None,
            "pauses": [],
        },
    ],
    "worked": "6 h 10 min",
    "billed": "7 h",
    "previous_billed": "5 h 30 min",
    "left": "13 h",
    "months_left": 1,
    "satisfied": 4,
    "unsatisfied": 1,
    "portal_url": "https://portal.example/p/abc",
    "support_name": SUPPORT,
}

TICKET_RESOLVED = {
    "tag": "[#2026-000042]",
    "number": "2026-000042",
    "subject": "Exports fail",
    "satisfied_url": "https://support.example/portal/s/abc.yes",
    "unsatisfied_url": "https://support.example/portal/s/abc.no",
    "support_name": SUPPORT,
}
SATISFACTION_UNHAPPY = {
    "tag": "[#2026-000042]",
    "number": "2026-000042",
    "subject": "Exports fail",
    "client_name": "Acme Learning",
    "contact": "boss@acme.example",
    "support_name": SUPPORT,
}

SAMPLES: dict[str, dict[str, Any]] = {
    "ack": ACK,
    "ack_missing": ACK_MISSING,
    "info_complete": INFO_COMPLETE,
    "unknown_sender": UNKNOWN_SENDER,
    "too_large": TOO_LARGE,
    "staff_unauthenticated": STAFF_UNAUTHENTICATED,
    "bounce_staff": BOUNCE_STAFF,
    "source_down": SOURCE_DOWN,
    "source_up": SOURCE_UP,
    "staff_new_ticket": STAFF_NEW_TICKET,
    "command_problems": COMMAND_PROBLEMS,
    "relay": RELAY,
    "page": PAGE,
    "page_acked": PAGE_ACKED,
    "possible_outage": POSSIBLE_OUTAGE,
    "sla_warning": SLA_WARNING,
    "sla_breach": SLA_BREACH,
    "quote": QUOTE,
    "low_balance": LOW_BALANCE,
    "balance_zero": BALANCE_ZERO,
    "timesheet": TIMESHEET,
    "weekly_statement": WEEKLY_STATEMENT,
    "approval_request": APPROVAL_REQUEST,
    "quote_answered": QUOTE_ANSWERED,
    "unquoted_time": UNQUOTED_TIME,
    "queue_digest": QUEUE_DIGEST,
    "service_report": SERVICE_REPORT,
    "ticket_resolved": TICKET_RESOLVED,
    "satisfaction_unhappy": SATISFACTION_UNHAPPY,
}

# Overrides that take the other branch of every if (and the other choices).
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "ack": [
        {
            "name": "",
            "priority": "low",
            "response_due": None,
            "received_out_of_hours": False,
            "password_warning": False,
        },
        {"priority": "normal", "received_out_of_hours": False, "portal_url": None},
    ],
    "ack_missing": [
        {"name": "", "missing": ["screenshot"], "password_warning": False},
        {"missing": ["steps", "login"], "portal_url": None},
    ],
    "info_complete": [{"name": "", "priority": "high", "response_due": None}],
    "bounce_staff": [
        {"tag": None, "number": None, "diagnostic": "", "status": ""},
        {"original_subject": f"{TAG} Login page shows error 500"},
    ],
    "source_down": [{"hint": "", "outgoing": False}],
    "staff_new_ticket": [
        {
            "client_name": None,
            "response_due": None,
            "resolution_due": None,
            "remaining_hours": None,
            "is_new": False,
            "status": "waiting",
            "priority": "low",
        },
        {"status": "resolved", "priority": "normal"},
        {"status": "closed"},
    ],
    "command_problems": [{"problems": COMMAND_PROBLEMS["problems"][:1]}],
    "relay": [{"subject": f"{TAG} Login page shows error 500"}, {"also_to": ""}],
    "page": [{"level": 0, "client_name": None, "priority": "normal"}],
    "possible_outage": [{"client_name": None, "priority": "low"}],
    "sla_warning": [{"target": "resolution", "client_name": None, "priority": "low"}],
    "sla_breach": [{"target": "resolution", "client_name": None, "priority": "normal"}],
    "quote": [{"name": "", "rate": None, "portal_url": None}],
    "balance_zero": [{"rate": None, "portal_url": None}],
    "low_balance": [{"portal_url": None}],
    "quote_answered": [{"status": "refused"}],
    "timesheet": [{"remaining": None, "amount": None}],
    "weekly_statement": [{"purchases": [], "entries": [], "portal_url": None}],
}

# Variables whose value shows in the subject rather than the body.
IN_SUBJECT: dict[str, set[str]] = {
    "ack": {"subject"},
    "ack_missing": {"subject"},
    "staff_new_ticket": {"subject"},
    "relay": {"subject"},
    "page": {"subject"},
    "possible_outage": {"subject"},
    "quote": {"subject"},
    "timesheet": {"subject"},
}

# Variables shown translated, not verbatim; checked against the tables below.
TRANSLATED = {"priority", "status", "target", "missing"}
_VERBATIM = {"bounce_staff": {"status"}}  # a DSN status code such as "5.1.1"
# Lists whose items carry words the template translates: checked by their own test.
_CHECKED_APART = {
    "queue_digest": {"mine", "unassigned", "waiting"},
    "service_report": {"received", "resolved", "targets", "breaches"},
}

PRIORITY_WORDS = {
    "en": {"high": "High", "normal": "Normal", "low": "Low"},
    "nl": {"high": "Hoog", "normal": "Normaal", "low": "Laag"},
    "fr": {"high": "Haute", "normal": "Normale", "low": "Basse"},
}

# Checked on the body with its whitespace collapsed: "label value".
STATUS_LINES = {
    "en": {
        "open": "Status: open",
        "waiting": "Status: waiting",
        "resolved": "Status: resolved",
        "closed": "Status: closed",
    },
    "nl": {
        "open": "Status: open",
        "waiting": "Status: wacht op klant",
        "resolved": "Status: opgelost",
        "closed": "Status: gesloten",
    },
    "fr": {
        "open": "Statut : ouvert",
        "waiting": "Statut : en attente du client",
        "resolved": "Statut : résolu",
        "closed": "Statut : fermé",
    },
}

TARGET_WORDS = {
    "en": {"response": "response time", "resolution": "resolution time"},
    "nl": {"response": "reactietermijn", "resolution": "oplostermijn"},
    "fr": {"response": "délai de réponse", "resolution": "délai de résolution"},
}

MISSING_WORDS = {
    "en": {
        "url": "address (URL) of the page",
        "screenshot": "screenshot of the error",
        "steps": "steps you took",
        "login": "login (user name)",
    },
    "nl": {
        "url": "adres (URL) van de pagina",
        "screenshot": "schermafdruk van de fout",
        "steps": "stappen die u hebt gevolgd",
        "login": "login (gebruikersnaam)",
    },
    "fr": {
        "url": "adresse (URL) de la page",
        "screenshot": "capture d'écran de l'erreur",
        "steps": "étapes que vous avez suivies",
        "login": "identifiant (nom d'utilisateur)",
    },
}
MISSING_EXAMPLES = {
    "url": "https://learn.example.com/course/42",
    "screenshot": None,
    "steps": "1.",
    "login": None,
}

# A flag's phrase is in the body exactly when the flag is set.
FLAG_WORDS = {
    "outgoing": {
        "en": "wait in the outbox",
        "nl": "wachten deze melding",
        "fr": "attendent dans la file",
    },
    "password_warning": {
        "en": "never send passwords",
        "nl": "Stuur nooit wachtwoorden",
        "fr": "N'envoyez jamais de mot de passe",
    },
    "received_out_of_hours": {
        "en": "outside our business hours",
        "nl": "buiten onze kantooruren",
        "fr": "en dehors de nos heures d'ouverture",
    },
    "is_new": {"en": "(new)", "nl": "(nieuw)", "fr": "(nouveau)"},
    "level": {"en": "Escalation", "nl": "Escalatie", "fr": "Escalade"},
}

# Words a template must always carry in each language (answers the code reads).
REQUIRED_WORDS: dict[str, dict[str, list[str]]] = {
    "quote": {
        "en": ['"accept"', '"refuse"'],
        "nl": ['"akkoord"', '"weiger"'],
        "fr": ["« accepte »", "« refuse »"],
    },
    "approval_request": {"en": ['"approve"'], "nl": ['"akkoord"'], "fr": ["« approuve »"]},
    "page": {lang: ["#ack"] for lang in LANGUAGES},
    "staff_new_ticket": {
        lang: [
            *("#time 1h30", "#internal", "#priority", "#status", "#assign"),
            *("#quote 3h", "#billable", "#included", "#ack"),
        ]
        for lang in LANGUAGES
    },
    "weekly_statement": {lang: ["CSV"] for lang in LANGUAGES},
    "service_report": {lang: ["2026-000031", "2026-000040", "91.7 %"] for lang in LANGUAGES},
}


def _contexts(name: str) -> list[dict[str, Any]]:
    return [SAMPLES[name]] + [{**SAMPLES[name], **v} for v in VARIANTS.get(name, [])]


CASES = [
    pytest.param(name, lang, i, id=f"{name}-{lang}-{i}")
    for name in SAMPLES
    for lang in LANGUAGES
    for i in range(len(_contexts(name)))
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _render(renderer: Renderer, name: str, lang: str, context: dict[str, Any]) -> Rendered:
    return renderer.render(name, lang, **context)


def _shown_values(value: Any) -> list[str]:
    """The text forms of a sample value that must appear in the mail."""
    if isinstance(value, bool) or value is None or value == "" or value == 0:
        return []
    if isinstance(value, str | int):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) for item in value if isinstance(item, dict) for v in item.values()]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    raise AssertionError(f"no rule for showing {value!r}")


def test_every_template_has_a_sample_in_every_language() -> None:
    for lang in LANGUAGES:
        folder = LANG_DIR / lang / "templates"
        names = {p.name.removesuffix(".txt.j2") for p in folder.glob("*.txt.j2")}
        assert names == set(SAMPLES), lang


def test_a_language_is_a_folder_of_templates_and_words() -> None:
    """Adding a language is adding a folder: every folder has every word list (checked
    by the word loader), and the languages maildesk writes in are exactly the folders
    with templates, which the config's language setting accepts."""
    from typing import get_args

    from maildesk.core.config import Language
    from maildesk.core.words import LANGUAGES as READ
    from maildesk.core.words import load

    folders = sorted(
        p.name for p in LANG_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")
    )
    assert folders == sorted(READ)
    for code in folders:
        load(code)  # every table and list, or WordListError naming the file
    written = sorted(code for code in folders if (LANG_DIR / code / "templates").is_dir())
    assert written == sorted(LANGUAGES) == sorted(get_args(Language))


@pytest.mark.parametrize(("name", "lang", "variant"), CASES)
def test_template_renders(renderer: Renderer, name: str, lang: str, variant: int) -> None:
    context = _contexts(name)[variant]
    mail = _render(renderer, name, lang, context)
    flat = " ".join(mail.body.split())

    # the subject: one non-empty line with the ticket's tag, once
    assert mail.subject
    assert "\n" not in mail.subject
    assert mail.subject == mail.subject.strip()
    if context.get("tag"):
        assert mail.subject.count(context["tag"]) == 1, mail.subject

    # nothing of Jinja or Python left over; tidy plain text
    for text in (mail.subject, mail.body):
        for leftover in ("{{", "}}", "{%", "%}", "{#", "#}", "None", "Undefined"):
            assert leftover not in text, (leftover, text)
    assert "\n\n\n" not in mail.body
    assert not re.search(r"[ \t]+$", mail.body, re.MULTILINE), "trailing whitespace"
    assert mail.body.strip()
    lines = mail.body.splitlines()
    if lines[0].endswith(","):
        assert lines[1] == "", "a blank line after the greeting"

    # every value meant to be shown is shown, where it belongs
    for key, value in context.items():
        if key in TRANSLATED - _VERBATIM.get(name, set()) or key == "tag":
            continue
        if key in _CHECKED_APART.get(name, set()):
            continue
        where = mail.subject if key in IN_SUBJECT.get(name, set()) else mail.body
        for shown in _shown_values(value):
            assert shown in where, (key, shown)

    # a value set to None / "" in a variant is not shown (its line is left out)
    for key, value in SAMPLES[name].items():
        if isinstance(value, str) and value and not context[key] and key != "tag":
            assert value not in mail.body, key

    # the words the template translates, in this language
    if "priority" in context:
        word = PRIORITY_WORDS[lang][context["priority"]]
        assert re.search(rf"\b{word}\b", mail.body), word
        others = set(PRIORITY_WORDS[lang].values()) - {word}
        assert not any(re.search(rf"\b{w}\b", mail.body) for w in others)
    if name == "staff_new_ticket":
        assert STATUS_LINES[lang][context["status"]] in flat
    if "target" in context:
        assert TARGET_WORDS[lang][context["target"]] in flat
        assert TARGET_WORDS[lang][context["target"]] in mail.subject
    if "missing" in context:
        for item, words in MISSING_WORDS[lang].items():
            assert (words in flat) == (item in context["missing"]), item
    for flag, phrases in FLAG_WORDS.items():
        if flag in context:
            assert (phrases[lang] in flat) == bool(context[flag]), flag
    for word in REQUIRED_WORDS.get(name, {}).get(lang, []):
        assert word in flat, word

    if "support_name" in context and name != "relay":
        assert mail.body.rstrip().endswith(context["support_name"]), "signed"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_languages_differ(renderer: Renderer, name: str) -> None:
    """A template copied untranslated into another language fails here."""
    for context in _contexts(name):
        bodies = {lang: _render(renderer, name, lang, context).body for lang in LANGUAGES}
        for a, b in combinations(LANGUAGES, 2):
            assert bodies[a] != bodies[b], (a, b)
            shared = set(bodies[a].splitlines()) & set(bodies[b].splitlines())
            prose = [line for line in shared if len(line.split()) >= 6]
            # only lines made of the sample's own values (the client's text) may be shared
            values = [shown for v in context.values() for shown in _shown_values(v)]
            assert all(any(v in line for v in values) for line in prose), (a, b, prose)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_missing_item_has_its_own_explanation(renderer: Renderer, lang: str) -> None:
    bodies = {}
    for item in MISSING_WORDS[lang]:
        body = _render(renderer, "ack_missing", lang, {**ACK_MISSING, "missing": [item]}).body
        assert MISSING_WORDS[lang][item] in " ".join(body.split())
        example = MISSING_EXAMPLES[item]
        if example is not None:
            assert example in body
        bodies[item] = body
    assert len(set(bodies.values())) == len(bodies)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_items_keep_their_order(renderer: Renderer, lang: str) -> None:
    order = ["login", "url", "steps"]
    body = _render(renderer, "ack_missing", lang, {**ACK_MISSING, "missing": order}).body
    flat = " ".join(body.split())
    positions = [flat.index(MISSING_WORDS[lang][item]) for item in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_page_subject_starts_with_page(renderer: Renderer, lang: str) -> None:
    for context in _contexts("page"):
        assert _render(renderer, "page", lang, context).subject.startswith("[PAGE] ")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_relay_subject_is_a_single_reply(renderer: Renderer, lang: str) -> None:
    for context in _contexts("relay"):
        subject = _render(renderer, "relay", lang, context).subject
        assert subject == f"Re: {TAG} Login page shows error 500"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_relay_body_starts_with_the_staff_text(renderer: Renderer, lang: str) -> None:
    body = _render(renderer, "relay", lang, RELAY).body
    assert body.startswith(RELAY["text"] + "\n\n")
    assert f"{RELAY['staff_name']}, {RELAY['support_name']}" in body


def test_command_problems_accept_objects_with_attributes(renderer: Renderer) -> None:
    """The code may pass ingest.commands.CommandProblem objects instead of dicts."""

    class Problem:
        def __init__(self, line_no: int, raw: str, message: str) -> None:
            self.line_no, self.raw, self.message = line_no, raw, message

    problems = [Problem(**p) for p in COMMAND_PROBLEMS["problems"]]
    body = _render(renderer, "command_problems", "en", {**COMMAND_PROBLEMS, "problems": problems})
    assert "Line 3: #tme 1h" in body.body


@pytest.mark.parametrize(("name", "lang"), [(n, lang) for n in SAMPLES for lang in LANGUAGES])
def test_every_variable_is_required(renderer: Renderer, name: str, lang: str) -> None:
    """StrictUndefined: leaving any sample variable out of the context raises."""
    for key in SAMPLES[name]:
        context = {k: v for k, v in SAMPLES[name].items() if k != key}
        with pytest.raises(UndefinedError):
            _render(renderer, name, lang, context)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_unknown_choice_raises(renderer: Renderer, lang: str) -> None:
    """A priority, target or missing item the templates do not know fails loudly."""
    with pytest.raises(UndefinedError):
        _render(renderer, "ack", lang, {**ACK, "priority": "urgent"})
    with pytest.raises(UndefinedError):
        _render(renderer, "sla_warning", lang, {**SLA_WARNING, "target": "closing"})
    with pytest.raises(UndefinedError):
        _render(renderer, "ack_missing", lang, {**ACK_MISSING, "missing": ["phone"]})


def test_operator_folder_overrides_one_template_and_keeps_the_rest(tmp_path: Path) -> None:
    from maildesk.core.config import Service
    from maildesk.notify.render import renderer_for

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "too_large.txt.j2").write_text(
        "{% block subject %}Too big: {{ subject }}{% endblock %}\n"
        "{% block body %}Our own words, limit {{ limit_mb }} MB.{% endblock %}\n",
        encoding="utf-8",
    )
    renderer = renderer_for(Service(templates_dir=tmp_path))
    own = renderer.render("too_large", "en", subject="x", support_name="S", limit_mb=25)
    assert own.subject == "Too big: x"
    assert own.body == "Our own words, limit 25 MB.\n"
    builtin = renderer.render(
        "unknown_sender", "en", subject="x", support_name="S", support_address="s@x.example"
    )
    assert "registered" in builtin.body


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [
        ("en", "You can also accept or refuse this quote online, on this page:"),
        ("nl", "U kunt deze offerte ook online aanvaarden of weigeren, op deze pagina:"),
        ("fr", "Vous pouvez aussi accepter ou refuser ce devis en ligne, sur cette page :"),
    ],
)
def test_the_quote_says_what_the_portal_link_is(
    renderer: Renderer, lang: str, sentence: str
) -> None:
    """The sentence before the link names the page it leads to ("daar" had nothing to
    refer to in the Dutch mail)."""
    mail = _render(renderer, "quote", lang, {**QUOTE, "portal_url": PORTAL_URL})
    lines = mail.body.splitlines()
    assert lines[lines.index(PORTAL_URL) - 1] == sentence
    assert " daar " not in mail.body


RATE_WORDS = {"en": "hourly rate", "nl": "uurtarief", "fr": "tarif horaire"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_balance_zero_names_no_hourly_rate_the_policy_lacks(renderer: Renderer, lang: str) -> None:
    """Without a rate, the used-up notice says the time is owed, never billed at a rate."""
    without = _render(renderer, "balance_zero", lang, {**BALANCE_ZERO, "rate": None})
    with_rate = _render(renderer, "balance_zero", lang, BALANCE_ZERO)
    assert RATE_WORDS[lang] not in " ".join(without.body.split())
    assert RATE_WORDS[lang] in " ".join(with_rate.body.split())


DIGEST_STATE_WORDS = {
    "en": {"breached": "BREACHED", "warning": "warning", "not started": "incomplete"},
    "nl": {"breached": "OVERSCHREDEN", "warning": "waarschuwing", "not started": "onvolledig"},
    "fr": {"breached": "DÉPASSÉ", "warning": "alerte", "not started": "incomplet"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_queue_digest_lists_each_ticket_once_in_order_with_its_words(
    renderer: Renderer, lang: str
) -> None:
    mail = renderer.render("queue_digest", lang, **QUEUE_DIGEST)
    body = mail.body
    mine, unassigned = QUEUE_DIGEST["mine"][0], QUEUE_DIGEST["unassigned"][0]
    assert body.index(mine["number"]) < body.index(unassigned["number"]), "sections in order"
    for item in (mine, unassigned):
        assert body.count(item["number"]) == 1
        assert item["subject"] in body
        line = next(ln for ln in body.splitlines() if item["number"] in ln)
        assert PRIORITY_WORDS[lang][item["priority"]] in line
        assert DIGEST_STATE_WORDS[lang][item["sla"]] in line
    assert mine["due"] in body
    busy = renderer.render("queue_digest", lang, **{**QUEUE_DIGEST, "waiting": [mine]})
    assert busy.body.count(mine["number"]) == 2, "a waiting ticket is listed in its section"
