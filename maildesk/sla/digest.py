"""The daily queue digest: each staff member's tickets and the unassigned ones, by mail.

On each business day (the default policy's calendar), at ``digest.time`` or,
unset, when business hours start, every staff member named by
``digest.staff`` (all staff when empty) gets one mail in their language:
their assigned tickets, then the unassigned ones, each ordered breaches
first, then warnings, then by next due time (the order of ``maildesk tickets
list --sort due``), and the tickets waiting on the client apart. A ``once``
key per person and local day, claimed with the mail, keeps a restart or a
second daemon from sending it twice; a day with nothing waiting claims the
key and sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from maildesk.core.config import Settings, Staff
from maildesk.core.localtime import format_local
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla.clock import calendar_for
from maildesk.sla.queue import ENDED, QueueFilter, QueueRow, queue
from maildesk.store.db import Database
from maildesk.store.once import claim, claimed

log = logging.getLogger(__name__)

KIND = "queue_digest"
WAITING = ("waiting", "awaiting_info")
ACTIVE = ("open", "awaiting_info", "waiting")
assert not set(ACTIVE) & set(ENDED)


def digest_day(settings: Settings, now: datetime) -> date | None:
    """The local day whose digest is due at ``now``; None before its time or on a closed day."""
    zone = ZoneInfo(settings.service.timezone)
    day = now.astimezone(zone).date()
    cal = calendar_for(settings.policies["default"])
    opens = cal.next_open(datetime.combine(day, time(), zone))
    if opens.astimezone(zone).date() != day:
        return None  # a weekend, holiday or closure: no digest
    wanted = settings.digest.time
    start = datetime.combine(day, time.fromisoformat(wanted), zone) if wanted else opens
    return day if now >= start else None


def digest_key(address: str, day: date) -> str:
    return f"digest:{address}:{day.isoformat()}"


@dataclass(frozen=True)
class Sections:
    """One person's digest: assigned, unassigned, and waiting on the client."""

    mine: list[QueueRow]
    unassigned: list[QueueRow]
    waiting: list[QueueRow]

    @classmethod
    def of(cls, rows: list[QueueRow], address: str) -> Sections:
        theirs = [r for r in rows if r.assignee in (address, None)]
        return cls(
            mine=[r for r in theirs if r.assignee == address and r.status not in WAITING],
            unassigned=[r for r in theirs if r.assignee is None and r.status not in WAITING],
            waiting=[r for r in theirs if r.status in WAITING],
        )

    @property
    def empty(self) -> bool:
        return not (self.mine or self.unassigned or self.waiting)


def _lines(rows: list[QueueRow], zone: str, language: str) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "client": r.client,
            "priority": r.priority,
            "sla": r.sla,
            "due": format_local(r.next_due, zone, language) if r.next_due else None,
            "subject": r.subject,
        }
        for r in rows
    ]


def _recipients(settings: Settings) -> list[Staff]:
    named = settings.digest.staff
    return [s for s in settings.staff if not named or s.email in named]


def send_digests(db: Database, ctx: MailContext, now: datetime) -> int:
    """Queue today's digest for each recipient who has not had it; returns how many."""
    settings = ctx.settings
    if not settings.digest.enabled:
        return 0
    day = digest_day(settings, now)
    if day is None:
        return 0
    people = _recipients(settings)
    with db.session() as session:
        todo = [p for p in people if not claimed(session, digest_key(p.email, day))]
        rows = queue(session, settings, now, QueueFilter(statuses=ACTIVE), "due") if todo else []
    zone = settings.service.timezone
    sent = 0
    for person in todo:
        sections = Sections.of(rows, person.email)
        language = person.language or settings.service.language
        with db.transaction() as session:
            if not claim(session, digest_key(person.email, day), now) or sections.empty:
                continue
            rendered = ctx.renderer.render(
                "queue_digest",
                language,
                name=person.name,
                day=format_local(now, zone, language).rsplit(" ", 2)[0],
                mine=_lines(sections.mine, zone, language),
                unassigned=_lines(sections.unassigned, zone, language),
                waiting=_lines(sections.waiting, zone, language),
                support_name=ctx.identity.name,
            )
            enqueue(
                session,
                Draft(kind=KIND, to=(person.email,), subject=rendered.subject, body=rendered.body),
                ctx.identity,
                now,
            )
            sent += 1
    if sent:
        log.info("queue digest: %d mail(s) for %s", sent, day.isoformat())
    return sent
