"""Booking staff time under the four contracts, with the ledger, notices and approvals.

These run on SQLite (the rules, not the database kind, are under test here);
``test_statements.py`` runs the weekly statement on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from maildesk.billing.approval import answer_approval, request_approval
from maildesk.billing.ledger import (
    AlreadyBooked,
    balance,
    grant_starter_hours,
    ticket_billed,
    topup,
)
from maildesk.billing.quotes import answer_quote, create_quote
from maildesk.billing.timesheet import send_task_timesheet
from maildesk.billing.work import WorkBooking, record_work
from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings, settings_from_toml
from maildesk.core.durations import format_minutes
from maildesk.notify.context import MailContext
from maildesk.notify.render import Renderer
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Base, Client, Event, LedgerEntry, OutboxMail, Quote, Ticket

pytestmark = pytest.mark.integration

STAFF = "ann@helpdesk.example"
START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday

CONFIG = """
[service]
support_address = "support@helpdesk.example"
support_name = "Helpdesk"
timezone = "Europe/Brussels"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[policies.default]

[policies.learning.billing]
kind = "prepaid"
unit_minutes = 15
starter_grant_hours = 3
low_balance_hours = 2
hourly_rate = 80

[policies.assistance.billing]
kind = "prepaid"
low_balance_percent = 25
timesheet_after_task = true

[policies.hosting.billing]
kind = "hourly"
unit_minutes = 30
hourly_rate = 60

[policies.maintenance.billing]
kind = "subscription"
hourly_rate = 75
cancelled_on = 2026-11-18

[[clients]]
id = "acme"
name = "Acme Learning"
policy = "learning"
account_manager = "sales@helpdesk.example"
contacts = [
    { email = "boss@acme.example", name = "Boss", authorised = true },
    { email = "tom@acme.example", name = "Tom" },
]

[[clients]]
id = "lms"
name = "LMS Users"
policy = "assistance"
contacts = [{ email = "it@lms.example", authorised = true }]

[[clients]]
id = "host"
name = "Hosted Co"
policy = "hosting"
language = "fr"
contacts = [{ email = "ops@host.example", name = "Ops", authorised = true }]

[[clients]]
id = "maint"
name = "Maintained"
policy = "maintenance"
contacts = [{ email = "it@maint.example", authorised = true }]
"""


class Desk:
    """A database with the clients above, a fake clock and a mail context."""

    def __init__(self, url: str, config: str = CONFIG) -> None:
        self.settings: Settings = settings_from_toml(config, "test")
        self.db = Database(url)
        Base.metadata.create_all(self.db.engine)
        self.clock = FakeClock(START)
        self.ctx = MailContext.create(self.settings, self.clock, Renderer())
        with self.db.transaction() as session:
            sync_clients(session, self.settings.clients)
        self._numbers = 0

    def client_id(self, key: str) -> int:
        with self.db.session() as session:
            client_id = session.scalar(select(Client.id).where(Client.key == key))
        assert client_id is not None
        return client_id

    def ticket(
        self,
        client: str,
        requester: str,
        *,
        approval: str = "none",
        billable: bool = False,
        subject: str = "Quiz grades missing",
    ) -> int:
        self._numbers += 1
        now = self.clock.now()
        with self.db.transaction() as session:
            ticket = Ticket(
                number=f"2026-{self._numbers:06d}",
                subject=subject,
                client_id=self.client_id(client),
                requester=requester,
                approval=approval,
                scope="billable" if billable else None,
                created_at=now,
                updated_at=now,
            )
            session.add(ticket)
            session.flush()
            return ticket.id

    def book(self, ticket_id: int, minutes: int, key: str, actor: str = STAFF) -> WorkBooking:
        with self.db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return record_work(session, self.ctx, ticket, minutes, actor, key)

    def send_timesheet(self, ticket_id: int) -> bool:
        with self.db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            return send_task_timesheet(session, self.ctx, ticket, self.clock.now())

    def topup(self, client: str, minutes: int, ref: str, expires: datetime | None = None) -> None:
        with self.db.transaction() as session:
            topup(session, client, minutes, ref, expires, self.clock.now())

    def balance(self, client: str) -> int:
        with self.db.transaction() as session:
            return balance(session, self.client_id(client), self.clock.now()).minutes

    def entries(self, client: str) -> list[LedgerEntry]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == self.client_id(client))
                    .order_by(LedgerEntry.id)
                )
            )

    def mails(self, kind: str) -> list[OutboxMail]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
                )
            )

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    d = Desk(sqlite_url)
    yield d
    d.db.dispose()


def _text(mail: OutboxMail) -> str:
    return mail.data.decode("utf-8", "replace").replace("=\r\n", "").replace("\r\n", "\n")


# --- rounding and quotes under the contracts ---------------------------------------


def test_half_hour_contract_bills_every_started_half_hour(desk: Desk) -> None:
    ticket = desk.ticket("host", "ops@host.example")
    booking = desk.book(ticket, 31, "k1")
    assert (booking.status, booking.raw, booking.billed, booking.at_rate) == ("booked", 31, 60, 60)
    work = [e for e in desk.entries("host") if e.kind == "work"]
    assert [(e.raw_minutes, -e.minutes, e.reference) for e in work] == [(31, 60, "hourly")]
    # billed at the rate, so the hourly client's prepaid balance stays 0
    assert desk.balance("host") == 0


def _quoted_ticket(desk: Desk, minutes: int) -> int:
    ticket_id = desk.ticket("host", "ops@host.example", subject="Upgrade")
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        create_quote(session, desk.ctx, ticket, minutes, "Upgrade to 4.5", STAFF)
        assert answer_quote(session, desk.ctx, ticket, "Accepté.", "ops@host.example") == (
            "accepted"
        )
    return ticket_id


def test_quote_of_two_hours_with_two_hours_forty_worked_bills_two_hours(desk: Desk) -> None:
    ticket = _quoted_ticket(desk, 120)
    assert desk.book(ticket, 160, "k1").billed == 120


def test_quote_of_two_hours_with_one_hour_ten_worked_bills_one_hour_thirty(desk: Desk) -> None:
    ticket = _quoted_ticket(desk, 120)
    assert desk.book(ticket, 70, "k1").billed == 90


def test_quote_cap_applies_to_the_tickets_total(desk: Desk) -> None:
    ticket = _quoted_ticket(desk, 120)
    assert [desk.book(ticket, m, f"k{m}").billed for m in (80, 60, 15)] == [90, 30, 0]
    work = [e for e in desk.entries("host") if e.kind == "work"]
    assert sum(e.raw_minutes for e in work) == 155
    assert -sum(e.minutes for e in work) == 120


def test_after_cancellation_twenty_minutes_bills_sixty(desk: Desk) -> None:
    ticket = desk.ticket("maint", "it@maint.example")
    included = desk.book(ticket, 20, "before")  # 2026-11-16: still under the subscription
    assert (included.billed, included.category) == (0, "included")
    desk.later(days=2)  # 2026-11-18: cancelled
    after = desk.book(ticket, 20, "after")
    assert (after.billed, after.at_rate, after.category) == (60, 60, "after_cancellation")
    assert desk.balance("maint") == 0


def test_subscription_billable_work_is_billed_at_the_rate(desk: Desk) -> None:
    ticket = desk.ticket("maint", "it@maint.example", billable=True)
    booking = desk.book(ticket, 10, "k1")
    assert (booking.billed, booking.at_rate, booking.category) == (10, 10, "billable")


def test_fifteen_minute_unit_rounds_the_interventions_running_total(desk: Desk) -> None:
    ticket = desk.ticket("acme", "boss@acme.example")
    unit = 15
    first = -(-20 // unit) * unit
    total = -(-(20 + 50) // unit) * unit
    assert desk.book(ticket, 20, "a").billed == first
    assert desk.book(ticket, 50, "b").billed == total - first
    assert desk.balance("acme") == 180 - total


# --- prepaid bundles ------------------------------------------------------------------


def test_older_starter_grant_is_drawn_before_the_punch_card(desk: Desk) -> None:
    with desk.db.transaction() as session:
        assert grant_starter_hours(session, desk.settings, desk.clock.now()) == 1
        assert grant_starter_hours(session, desk.settings, desk.clock.now()) == 0
    desk.later(hours=1)
    desk.topup("acme", 600, "INV-1")
    ticket = desk.ticket("acme", "boss@acme.example")
    booking = desk.book(ticket, 240, "k1")
    assert (booking.billed, booking.drawn, booking.remaining) == (240, 240, 540)
    rows = desk.entries("acme")
    grant, card = rows[0], rows[1]
    assert (grant.kind, card.kind) == ("grant", "purchase")
    work = [(e.bundle_id, -e.minutes, e.raw_minutes) for e in rows if e.kind == "work"]
    assert work == [(grant.id, 180, 240), (card.id, 60, 0)]
    assert desk.balance("acme") == 780 - 240


def test_older_punch_card_is_drawn_before_a_newer_grant(desk: Desk) -> None:
    desk.topup("acme", 600, "INV-1")  # before the client ever had its starter grant
    desk.later(hours=1)
    ticket = desk.ticket("acme", "boss@acme.example")
    desk.book(ticket, 60, "k1")  # the first booking gives the starter grant, now
    rows = desk.entries("acme")
    card = next(e for e in rows if e.kind == "purchase")
    assert [(e.bundle_id, -e.minutes) for e in rows if e.kind == "work"] == [(card.id, 60)]
    assert desk.balance("acme") == 600 + 180 - 60


def test_the_same_booking_key_books_once(desk: Desk) -> None:
    ticket = desk.ticket("acme", "boss@acme.example")
    assert desk.book(ticket, 45, "time:<m1@x>:3").status == "booked"
    again = desk.book(ticket, 45, "time:<m1@x>:3")
    assert again.status == "duplicate"
    long_key = "time:" + "x" * 900 + ":1"  # a very long Message-ID is stored as its hash
    assert desk.book(ticket, 15, long_key).status == "booked"
    assert desk.book(ticket, 15, long_key).status == "duplicate"
    assert desk.balance("acme") == 180 - 45 - 15


def test_the_same_topup_reference_books_once(desk: Desk) -> None:
    desk.topup("acme", 600, "INV-1")
    with pytest.raises(AlreadyBooked):
        desk.topup("acme", 600, "INV-1")
    assert sum(e.minutes for e in desk.entries("acme")) == 600


def test_an_expired_bundles_remainder_does_not_count(desk: Desk) -> None:
    desk.topup("lms", 300, "INV-1", expires=START + timedelta(days=1))
    desk.later(hours=1)
    desk.topup("lms", 600, "INV-2")
    ticket = desk.ticket("lms", "it@lms.example")
    assert desk.book(ticket, 60, "k1").remaining == 840
    desk.later(days=2)
    assert desk.balance("lms") == 600
    expiry = [e for e in desk.entries("lms") if e.kind == "expiry"]
    assert [(e.minutes, e.at) for e in expiry] == [(-240, START + timedelta(days=1))]
    booking = desk.book(ticket, 30, "k2")
    assert booking.remaining == 570
    assert desk.balance("lms") == 570
    assert len([e for e in desk.entries("lms") if e.kind == "expiry"]) == 1


# --- notices --------------------------------------------------------------------------


def test_low_balance_notice_once_on_crossing_and_again_after_a_topup(desk: Desk) -> None:
    ticket = desk.ticket("acme", "boss@acme.example")  # 3 h starter grant; notice under 2 h
    assert desk.book(ticket, 30, "a").notices == ()  # 2 h 30 left
    assert desk.book(ticket, 45, "b").notices == ("low_balance",)  # 1 h 45 left
    assert desk.book(ticket, 15, "c").notices == ()  # 1 h 30 left: not again
    [notice] = desk.mails("low_balance")
    assert notice.rcpt_to == ["boss@acme.example", "sales@helpdesk.example"]
    assert "1 h 45 min left" in _text(notice)
    desk.topup("acme", 300, "INV-1")  # 6 h 30 left
    assert desk.book(ticket, 270, "d").notices == ()  # exactly 2 h left: not below
    assert desk.book(ticket, 15, "e").notices == ("low_balance",)  # 1 h 45 left
    assert len(desk.mails("low_balance")) == 2


def test_low_balance_by_percent_of_the_last_bundle(desk: Desk) -> None:
    desk.topup("lms", 600, "INV-1")  # 25 %: notice under 2 h 30
    ticket = desk.ticket("lms", "it@lms.example")
    assert "low_balance" not in desk.book(ticket, 450, "a").notices  # exactly 2 h 30 left
    assert "low_balance" in desk.book(ticket, 1, "b").notices


def test_balance_zero_told_once_then_overage_at_the_rate(desk: Desk) -> None:
    ticket = desk.ticket("acme", "boss@acme.example")
    first = desk.book(ticket, 200, "a")  # 3 h 30 billed on a 3 h grant
    assert (first.drawn, first.at_rate, first.remaining) == (180, 30, 0)
    assert first.notices == ("balance_zero",)
    second = desk.book(ticket, 60, "b")
    assert (second.drawn, second.at_rate, second.category, second.notices) == (
        0,
        60,
        "overage",
        (),
    )
    assert len(desk.mails("balance_zero")) == 1
    assert desk.mails("low_balance") == []
    assert "EUR\u00a080.00/h" in _text(desk.mails("balance_zero")[0])
    assert desk.balance("acme") == 0
    rate = [e for e in desk.entries("acme") if e.kind == "adjustment"]
    assert [e.minutes for e in rate] == [30, 60]


def test_timesheet_after_each_task(desk: Desk) -> None:
    """Booking sends nothing; the resolved task gets one timesheet of its lines, once."""
    desk.topup("lms", 600, "INV-1")
    ticket = desk.ticket("lms", "it@lms.example")
    assert "timesheet" not in desk.book(ticket, 50, "a").notices
    desk.book(ticket, 20, "b")
    assert desk.mails("timesheet") == []
    assert desk.send_timesheet(ticket)
    assert not desk.send_timesheet(ticket)  # nothing new since: nothing sent
    [sheet] = desk.mails("timesheet")
    assert sheet.rcpt_to == ["it@lms.example"]
    text = _text(sheet)
    assert "worked: 50 min, billed: 50 min" in text
    assert "worked: 20 min, billed: 20 min" in text
    assert f"Hours remaining: {format_minutes(600 - 50 - 20)}" in text


# --- approval and quotes ----------------------------------------------------------------


def test_time_is_held_until_an_authorised_contact_approves(desk: Desk) -> None:
    ticket_id = desk.ticket("acme", "tom@acme.example")
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert request_approval(session, desk.ctx, ticket) == ("boss@acme.example",)
        assert request_approval(session, desk.ctx, ticket) == ()  # asked once
    [asked] = desk.mails("approval_request")
    assert "Tom <tom@acme.example> has opened ticket" in _text(asked)

    assert desk.book(ticket_id, 50, "a").status == "held"
    assert desk.book(ticket_id, 50, "a").status == "duplicate"
    assert [e for e in desk.entries("acme") if e.kind == "work"] == []

    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert not answer_approval(session, desk.ctx, ticket, "akkoord", "tom@acme.example")
        assert not answer_approval(session, desk.ctx, ticket, "Niet akkoord", "boss@acme.example")
        assert ticket.approval == "pending"
    desk.later(hours=2)
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert answer_approval(session, desk.ctx, ticket, "Akkoord!", "boss@acme.example")
        assert ticket.approval == "approved"
        assert not answer_approval(session, desk.ctx, ticket, "Akkoord!", "boss@acme.example")
    work = [e for e in desk.entries("acme") if e.kind == "work"]
    assert [(e.raw_minutes, -e.minutes, e.at) for e in work] == [(50, 60, desk.clock.now())]
    assert desk.book(ticket_id, 50, "a").status == "duplicate"
    # approved: drawn at once, rounding the intervention's total (50 + 10 is 60)
    assert desk.book(ticket_id, 10, "b").billed == 0
    assert desk.balance("acme") == 180 - 60
    with desk.db.session() as session:
        kinds = session.scalars(
            select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)
        ).all()
    assert "approval_answer_ignored" in kinds and "approval_refused" in kinds


def test_quote_is_mailed_and_answered_only_by_an_authorised_contact(desk: Desk) -> None:
    ticket_id = desk.ticket("acme", "tom@acme.example", subject="New theme")
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        create_quote(session, desk.ctx, ticket, 180, "Build the spring theme", STAFF)
        assert answer_quote(session, desk.ctx, ticket, "accept", "tom@acme.example") is None
        assert answer_quote(session, desk.ctx, ticket, "Can you call me?", "boss@acme.example") is (
            None
        )
        assert answer_quote(session, desk.ctx, ticket, "Weiger", "boss@acme.example") == "refused"
        assert answer_quote(session, desk.ctx, ticket, "accept", "boss@acme.example") is None
    [mail] = desk.mails("quote")
    assert mail.rcpt_to == ["tom@acme.example", "boss@acme.example"]
    assert not mail.auto
    text = _text(mail)
    assert "Build the spring theme" in text and "3 h" in text
    with desk.db.session() as session:
        quote = session.scalars(select(Quote)).one()
        assert (quote.status, quote.answered_by) == ("refused", "boss@acme.example")
    # work after a refused quote is recorded, not billed
    booking = desk.book(ticket_id, 240, "k")
    assert (booking.raw, booking.billed, booking.category) == (240, 0, "refused")


def test_work_on_a_ticket_without_client_is_only_recorded(desk: Desk) -> None:
    now = desk.clock.now()
    with desk.db.transaction() as session:
        ticket = Ticket(
            number="2026-999999",
            subject="s",
            requester="x@y.example",
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        booking = record_work(session, desk.ctx, ticket, 30, STAFF, "k")
        assert booking.status == "no_client"
        assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_the_ledger_is_the_only_balance(desk: Desk) -> None:
    """Whatever happened, the balance is the sum of the rows."""
    ticket = desk.ticket("acme", "boss@acme.example")
    desk.topup("acme", 300, "INV-1", expires=START + timedelta(hours=5))
    for i, minutes in enumerate((20, 95, 200, 61)):
        desk.book(ticket, minutes, f"k{i}")
        desk.later(hours=2)
    assert desk.balance("acme") == sum(e.minutes for e in desk.entries("acme"))


def test_a_new_quote_takes_over_the_work_held_under_the_one_it_superseded(desk: Desk) -> None:
    ticket_id = desk.ticket("host", "ops@host.example", subject="Migration")
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        create_quote(session, desk.ctx, ticket, 60, "Migrate", STAFF)
    assert desk.book(ticket_id, 50, "k1").category == "held"
    with desk.db.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        create_quote(session, desk.ctx, ticket, 120, "Migrate, with the mail", STAFF)
        assert answer_quote(session, desk.ctx, ticket, "accept", "ops@host.example") == "accepted"
    with desk.db.session() as session:
        assert ticket_billed(session, ticket_id) == min(-(-50 // 30) * 30, 120)
