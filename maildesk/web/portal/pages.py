"""The client's page as HTML: Jinja2 with autoescape on, in the client's language.

Mail templates live in :mod:`maildesk.notify.render` (plain text, no
escaping); this is the only other place Jinja2 is used, because HTML needs
every value escaped and mail text must not be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from maildesk.core.durations import format_minutes
from maildesk.web.portal.text import words

__all__ = ["Pages"]


class Pages:
    """Renders the portal's pages for one service time zone."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self._env = Environment(
            loader=PackageLoader("maildesk.web.portal", "templates"),
            undefined=StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["hours"] = format_minutes
        self._env.filters["local"] = self._local

    def _local(self, when: datetime | None, with_time: bool = True) -> str:
        if when is None:
            return ""
        local = when.astimezone(ZoneInfo(self.zone))
        return f"{local:%Y-%m-%d %H:%M}" if with_time else f"{local:%Y-%m-%d}"

    def render(self, name: str, language: str, **context: Any) -> str:
        """The page ``name`` (``page``, ``ticket``, ``notice``) in ``language``."""
        template = self._env.get_template(f"{name}.html.j2")
        return template.render(t=words(language), lang=language, zone=self.zone, **context)
