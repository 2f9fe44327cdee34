"""The four example contracts (``config/examples/``), each as a scripted story.

Every value here is something a person of the story would type or do; what
maildesk makes of it is read back from the database by :mod:`maildesk.demo.story`.
"""

from __future__ import annotations

from datetime import datetime

from maildesk.demo.story import Mail, Step, Story, TopUp

__all__ = ["STORIES"]


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)


# --- learning-helpdesk: a week of a learning platform's helpdesk, Mon 16 – Mon 23 Nov 2026 --

ICT = "ict@hogeschool-west.example"
DOCENT = "docent@hogeschool-west.example"
DIRECTION = "direction@lycee-sud.example"
CITY = "it@city-academy.example"
TOM, LIES = "tom@learning-helpdesk.example", "lies@learning-helpdesk.example"

LEARNING = Story(
    "learning-helpdesk",
    "a week of a learning platform's helpdesk",
    "Europe/Brussels",
    (
        Step(
            _at(2026, 11, 16, 8, 45),
            "Hogeschool West buys a 5-hour punch card (its 3 free hours came first)",
            topup=TopUp("hogeschool-west", 5, "INV-2026-101"),
        ),
        Step(
            _at(2026, 11, 16, 9, 10),
            "Hogeschool West reports a quiz error, without a screenshot",
            Mail(
                ICT,
                "Quiz page error",
                "Submitting the quiz at https://learn.hogeschool-west.example/quiz/7 fails.\n\n"
                "Steps:\n1. Log in as a student\n2. Open quiz 7\n3. Click Submit\n",
            ),
            label="T1",
        ),
        Step(
            _at(2026, 11, 16, 9, 40),
            "the client supplies the screenshot",
            Mail(ICT, "Re: {T1} Quiz page error", "Here is the screenshot.\n", screenshot=True),
        ),
        Step(
            _at(2026, 11, 16, 11, 0),
            "Tom fixes it and logs 20 minutes (the 15-minute unit bills 30)",
            Mail(
                TOM,
                "Re: {T1} Quiz page error",
                "The quiz's time limit was set to zero; corrected.\n\n"
                "#time 20m\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 11, 17, 10, 0),
            "a lecturer (not authorised to draw on the card) reports a slow export",
            Mail(
                DOCENT,
                "Gradebook export slow",
                "Exporting the gradebook at https://learn.hogeschool-west.example/grades "
                "takes ten minutes.\n\nSteps:\n1. Open the gradebook\n2. Click Export\n",
                screenshot=True,
            ),
            label="T2",
        ),
        Step(
            _at(2026, 11, 17, 14, 0),
            "Lies works on it for 45 minutes: held until an authorised contact approves",
            Mail(
                LIES,
                "Re: {T2} Gradebook export slow",
                "Added an index on the grades table; the export takes seconds now.\n\n#time 45m\n",
            ),
        ),
        Step(
            _at(2026, 11, 17, 15, 30),
            "the lecturer tries to approve the work himself",
            Mail(DOCENT, "Re: {T2} Gradebook export slow", "Approved.\n"),
        ),
        Step(
            _at(2026, 11, 17, 16, 0),
            "the ICT department approves",
            Mail(ICT, "Re: {T2} Gradebook export slow", "Approved, go ahead.\n"),
        ),
        Step(
            _at(2026, 11, 18, 9, 0),
            "City Academy, a new client, reports a typo (Low)",
            Mail(
                CITY,
                "Typo on the certificate page",
                "There is a typo on https://learn.city-academy.example/certificate\n\n"
                "Steps:\n1. Finish a course\n2. Open the certificate\n",
                screenshot=True,
            ),
            label="T3",
        ),
        Step(
            _at(2026, 11, 18, 15, 0),
            "Tom rebuilds the certificate template: 2 h 20 of its 3 free hours",
            Mail(
                TOM,
                "Re: {T3} Typo on the certificate page",
                "Fixed the template and regenerated the certificates.\n\n#time 2h20\n"
                "#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 11, 20, 17, 30),
            "City Academy reports a Normal problem on Friday at 17:30",
            Mail(
                CITY,
                "Video lessons stutter",
                "Video lessons at https://learn.city-academy.example/video stutter for all "
                "students.\n\nSteps:\n1. Open any lesson\n2. Press play\n",
                screenshot=True,
            ),
            label="T4",
        ),
        Step(
            _at(2026, 11, 21, 10, 0),
            "Saturday: the Lycée du Sud's platform is down (High)",
            Mail(
                DIRECTION,
                "La plateforme est hors service",
                "Depuis 9h50 la plateforme est hors service : https://learn.lycee-sud.example "
                "affiche une erreur 500.\n\nÉtapes :\n1. Ouvrir la page d'accueil\n"
                "2. Se connecter\n3. Erreur 500\n",
                screenshot=True,
            ),
            label="T5",
        ),
        Step(
            _at(2026, 11, 21, 10, 8),
            "the technician on call answers the page",
            Mail(
                LIES,
                "Re: [PAGE] {T5} La plateforme est hors service",
                "On it, restarting the application servers.\n",
            ),
        ),
        Step(
            _at(2026, 11, 21, 11, 0),
            "the platform is back: 1 h 10 on a fault of our own product, free (#included)",
            Mail(
                LIES,
                "Re: {T5} La plateforme est hors service",
                "La plateforme fonctionne à nouveau.\n\n#included\n#time 1h10\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 11, 23, 8, 0),
            "Monday 08:00: the weekly statements go out",
        ),
    ),
)


# --- prepaid-assistance: 40 prepaid hours drawn down, around Good Friday 2026 -------------

DSI = "dsi@universite-nord.example"
CLAIRE, MARC = "claire@lms-vendor.example", "marc@lms-vendor.example"


def _task(day: int, tag: str, subject: str, worked: str, say: str, who: str = CLAIRE) -> Step:
    return Step(
        _at(2026, 3, day, 16),
        say,
        Mail(
            who,
            f"Re: {{{tag}}} {subject}",
            f"Travail effectué sur la plateforme.\n\n#time {worked}\n#status resolved\n",
        ),
    )


def _report(day: int, hour: int, subject: str, label: str) -> Step:
    return Step(
        _at(2026, 3, day, hour),
        f"Université du Nord reports: {subject}",
        Mail(
            DSI,
            subject,
            f"Anomalie bloquante sur https://lms.universite-nord.example/cours/{day}\n"
            "Identifiant : jdupont\n\nÉtapes :\n1. Se connecter\n"
            "2. Ouvrir le cours\n3. Message d'erreur\n",
            screenshot=True,
        ),
        label=label,
    )


PREPAID = Story(
    "prepaid-assistance",
    "an LMS vendor's 40-hour prepaid assistance",
    "Europe/Brussels",
    (
        Step(
            _at(2026, 3, 2, 9, 0),
            "Université du Nord buys the 40-hour contract",
            topup=TopUp("universite-nord", 40, "CONTRAT-2026-01"),
        ),
        _report(2, 10, "Cours inaccessibles", "P1"),
        _task(3, "P1", "Cours inaccessibles", "14h", "Claire finishes the first task: 14 h"),
        _report(9, 10, "Import des notes bloqué", "P2"),
        _task(11, "P2", "Import des notes bloqué", "13h30", "the second task: 13 h 30"),
        _report(16, 10, "Quiz en erreur", "P3"),
        _task(18, "P3", "Quiz en erreur", "9h", "the third task: 9 h, crossing 4 h left"),
        _report(23, 10, "Export bloqué", "P4"),
        _task(24, "P4", "Export bloqué", "45m", "Marc: a small task, no second invitation", MARC),
        Step(
            _at(2026, 4, 2, 16, 30),
            "Thursday before Good Friday (bank-closed), a report without the user's login",
            Mail(
                DSI,
                "Inscriptions impossibles",
                "Anomalie bloquante sur https://lms.universite-nord.example/inscriptions\n\n"
                "Étapes :\n1. Ouvrir les inscriptions\n2. Valider\n3. Erreur\n",
                screenshot=True,
            ),
            label="P5",
        ),
        Step(
            _at(2026, 4, 2, 16, 45),
            "the client gives the login",
            Mail(DSI, "Re: {P5} Inscriptions impossibles", "Identifiant : mleroy\n"),
        ),
    ),
)

# --- hosting-support: a week-end and a Monday at a hosting provider, 22-23 Nov 2026 ----------

GERANT = "gerant@boulangerie.example"
OPS = "ops@webshop.example"
PAUL, SARAH = "paul@hosting.example", "sarah@hosting.example"


def _signed(domain: str) -> tuple[tuple[str, str], ...]:
    """What our own receiving server writes on a mail whose DKIM and DMARC pass."""
    return (
        (
            "Authentication-Results",
            f"mx.hosting.example; dkim=pass header.d={domain}; dmarc=pass header.from={domain}",
        ),
    )


BOULANGERIE = _signed("boulangerie.example")
# Staff mail is obeyed only when our server vouches for it (authserv_id is set).
STAFF_SIGNED = _signed("hosting.example")

HOSTING = Story(
    "hosting-support",
    "a hosting provider's week-end and Monday",
    "Europe/Paris",
    (
        Step(
            _at(2026, 11, 22, 3, 0),
            "Sunday 03:00: the bakery's site is down (urgent)",
            Mail(
                GERANT,
                "Site en panne",
                "Notre site boulangerie.example est hors ligne depuis 2h30.\n",
                headers=BOULANGERIE,
            ),
            label="H1",
        ),
        Step(
            _at(2026, 11, 22, 3, 10),
            "Sarah, on call this week, answers the page and logs 20 minutes: no quote, so"
            " recorded and not billed, and she is told once",
            Mail(
                SARAH,
                "Re: [PAGE] {H1} Site en panne",
                "Je regarde, redémarrage du serveur.\n\n#time 20m\n",
                headers=STAFF_SIGNED,
            ),
        ),
        Step(
            _at(2026, 11, 22, 11, 0),
            "Sunday 11:00: the webshop asks a non-urgent question",
            Mail(
                OPS,
                "Vraag over back-ups",
                "Hoe lang bewaren jullie onze back-ups?\n",
                headers=_signed("webshop.example"),
            ),
            label="H2",
        ),
        Step(
            _at(2026, 11, 22, 12, 0),
            "a mail claiming to be the bakery, without our server's identity check",
            Mail(GERANT, "Changer le mot de passe", "Merci de changer le mot de passe FTP.\n"),
        ),
        Step(
            _at(2026, 11, 23, 10, 0),
            "Monday: the bakery asks for a PHP upgrade (beyond the free scope)",
            Mail(
                GERANT,
                "Mise à jour PHP",
                "Pouvez-vous passer notre site en PHP 8.3 ?\n",
                headers=BOULANGERIE,
            ),
            label="H3",
        ),
        Step(
            _at(2026, 11, 23, 11, 0),
            "Paul quotes 2 hours",
            Mail(
                PAUL,
                "Re: {H3} Mise à jour PHP",
                "Devis ci-dessous.\n\n#quote 2h PHP 8.3\n",
                headers=STAFF_SIGNED,
            ),
        ),
        Step(
            _at(2026, 11, 23, 14, 0),
            "the bakery accepts the quote by reply",
            Mail(GERANT, "Re: {H3} Mise à jour PHP", "J'accepte le devis.\n", headers=BOULANGERIE),
        ),
        Step(
            _at(2026, 11, 24, 17, 0),
            "the upgrade took 2 h 40: the quote caps it at 2 h",
            Mail(
                PAUL,
                "Re: {H3} Mise à jour PHP",
                "Mise à jour terminée.\n\n#time 2h40\n#status resolved\n",
                headers=STAFF_SIGNED,
            ),
        ),
        Step(
            _at(2026, 11, 24, 17, 30),
            "31 more minutes; the bakery's own logs filled the disk: #billable bills the"
            " intervention, 20 + 31 minutes, every started half hour due",
            Mail(
                PAUL,
                "Re: {H1} Site en panne",
                "Cause trouvée : vos journaux ont rempli le disque.\n\n#billable\n#time 31m\n"
                "#status resolved\n",
                headers=STAFF_SIGNED,
            ),
        ),
    ),
)

# --- maintenance-subscription: a software vendor's December, 14-28 Dec 2026 -----------------

PRAKTIJK = "praktijk@devries.example"
GARAGE = "info@garagesmit.example"
JEROEN = "jeroen@softvendor.example"

MAINTENANCE = Story(
    "maintenance-subscription",
    "a software vendor's maintenance subscription in December",
    "Europe/Amsterdam",
    (
        Step(
            _at(2026, 12, 14, 9, 30),
            "the dental practice asks how to print a report (in scope)",
            Mail(PRAKTIJK, "Rapport afdrukken", "Hoe druk ik het maandrapport af?\n"),
            label="M1",
        ),
        Step(
            _at(2026, 12, 14, 11, 0),
            "Jeroen answers: 30 minutes within the subscription",
            Mail(
                JEROEN,
                "Re: {M1} Rapport afdrukken",
                "Via Rapporten > Maand > Afdrukken.\n\n#time 30m\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 12, 15, 9, 0),
            "the practice's PC has a virus",
            Mail(PRAKTIJK, "Virus op de balie-pc", "De balie-pc toont vreemde meldingen.\n"),
            label="M2",
        ),
        Step(
            _at(2026, 12, 15, 12, 0),
            "the clean-up is marked #billable: 1 h 10 at the hourly rate",
            Mail(
                JEROEN,
                "Re: {M2} Virus op de balie-pc",
                "Virus verwijderd.\n\n#billable\n#time 1h10\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 12, 16, 10, 0),
            "Garage Smit, which cancelled in October, asks for help",
            Mail(GARAGE, "Factuur printen lukt niet", "Facturen printen niet meer.\n"),
            label="M3",
        ),
        Step(
            _at(2026, 12, 16, 11, 0),
            "20 minutes of work after cancellation: the minimum of 1 hour",
            Mail(
                JEROEN,
                "Re: {M3} Factuur printen lukt niet",
                "Printerstuurprogramma opnieuw ingesteld; ik kijk morgen nog even.\n\n#time 20m\n",
            ),
        ),
        Step(
            _at(2026, 12, 17, 10, 0),
            "20 more minutes in the same intervention: still within its one hour",
            Mail(
                JEROEN,
                "Re: {M3} Factuur printen lukt niet",
                "Alles werkt weer.\n\n#time 20m\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 12, 23, 16, 30),
            "the day before the holiday closure, a new question",
            Mail(PRAKTIJK, "Agenda traag", "De agenda laadt traag.\n"),
            label="M4",
        ),
    ),
)

STORIES: dict[str, Story] = {
    story.policy: story for story in (LEARNING, PREPAID, HOSTING, MAINTENANCE)
}
