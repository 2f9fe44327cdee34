"""The sweep reads only tickets with a warn or due time reached, on both databases.

Tickets are opened through ``sla.clock`` (as ingest does) and swept directly at chosen
instants; a listener on the ``Ticket`` mapper counts the rows the ORM loads, so "not read"
is observed from outside the sweep. Warnings still go out exactly once, at their point,
also after a pause that resumes the clock (the resume stores "look now", the next sweep the
exact point). The full pipeline case is in ``test_a_resumed_clock_warns_at_its_point``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from maildesk.core.clock import FakeClock
from maildesk.notify.context import MailContext
from maildesk.notify.render import Renderer
from maildesk.sla.clock import calendar_for, pause_clock, resume_clock, start_clock
from maildesk.sla.escalation import SweepResult, sweep
from maildesk.store.db import Database
from maildesk.store.models import OutboxMail, Ticket
from tests.integration.helpers import CLIENT_ACME, settings_for
from tests.integration.sla_scenario import POLICY, Scenario, bxl

pytestmark = pytest.mark.integration

TUESDAY_10 = bxl(2026, 11, 24, 10, 0)  # Normal: response due 14:00, warning at 13:00


@contextmanager
def loaded_tickets() -> Iterator[list[int]]:
    """The ids of the ``Ticket`` rows the ORM loads meanwhile (any session)."""
    ids: list[int] = []

    def on_load(target: Ticket, _context: Any) -> None:
        ids.append(target.id)

    event.listen(Ticket, "load", on_load)
    try:
        yield ids
    finally:
        event.remove(Ticket, "load", on_load)


class Desk:
    """A database with the scenario policy, tickets opened through the clock, and sweeps."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.settings, _ = settings_for(db_url, tmp_path, extra=POLICY + CLIENT_ACME)
        self.policy = self.settings.policies["default"]
        self.db = Database(db_url)
        self.db.upgrade()
        self.ctx = MailContext.create(
            self.settings, FakeClock(TUESDAY_10), Renderer(default_language="en")
        )

    def open(self, at: datetime, count: int = 1, priority: str = "normal") -> list[int]:
        with self.db.transaction() as session:
            first = session.scalar(select(func.count()).select_from(Ticket)) or 0
            tickets = [
                Ticket(
                    number=f"2026-{first + i + 1:06d}",
                    subject=f"Problem {i}",
                    requester="jane@acme.example",
                    status="open",
                    priority=priority,
                    created_at=at,
                    updated_at=at,
                )
                for i in range(count)
            ]
            session.add_all(tickets)
            session.flush()
            for ticket in tickets:
                start_clock(ticket, calendar_for(self.policy), self.policy, at)
            return [t.id for t in tickets]

    def sweep(self, at: datetime) -> tuple[SweepResult, list[int]]:
        with loaded_tickets() as ids:
            result = sweep(self.db, self.ctx, at)
        return result, ids

    def ticket(self, ticket_id: int) -> Ticket:
        with self.db.session() as session:
            found = session.get(Ticket, ticket_id)
            assert found is not None
            return found

    def queued(self, kind: str) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == kind)
                )
                or 0
            )


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    made = Desk(db_url, tmp_path)
    try:
        yield made
    finally:
        made.db.dispose()


def test_tickets_whose_warning_lies_ahead_are_not_read(desk: Desk) -> None:
    early = desk.open(bxl(2026, 11, 24, 9, 0))[0]  # response warning at 12:00, due 13:00
    later = desk.open(TUESDAY_10, count=30)  # warnings at 13:00

    result, read = desk.sweep(bxl(2026, 11, 24, 11, 59))
    assert read == [] and result == SweepResult()

    result, read = desk.sweep(bxl(2026, 11, 24, 12, 0))
    assert read == [early, early], "read once unlocked, once under its lock"
    assert (result.warnings, result.breaches) == (1, 0)
    assert desk.ticket(early).response_warn_at is None, "cleared once sent"
    assert desk.ticket(early).resolution_warn_at is not None

    result, read = desk.sweep(bxl(2026, 11, 24, 12, 59))
    assert read == [] and result == SweepResult(), "a sent warning is not read again"

    result, read = desk.sweep(bxl(2026, 11, 24, 13, 0))
    assert (result.warnings, result.breaches) == (30, 1)
    assert set(read) == {early, *later}
    result, read = desk.sweep(bxl(2026, 11, 24, 13, 1))
    assert read == [early], "only the breached ticket: its due time stays reached"
    assert result.warnings == result.breaches == 0
    assert (desk.queued("sla_warning"), desk.queued("sla_breach")) == (31, 1)


def test_a_warning_after_a_pause_goes_out_once_at_its_point(desk: Desk) -> None:
    [ticket_id] = desk.open(TUESDAY_10)
    cal = calendar_for(desk.policy)
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        pause_clock(ticket, cal, bxl(2026, 11, 24, 11, 0))  # 3 h of response left
        resume_clock(ticket, cal, bxl(2026, 11, 24, 15, 0))  # due 18:00
    assert desk.ticket(ticket_id).response_warn_at == bxl(2026, 11, 24, 15, 0), "look now"

    result, read = desk.sweep(bxl(2026, 11, 24, 15, 1))
    assert read == [ticket_id] and result.warnings == 0
    assert result.warn_times_stored == 2, "the exact points, computed once"
    # 75 % of 4 h used, 1 h left: 17:00
    assert desk.ticket(ticket_id).response_warn_at == bxl(2026, 11, 24, 17, 0)

    result, read = desk.sweep(bxl(2026, 11, 24, 16, 59))
    assert read == [] and result == SweepResult()
    result, _ = desk.sweep(bxl(2026, 11, 24, 17, 0))
    assert result.warnings == 1
    for minute in (1, 2):
        result, read = desk.sweep(bxl(2026, 11, 24, 17, minute))
        assert read == [] and result == SweepResult()
    assert desk.queued("sla_warning") == 1


def test_a_warning_sent_before_a_pause_is_not_sent_again(desk: Desk) -> None:
    [ticket_id] = desk.open(TUESDAY_10)
    assert desk.sweep(bxl(2026, 11, 24, 13, 0))[0].warnings == 1
    cal = calendar_for(desk.policy)
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        pause_clock(ticket, cal, bxl(2026, 11, 24, 13, 30))
        resume_clock(ticket, cal, bxl(2026, 11, 24, 14, 0))
    result, read = desk.sweep(bxl(2026, 11, 24, 14, 1))
    assert read == [ticket_id] and result.warnings == 0, "re-armed, looked at, already sent"
    assert desk.ticket(ticket_id).response_warn_at is None
    result, read = desk.sweep(bxl(2026, 11, 24, 14, 2))
    assert read == [] and result == SweepResult()
    assert desk.queued("sla_warning") == 1


def test_held_warnings_stay_selected_until_the_office_opens(desk: Desk) -> None:
    # Friday 15:00, Normal: warning at 18:00 Friday, closing time; held until Monday.
    [ticket_id] = desk.open(bxl(2026, 11, 20, 15, 0))
    for when in (bxl(2026, 11, 20, 18, 0), bxl(2026, 11, 21, 3, 0)):
        result, read = desk.sweep(when)
        assert result.held == 1 and result.warnings == 0 and read == [ticket_id]
    assert desk.ticket(ticket_id).response_warn_at == bxl(2026, 11, 20, 18, 0)
    result, _ = desk.sweep(bxl(2026, 11, 23, 8, 30))
    assert result.warnings == 1
    assert desk.ticket(ticket_id).response_warn_at is None


def test_a_resumed_clock_warns_at_its_point(sqlite_run: Scenario) -> None:
    """Through the real pipeline: pause by staff, resume by the client, warning on time."""
    run = sqlite_run
    run.at(bxl(2026, 11, 24, 10, 0))  # Tuesday
    run.send(sender="jane@acme.example", subject="Quiz grades missing", body="Gone.\n")
    run.run()
    number = run.ticket().number
    run.at(bxl(2026, 11, 24, 11, 0))
    run.send(
        sender="ann@helpdesk.example",
        subject=f"Re: [#{number}] Quiz grades missing",
        body="#status waiting\nWhich course is it?\n",
    )
    run.run()
    assert run.ticket().resolution_warn_at is None, "paused"
    run.at(bxl(2026, 11, 24, 15, 0))
    run.send(sender="jane@acme.example", subject=f"Re: [#{number}] Quiz", body="Maths 101.\n")
    run.run()
    # 15 h of resolution left from Tuesday 15:00: due Thursday 11:00; 4 h left (75 % of
    # 16 h used) on Wednesday 16:30. The run's own sweep stored the exact point.
    ticket = run.ticket()
    assert ticket.resolution_due_at == bxl(2026, 11, 26, 11, 0)
    assert ticket.resolution_warn_at == bxl(2026, 11, 25, 16, 30)
    run.at(bxl(2026, 11, 25, 16, 29))
    assert run.run().sla.warnings == 0
    run.at(bxl(2026, 11, 25, 16, 30))
    assert run.run().sla.warnings == 1
    run.advance(10)
    assert run.run().sla == SweepResult()
    assert run.outbox("sla_warning") == 1


def test_a_clock_change_between_the_read_and_the_write_wins(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's warn-time corrections are guarded by what it read, without row locks."""
    from maildesk.sla import escalation

    [ticket_id] = desk.open(TUESDAY_10)
    cal = calendar_for(desk.policy)

    def change(what: Any, at: datetime) -> None:
        with desk.db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            what(ticket, cal, at)

    change(pause_clock, bxl(2026, 11, 24, 11, 0))
    change(resume_clock, bxl(2026, 11, 24, 15, 0))  # "look now"
    store = escalation._store_warn_times

    def paused_meanwhile(db: Database, fixes: list[Any]) -> int:
        assert fixes, "the sweep has exact points to store"
        change(pause_clock, bxl(2026, 11, 24, 15, 1))
        return store(db, fixes)

    monkeypatch.setattr(escalation, "_store_warn_times", paused_meanwhile)
    result, _ = desk.sweep(bxl(2026, 11, 24, 15, 1))
    assert result.warn_times_stored == 0
    ticket = desk.ticket(ticket_id)
    assert ticket.paused_at is not None
    assert (ticket.response_warn_at, ticket.resolution_warn_at) == (None, None)
