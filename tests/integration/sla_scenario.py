"""A learning-platform helpdesk for SLA and paging scenarios, on the real servers.

Office hours Mon-Fri 08:30-18:00 in Brussels, Belgian public holidays, the contract's
targets (High 1 h / 4 h, Normal 4 h / 2 business days, Low 8 h / 5 business days), Ann on
call every week, then Bob (secondary), then Cas (manager). A subject or text with
"platform down" is High. A ``Scenario`` drives a ``FakeClock`` through the real pipeline:
mail goes into Dovecot, ``Maildesk.run_once`` takes it in, sweeps and delivers to the SMTP
sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings
from maildesk.daemon import Maildesk, RunSummary
from maildesk.store.models import OutboxMail, Page, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import Received, SmtpSink

BRUSSELS = ZoneInfo("Europe/Brussels")
ANN, BOB, CAS = "ann@helpdesk.example", "bob@helpdesk.example", "cas@helpdesk.example"
CLIENT = "jane@acme.example"

POLICY = """
[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[staff]]
name = "Bob"
email = "bob@helpdesk.example"

[[staff]]
name = "Cas"
email = "cas@helpdesk.example"

[policies.default.calendar]
timezone = "Europe/Brussels"
holidays = "BE"

[policies.default.calendar.hours]
mon = "08:30-18:00"
tue = "08:30-18:00"
wed = "08:30-18:00"
thu = "08:30-18:00"
fri = "08:30-18:00"

[policies.default.priority]
keywords = { high = ["platform down"] }

[policies.default.sla]
high = { response = "1h", resolution = "4h" }
normal = { response = "4h", resolution = "2d" }
low = { response = "8h", resolution = "5d" }
business_day = "8h"
warn_at_percent = 75

[policies.default.oncall]
pages = ["high"]
ack_minutes = 15
rota = ["ann"]
rota_start = 2026-01-05
chain = ["bob", "cas"]
"""


def bxl(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Brussels wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


@dataclass
class Scenario:
    """One helpdesk on a fake clock, the real Dovecot and SMTP sink, and one database."""

    settings: Settings
    config: Path
    clock: FakeClock
    dovecot: DovecotServer
    sink: SmtpSink
    desks: list[Maildesk] = field(default_factory=list)

    def desk(self) -> Maildesk:
        """A new maildesk process on the same database (a restart, or a second daemon)."""
        desk = Maildesk(self.settings, clock=self.clock)
        desk.prepare()
        self.desks.append(desk)
        return desk

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def send(self, **kwargs: Any) -> str:
        """Put a mail in the support mailbox; returns its Message-ID."""
        raw, mid = mail(**kwargs)
        self.dovecot.append("INBOX", raw)
        return mid

    def run(self, desk: Maildesk | None = None) -> RunSummary:
        """Take in the mailbox, sweep and deliver, with the latest desk unless told."""
        summary = (desk or self.desks[-1]).run_once()
        assert summary.errors == []
        return summary

    def mails(self, subject_part: str, to: str | None = None) -> list[Received]:
        """Delivered mails whose subject contains ``subject_part`` (and sent to ``to``)."""
        return [
            m
            for m in self.sink.messages
            if subject_part in str(m.message["Subject"]) and (to is None or to in m.rcpt_tos)
        ]

    def ticket(self) -> Ticket:
        with self.desks[-1].db.session() as session:
            return session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()  # type: ignore[return-value]

    def pages(self) -> list[Page]:
        with self.desks[-1].db.session() as session:
            return list(session.scalars(select(Page).order_by(Page.ticket_id, Page.level)))

    def outbox(self, kind: str) -> int:
        with self.desks[-1].db.session() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == kind)
                )
                or 0
            )


@contextmanager
def scenario_for(
    url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    sink: SmtpSink,
    mp: pytest.MonkeyPatch,
    extra: str = "",
) -> Iterator[Scenario]:
    """The helpdesk on the database at ``url``, its clock on Monday 2 November 2026 09:00.

    Test modules wrap it in their own fixtures (one on ``db_url`` where the database
    matters, one on ``sqlite_url`` for calendar arithmetic).
    """
    mp.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, config = settings_for(url, tmp_path, dovecot, sink, extra=POLICY + extra)
    run = Scenario(settings, config, FakeClock(bxl(2026, 11, 2, 9)), dovecot, sink)
    run.desk()
    try:
        yield run
    finally:
        for desk in run.desks:
            desk.db.dispose()
