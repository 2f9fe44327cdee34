"""The few words billing writes outside templates (statement lines, sheet headers), per language."""

from __future__ import annotations

from datetime import date
from typing import Final

__all__ = ["MONTHS", "WORDS", "date_range"]

WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "billable": "billable",
        "hours_left": "Hours left",
        "time_owed": "Time owed",
        "task_header": "Date|Staff|Work done|Worked|Billed|Included or billable",
        "purchase": "Purchase",
        "grant": "Free hours",
        "expiry": "Expired:",
        "adjustment": "Adjustment",
        "work": "Work",
        "at_rate": "at the hourly rate",
        "correction": "correction",
        "included": "included",
        "owed": "owed, paid first by the next purchase",
        "held": "not billed yet: quote awaiting your answer",
        "refused": "not billed: quote refused",
        "unquoted": "not billed",
        "total": "Total",
        "header": "Date|Ticket|Subject|Staff|Worked|Billed|From prepaid hours|At the hourly rate",
    },
    "nl": {
        "billable": "te factureren",
        "hours_left": "Resterende uren",
        "time_owed": "Verschuldigde tijd",
        "task_header": "Datum|Medewerker|Uitgevoerd werk|Gewerkt|Gefactureerd"
        "|Inbegrepen of te factureren",
        "purchase": "Aankoop",
        "grant": "Gratis uren",
        "expiry": "Vervallen:",
        "adjustment": "Correctie",
        "work": "Werk",
        "at_rate": "tegen uurtarief",
        "correction": "correctie",
        "included": "inbegrepen",
        "owed": "verschuldigd, eerst betaald uit de volgende aankoop",
        "held": "nog niet gefactureerd: offerte wacht op uw antwoord",
        "refused": "niet gefactureerd: offerte geweigerd",
        "unquoted": "niet gefactureerd",
        "total": "Totaal",
        "header": "Datum|Ticket|Onderwerp|Medewerker|Gewerkt|Gefactureerd"
        "|Van vooraf betaalde uren|Tegen uurtarief",
    },
    "fr": {
        "billable": "facturable",
        "hours_left": "Heures restantes",
        "time_owed": "Temps dû",
        "task_header": "Date|Intervenant|Travail effectué|Travail|Facturé|Inclus ou facturable",
        "purchase": "Achat",
        "grant": "Heures offertes",
        "expiry": "Expiré :",
        "adjustment": "Correction",
        "work": "Travail",
        "at_rate": "au tarif horaire",
        "correction": "correction",
        "included": "inclus",
        "owed": "dû, réglé en premier par le prochain achat",
        "held": "pas encore facturé : devis en attente de votre réponse",
        "refused": "non facturé : devis refusé",
        "unquoted": "non facturé",
        "total": "Total",
        "header": "Date|Ticket|Objet|Intervenant|Travail|Facturé"
        "|Sur les heures prépayées|Au tarif horaire",
    },
}

MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        *("January", "February", "March", "April", "May", "June", "July"),
        *("August", "September", "October", "November", "December"),
    ),
    "nl": (
        *("januari", "februari", "maart", "april", "mei", "juni", "juli"),
        *("augustus", "september", "oktober", "november", "december"),
    ),
    "fr": (
        *("janvier", "février", "mars", "avril", "mai", "juin", "juillet"),
        *("août", "septembre", "octobre", "novembre", "décembre"),
    ),
}


def date_range(first: date, last: date, language: str) -> str:
    """``16–22 November 2026``, ``30 November – 6 December 2026``, across years in full."""
    months = MONTHS.get(language, MONTHS["en"])
    end = f"{last.day} {months[last.month - 1]} {last.year}"
    if first.year != last.year:
        return f"{first.day} {months[first.month - 1]} {first.year} – {end}"
    if first.month != last.month:
        return f"{first.day} {months[first.month - 1]} – {end}"
    return f"{first.day}–{end}"
