"""Times as a client reads them: in the calendar's zone, in the client's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}


def format_local(at: datetime, tz: str, language: str) -> str:
    """E.g. "Monday 24 November 2026 12:00 (Europe/Brussels)", in en, nl or fr."""
    lang = language if language in _DAYS else "en"
    local = at.astimezone(ZoneInfo(tz))
    day = _DAYS[lang][local.weekday()]
    month = _MONTHS[lang][local.month - 1]
    return f"{day} {local.day} {month} {local.year} {local:%H:%M} ({tz})"
