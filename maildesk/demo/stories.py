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
                "The quiz's time limit was set to zero; corrected.\n\n#time 20m\n#status resolved\n",
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
            "the platform is back: 1 h 10 logged",
            Mail(
                LIES,
                "Re: {T5} La plateforme est hors service",
                "La plateforme fonctionne à nouveau.\n\n#time 1h10\n#status resolved\n",
            ),
        ),
        Step(
            _at(2026, 11, 23, 8, 0),
            "Monday 08:00: the weekly statements go out",
        ),
    ),
)

STORIES: dict[str, Story] = {story.policy: story for story in (LEARNING,)}
