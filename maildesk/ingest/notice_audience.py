"""The addresses a staff notice goes to, from the contract's ``notices`` block.

Pure: reads the config, the ticket's assignee and the clock, never the database, so the
choice costs nothing per mail beyond the notice it saves.
"""

from __future__ import annotations

from datetime import datetime

from maildesk.core.config.settings import Settings
from maildesk.core.policy import Policy
from maildesk.sla import oncall
from maildesk.sla.paging import resolve_person


def notice_recipients(
    settings: Settings, policy: Policy, assignee: str | None, is_new: bool, now: datetime
) -> tuple[str, ...]:
    """Who is told of a client's mail: ``new_ticket`` or ``client_reply`` of ``policy``.

    ``assignee`` and ``oncall`` fall back to all staff when the ticket has no assignee or
    the contract no rota (or its entry names no staff member): a client mail nobody is
    told of would wait for the digest.
    """
    notices = policy.notices
    audience = notices.new_ticket if is_new else notices.client_reply
    everyone = tuple(sorted(settings.staff_addresses))
    if audience == "none":
        return ()
    if audience == "team":
        return (notices.team,) if notices.team else ()
    if audience == "assignee":
        return (assignee,) if assignee else everyone
    if audience == "oncall":
        entry = oncall.on_call(policy.oncall, now, policy.calendar.timezone)
        person = resolve_person(settings, entry) if entry else None
        return (person.email,) if person else everyone
    return everyone
