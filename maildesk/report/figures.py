"""A client's service figures for one calendar month, read from the SLA events and the ledger.

The figures are recomputed from what was recorded, never kept, so a client (or a
dispute) can check each one against ``maildesk sla explain`` and the statements.

**Months** are calendar months in the service's time zone.

**Received** counts the client's tickets created in the month; **resolved** those with an
``sla_resolved`` event in the month (once per ticket); both by the ticket's priority.

**When a target is met.** The SLA clock (``sla/clock.py``) records every transition as an
``sla_*`` event whose detail holds the due times (``response_due``, ``resolution_due``)
and, while paused, the business minutes left (``response_left``, ``resolution_left``)
*after* the transition. Replaying a ticket's events in order therefore gives the due time
in force at any instant. A target is *decided* at:

- response: the first ``sla_responded`` event (the first staff reply); a ticket resolved
  without any reply has its response decided at the resolution;
- resolution: the ``sla_resolved`` event (a ticket resolved twice in one month, after a
  reopening, counts once, at its last resolution).

It is *met* when it was decided before the due time in force just before, or, the clock
being paused then, with business minutes still left (``> 0``); otherwise it is missed — the
rule ``sla/escalation.py`` sweeps by (``due <= now`` is a breach). A target whose clock
never started is not counted. A month counts the targets decided in it.

**Breaches** list every missed target decided in the month, and every target that the
sweep found breached (an ``sla_breach`` event) in the month and that was still open at its
end (``actual`` is then None). Each carries the pauses of its ticket that began before the
target was decided: the time support waited on the client, which the clock did not count.

**Satisfaction** counts the answers to the "resolved" mail's links kept for the client's
tickets whose last answer was given in the month (``report/satisfaction.py``).

**Time** worked is the sum of the work entries' worked minutes dated in the month, billed
the minutes they drew; hours left is the client's balance at the end of the month, and the
trend compares the month's billed time with the month before (at this month's pace, how
many months the hours left last).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from maildesk.billing.ledger import balances_before
from maildesk.store.models import Client, Event, LedgerEntry, Satisfaction, Ticket

__all__ = [
    "PRIORITIES",
    "Breach",
    "ClientFigures",
    "Month",
    "Pause",
    "TargetCount",
    "client_figures",
    "decisions",
]

PRIORITIES = ("high", "normal", "low")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, e.g. ``Month(2026, 11)``; its bounds are local midnights."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM`` as a month; ValueError naming the expected form otherwise."""
        found = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", text)
        if found is None or not 1 <= int(found[2]) <= 12:
            raise ValueError(f"{text!r} is not a month such as 2026-11")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, at: datetime, zone: str) -> Month:
        local = at.astimezone(ZoneInfo(zone))
        return cls(local.year, local.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def start(self, zone: str) -> datetime:
        """The month's first instant (local midnight of its first day), in UTC."""
        first = datetime(self.year, self.month, 1, tzinfo=ZoneInfo(zone))
        return first.astimezone(UTC)

    def end(self, zone: str) -> datetime:
        return self.next().start(zone)

    def last(self, count: int) -> list[Month]:
        """The ``count`` months ending with this one, oldest first."""
        months = [self]
        while len(months) < count:
            months.append(months[-1].previous())
        return months[::-1]


@dataclass(frozen=True)
class Pause:
    """Support waited on the client from ``start`` to ``end`` (None: still waiting)."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Decision:
    """A target decided: met or missed, when, against which due time (None while paused)."""

    ticket_id: int
    target: str
    at: datetime
    met: bool
    due: datetime | None


@dataclass(frozen=True)
class Breach:
    """A missed target: its ticket, the due time, when it was met (None: still open)."""

    number: str
    subject: str
    priority: str
    target: str
    due: datetime | None
    actual: datetime | None
    pauses: tuple[Pause, ...]


@dataclass(frozen=True)
class TargetCount:
    met: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        """Met as a percentage of the decided targets, one decimal; None when none."""
        return round(100 * self.met / self.total, 1) if self.total else None


@dataclass(frozen=True)
class ClientFigures:
    """Everything the monthly report says of one client and month."""

    client_key: str
    client_name: str
    month: Month
    received: dict[str, int]
    resolved: dict[str, int]
    response: TargetCount
    resolution: TargetCount
    breaches: tuple[Breach, ...]
    worked_minutes: int
    billed_minutes: int
    previous_billed_minutes: int
    left_minutes: int
    satisfaction: dict[str, int] = field(default_factory=dict)

    @property
    def targets(self) -> TargetCount:
        """Response and resolution targets together."""
        return TargetCount(
            self.response.met + self.resolution.met, self.response.missed + self.resolution.missed
        )

    @property
    def months_left(self) -> int | None:
        """Whole months the hours left last at this month's pace; None without use or hours."""
        if self.billed_minutes <= 0 or self.left_minutes <= 0:
            return None
        return self.left_minutes // self.billed_minutes


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _decide(
    ticket_id: int, target: str, at: datetime, due: datetime | None, left: object
) -> Decision | None:
    if due is not None:
        return Decision(ticket_id, target, at, at < due, due)
    if isinstance(left, int):
        return Decision(ticket_id, target, at, left > 0, None)
    return None  # the clock never started


def decisions(events: Sequence[Event]) -> list[Decision]:
    """Replay one ticket's ``sla_*`` events (in order): each target decided, met or missed."""
    due: dict[str, datetime | None] = {"response": None, "resolution": None}
    left: dict[str, object] = {"response": None, "resolution": None}
    found: list[Decision] = []
    responded = False
    for event in events:
        detail = event.detail or {}
        if event.kind == "sla_responded" and not responded:
            responded = True
            decided = _decide(
                event.ticket_id or 0, "response", event.at, due["response"], left["response"]
            )
            found += [decided] if decided else []
        elif event.kind == "sla_resolved":
            if not responded:
                responded = True
                decided = _decide(
                    event.ticket_id or 0, "response", event.at, due["response"], left["response"]
                )
                found += [decided] if decided else []
            decided = _decide(
                event.ticket_id or 0, "resolution", event.at, due["resolution"], left["resolution"]
            )
            found += [decided] if decided else []
        if "response_due" in detail:
            for target in ("response", "resolution"):
                due[target] = _instant(detail.get(f"{target}_due"))
                left[target] = detail.get(f"{target}_left")
    return found


def pauses(events: Iterable[Event]) -> tuple[Pause, ...]:
    """The ticket's waits on the client: each ``sla_paused`` to the next resume or resolution."""
    found: list[Pause] = []
    began: datetime | None = None
    for event in events:
        if event.kind == "sla_paused":
            began = event.at
        elif event.kind in ("sla_resumed", "sla_resolved") and began is not None:
            found.append(Pause(began, event.at))
            began = None
    if began is not None:
        found.append(Pause(began, None))
    return tuple(found)


def _tickets_of_month(
    session: Session, client_id: int, start: datetime, end: datetime
) -> list[Ticket]:
    touched = (
        select(Event.ticket_id)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .where(
            Ticket.client_id == client_id,
            Event.kind.like("sla\\_%", escape="\\"),
            Event.at >= start,
            Event.at < end,
        )
    )
    return list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.client_id == client_id,
                or_(
                    Ticket.id.in_(touched),
                    (Ticket.created_at >= start) & (Ticket.created_at < end),
                ),
            )
            .order_by(Ticket.id)
        )
    )


def _work(session: Session, client_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    worked, drawn = session.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.raw_minutes), 0),
            func.coalesce(func.sum(LedgerEntry.minutes), 0),
        ).where(
            LedgerEntry.client_id == client_id,
            LedgerEntry.kind == "work",
            LedgerEntry.at >= start,
            LedgerEntry.at < end,
        )
    ).one()
    return int(worked), -int(drawn)


def client_figures(session: Session, client: Client, month: Month, zone: str) -> ClientFigures:
    """The figures of ``client`` for ``month`` (see the module notes for every rule)."""
    start, end = month.start(zone), month.end(zone)
    tickets = _tickets_of_month(session, client.id, start, end)
    by_id = {t.id: t for t in tickets}
    events: dict[int, list[Event]] = {t.id: [] for t in tickets}
    if tickets:
        for event in session.scalars(
            select(Event)
            .where(
                Event.ticket_id.in_(list(by_id)),
                Event.kind.like("sla\\_%", escape="\\"),
                Event.at < end,
            )
            .order_by(Event.at, Event.id)
        ):
            events[event.ticket_id or 0].append(event)
    received = dict.fromkeys(PRIORITIES, 0)
    resolved = dict.fromkeys(PRIORITIES, 0)
    counts = {"response": [0, 0], "resolution": [0, 0]}
    breaches: list[Breach] = []
    for ticket in tickets:
        if start <= ticket.created_at < end:
            received[ticket.priority] = received.get(ticket.priority, 0) + 1
        own = events[ticket.id]
        if any(e.kind == "sla_resolved" and start <= e.at for e in own):
            resolved[ticket.priority] = resolved.get(ticket.priority, 0) + 1
        in_month: dict[str, Decision] = {}
        decided: set[str] = set()
        for d in decisions(own):
            decided.add(d.target)
            if start <= d.at < end:
                in_month[d.target] = d  # the last decision of the month wins
        for target, d in in_month.items():
            counts[target][0 if d.met else 1] += 1
            if not d.met:
                due = d.due or _breach_due(own, target)
                waits = tuple(p for p in pauses(own) if p.start < d.at)
                breaches.append(_breach(ticket, target, due, d.at, waits))
        for event in own:
            target = str((event.detail or {}).get("target", ""))
            if event.kind == "sla_breach" and event.at >= start and target not in decided:
                decided.add(target)
                due = _instant(event.detail.get("due"))
                breaches.append(_breach(ticket, target, due, None, pauses(own)))
    worked, billed = _work(session, client.id, start, end)
    answers = dict.fromkeys(("satisfied", "unsatisfied"), 0)
    for answer, count in session.execute(
        select(Satisfaction.answer, func.count())
        .where(
            Satisfaction.client_id == client.id,
            Satisfaction.answered_at >= start,
            Satisfaction.answered_at < end,
        )
        .group_by(Satisfaction.answer)
    ):
        answers[answer] = int(count)
    _, previous_billed = _work(session, client.id, month.previous().start(zone), start)
    left = balances_before(session, [client.id], end)[client.id][0]
    return ClientFigures(
        client_key=client.key,
        client_name=client.name,
        month=month,
        received=received,
        resolved=resolved,
        response=TargetCount(*counts["response"]),
        resolution=TargetCount(*counts["resolution"]),
        breaches=tuple(sorted(breaches, key=lambda b: (b.due or end, b.number, b.target))),
        worked_minutes=worked,
        billed_minutes=billed,
        previous_billed_minutes=previous_billed,
        left_minutes=left,
        satisfaction=answers,
    )


def _breach_due(events: Sequence[Event], target: str) -> datetime | None:
    """The due time the sweep recorded when it found ``target`` breached (if it did)."""
    for event in events:
        if event.kind == "sla_breach" and (event.detail or {}).get("target") == target:
            return _instant(event.detail.get("due"))
    return None


def _breach(
    ticket: Ticket,
    target: str,
    due: datetime | None,
    actual: datetime | None,
    waits: tuple[Pause, ...],
) -> Breach:
    return Breach(ticket.number, ticket.subject, ticket.priority, target, due, actual, waits)
