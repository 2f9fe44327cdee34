"""Two processes on one database: no minute drawn twice, no statement sent twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from maildesk.billing.ledger import bundles
from maildesk.billing.weekly import send_weekly_statements
from maildesk.billing.work import WorkBooking, record_work
from maildesk.notify.context import MailContext
from maildesk.store.db import Database
from maildesk.store.models import OutboxMail, Ticket
from tests.integration.test_billing_work import Desk

pytestmark = pytest.mark.integration


def _together(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs at once in threads; re-raise the first failure."""
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(i: int, job: Callable[[], object]) -> None:
        try:
            start.wait()
            results[i] = job()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_two_bookings_at_once_never_overdraw_a_bundle(db_url: str) -> None:
    desk = Desk(db_url)
    desk.topup("lms", 60, "INV-1")
    ticket_id = desk.ticket("lms", "it@lms.example")
    other = Database(db_url)  # a second process: its own engine and connections

    def book(db: Database, key: str) -> WorkBooking:
        with db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return record_work(session, desk.ctx, ticket, 45, "ann@helpdesk.example", key)

    results = _together(lambda: book(desk.db, "a"), lambda: book(other, "b"))
    drawn = sorted(r.drawn for r in results if isinstance(r, WorkBooking))
    assert drawn == [15, 45]
    with desk.db.session() as session:
        [card] = bundles(session, desk.client_id("lms"))
    assert card.remaining == 0
    other.dispose()
    desk.db.dispose()


def test_two_daemons_send_each_statement_once(db_url: str) -> None:
    desk = Desk(db_url)
    ticket_id = desk.ticket("acme", "boss@acme.example")
    desk.book(ticket_id, 50, "k")  # Monday 16 November 2026, with the starter grant
    desk.clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    second_db = Database(db_url)
    second = MailContext.create(desk.settings, desk.clock, desk.ctx.renderer)
    now = desk.clock.now()
    results = _together(
        lambda: send_weekly_statements(desk.db, desk.ctx, now),
        lambda: send_weekly_statements(second_db, second, now),
    )
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1]
    with desk.db.session() as session:
        kinds = session.scalars(select(OutboxMail.kind)).all()
    assert kinds.count("weekly_statement") == 1
    second_db.dispose()
    desk.db.dispose()
