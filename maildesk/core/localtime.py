"""Times as a client reads them: in the calendar's zone, in the client's language.

Day and month names, the order of the parts and the words for the zone come from
the Unicode CLDR through Babel, so every language maildesk writes reads them as
its speakers do; an IANA name such as ``Europe/Brussels`` means nothing to a
client. Babel is imported here alone (an import-linter contract).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.core import get_global
from babel.dates import format_date, format_datetime, get_timezone_location

_PATTERN = "EEEE d MMMM y HH:mm"
"""Weekday, day, month, year and 24-hour time: "Monday 24 November 2026 12:00"."""


def format_local(at: datetime, tz: str, language: str) -> str:
    """E.g. "Monday 24 November 2026 12:00 (Belgium Time)", "maandag 24 november
    2026 12:00 (tijd in België)", "lundi 24 novembre 2026 12:00 (heure : Belgique)"."""
    locale = _locale(language)
    local = at.astimezone(ZoneInfo(tz))
    return f"{format_datetime(local, _PATTERN, locale=locale)} ({_zone_words(tz, locale)})"


def format_day(day: date, language: str) -> str:
    """E.g. "Sunday 22 November 2026", "zondag 22 november 2026", "dimanche 22 novembre 2026"."""
    return format_date(day, "EEEE d MMMM y", locale=_locale(language))


def _locale(language: str) -> str:
    return language if language in ("en", "nl", "fr", "de") else "en"


@lru_cache(maxsize=256)
def _zone_words(tz: str, locale: str) -> str:
    """The zone as CLDR names it in ``locale`` ("tijd in België"); a zone of no country
    (``UTC``, ``Etc/GMT+2``) by its own name."""
    if get_global("zone_territories").get(tz) in (None, "001", "ZZ"):
        return str(get_timezone_location(tz, locale=locale, return_city=True))
    return str(get_timezone_location(tz, locale=locale))
