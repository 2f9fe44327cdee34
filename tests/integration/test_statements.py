"""The weekly statement end to end: ledger, statement, outbox, real SMTP, the client's files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from maildesk.billing.ledger import grant_starter_hours, topup
from maildesk.billing.statements import parse_week
from maildesk.billing.weekly import send_weekly_statements
from maildesk.billing.work import record_work
from maildesk.core.clock import FakeClock
from maildesk.notify.context import MailContext
from maildesk.notify.delivery import RetryPolicy, flush_outbox
from maildesk.notify.render import Renderer
from maildesk.notify.smtp import SmtpParams, SmtpTransport
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, OutboxMail, Ticket
from tests.integration.helpers import settings_for
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

# The statement schedule is the default: Monday 08:00 in the service zone (Europe/Brussels).
EXTRA = """
[[staff]]
name = "Ann Peeters"
email = "ann@helpdesk.example"

[[staff]]
name = "Bob Claes"
email = "bob@helpdesk.example"

[policies.default]

[policies.learning.billing]
kind = "prepaid"
unit_minutes = 15
starter_grant_hours = 3

[[clients]]
id = "acme"
name = "Acme Learning"
policy = "learning"
account_manager = "sales@helpdesk.example"
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]

[[clients]]
id = "quiet"
name = "Quiet Co"
contacts = [{ email = "it@quiet.example", authorised = true }]
"""

ANN, BOB = "ann@helpdesk.example", "bob@helpdesk.example"
# (when, ticket, who, raw minutes); each ticket is one intervention, whose running
# total is rounded to the 15-minute unit
WORK = [
    (datetime(2026, 11, 15, 23, 30, tzinfo=UTC), 1, ANN, 50),  # Monday 00:30 in Brussels: 60
    (datetime(2026, 11, 17, 10, 0, tzinfo=UTC), 1, BOB, 65),  # 115 in all: 120, so 60
    (datetime(2026, 11, 18, 14, 0, tzinfo=UTC), 2, ANN, 20),  # 30
    (datetime(2026, 11, 19, 9, 0, tzinfo=UTC), 2, ANN, 130),  # 150 in all: 150, so 120
    (datetime(2026, 11, 22, 22, 30, tzinfo=UTC), 3, BOB, 7),  # Sunday 23:30 in Brussels: 15
]


def _billed_lines() -> list[int]:
    """What each line bills: its ticket's rounded running total after it, minus before."""
    worked: dict[int, int] = {}
    out = []
    for _, number, _, raw in WORK:
        before = -(-worked.get(number, 0) // 15) * 15
        worked[number] = worked.get(number, 0) + raw
        out.append(-(-worked[number] // 15) * 15 - before)
    return out


BILLED = _billed_lines()
BILLED_TOTAL = sum(BILLED)  # 4 h 45 min
SUBJECTS = {1: "Quiz grades missing", 2: "Login page shows error 500", 3: "Slow reports"}


def _build(db_url: str, tmp_path: Path, sink: SmtpSink) -> tuple[Database, MailContext, FakeClock]:
    settings, _ = settings_for(db_url, tmp_path, sink=sink, extra=EXTRA)
    assert (settings.service.statement_weekday, settings.service.statement_hour) == ("mon", 8)
    db = Database(settings.database_url)
    db.upgrade()
    clock = FakeClock(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    ctx = MailContext.create(settings, clock, Renderer())
    with db.transaction() as session:
        sync_clients(session, settings.clients)
    return db, ctx, clock


def _ledger(db: Database, ctx: MailContext, clock: FakeClock) -> None:
    with db.transaction() as session:  # the week before: opening balance 5 h
        topup(session, "acme", 300, "INV-2026-001", None, clock.now())
        acme = session.scalars(select(Client).where(Client.key == "acme")).one()
        for number, subject in SUBJECTS.items():
            session.add(
                Ticket(
                    number=f"2026-{number:06d}",
                    subject=subject,
                    client_id=acme.id,
                    requester="boss@acme.example",
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
    clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    with db.transaction() as session:  # the starter grant, inside the week
        assert grant_starter_hours(session, ctx.settings, clock.now()) == 1
    clock.set(datetime(2026, 11, 17, 8, 0, tzinfo=UTC))
    with db.transaction() as session:
        topup(session, "acme", 600, "INV-2026-014", None, clock.now())
    for i, (when, number, who, raw) in enumerate(sorted(WORK)):
        clock.set(when)
        with db.transaction() as session:
            ticket = session.scalars(
                select(Ticket).where(Ticket.number == f"2026-{number:06d}")
            ).one()
            assert record_work(session, ctx, ticket, raw, who, f"w{i}").status == "booked"
    clock.set(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # next week, before the statement
    with db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "2026-000003")).one()
        record_work(session, ctx, ticket, 30, ANN, "next-week")


def _attachment(message: EmailMessage, suffix: str) -> bytes:
    for part in message.iter_attachments():
        if (part.get_filename() or "").endswith(suffix):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"no {suffix} attachment")


def test_weekly_statement_reaches_the_client_with_its_timesheet(
    db_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    db, ctx, clock = _build(db_url, tmp_path, smtp_sink)
    _ledger(db, ctx, clock)

    clock.set(datetime(2026, 11, 23, 6, 59, tzinfo=UTC))  # 07:59 in Brussels: not yet due
    assert send_weekly_statements(db, ctx, clock.now()) == 0
    clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 08:00 in Brussels
    assert send_weekly_statements(db, ctx, clock.now()) == 1  # the quiet client gets none
    assert send_weekly_statements(db, ctx, clock.now()) == 0
    clock.advance(timedelta(hours=5))
    assert send_weekly_statements(db, ctx, clock.now()) == 0
    assert send_weekly_statements(db, ctx, clock.now(), week=parse_week("2026-W47")) == 0

    transport = SmtpTransport(SmtpParams(smtp_sink.host, smtp_sink.port, "plain", timeout=10))
    result = flush_outbox(db, transport, clock, RetryPolicy())
    assert result.sent == 1
    [received] = smtp_sink.wait_for(1)
    assert sorted(received.rcpt_tos) == ["boss@acme.example", "sales@helpdesk.example"]
    message = received.message
    assert message["Subject"] == "Weekly statement 2026-W47 (16–22 November 2026) – Acme Learning"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    flat = " ".join(text.split())
    assert "Opening balance: 5 h" in flat
    assert "2026-11-16 Free hours 3 h" in flat
    assert "2026-11-17 Purchase INV-2026-014 10 h" in flat
    assert "2026-11-16 ticket 2026-000001 Quiz grades missing" in flat
    assert BILLED[:4] == [60, 60, 30, 120]
    assert "Ann Peeters — worked: 50 min, billed: 1 h" in flat
    assert "Bob Claes — worked: 1 h 5 min, billed: 1 h" in flat
    assert "Ann Peeters — worked: 2 h 10 min, billed: 2 h" in flat
    assert "2026-11-22 ticket 2026-000003 Slow reports" in flat
    assert "Bob Claes — worked: 7 min, billed: 15 min" in flat
    assert text.count("— worked:") == 5
    closing = 300 + 180 + 600 - BILLED_TOTAL
    assert closing == 13 * 60 + 15
    assert "Balance at the end of the week (Sunday 22 November 2026): 13 h 15 min" in flat
    # the next week's 30 min on ticket 3 (a total of 37, so 45 less the 15 billed) too,
    # and the mail says the hours left now include them
    assert "Hours left now, with what was bought or worked since: 12 h 45 min" in flat

    sheet = load_workbook(io.BytesIO(_attachment(message, ".xlsx")), read_only=True).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header, *entries, total = xlsx_rows
    assert header[:6] == ["Date", "Ticket", "Subject", "Staff", "Worked", "Billed"]
    assert len(entries) == 5
    # Durations are h:mm cells (openpyxl reads them as timedeltas), dates real dates.
    billed = [row[5] for row in entries]
    assert all(isinstance(v, timedelta) for v in billed)
    assert all(isinstance(row[0], datetime) for row in entries)
    minutes = timedelta(minutes=1)
    assert sum(billed, timedelta()) / minutes == BILLED_TOTAL == total[5] / minutes
    assert sum((row[4] for row in entries), timedelta()) / minutes == sum(w[3] for w in WORK)
    assert [row[1] for row in entries] == [f"2026-{w[1]:06d}" for w in WORK]

    csv_rows = list(csv.reader(io.StringIO(_attachment(message, ".csv").decode("utf-8"))))

    def as_text(v: object) -> str:
        if isinstance(v, timedelta):
            whole = int(v / minutes)
            return f"{whole // 60}:{whole % 60:02d}"
        if isinstance(v, datetime):
            return v.date().isoformat()
        return "" if v is None else str(v)

    assert csv_rows == [[as_text(v) for v in row] for row in xlsx_rows]

    with db.session() as session:
        assert session.scalar(select(OutboxMail.status)) == "sent"
    db.dispose()
