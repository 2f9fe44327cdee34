"""The issue's Saturday night, over the real daemon: LMTP in, SMTP out, the learning-helpdesk
example config as shipped (only its servers and paths replaced).

Three outages written in plain Dutch page the technician on call; the one-student report
gets Low and pages nobody; a report that may be an outage but does not say who is
affected sends the on-call person a "possible outage" notice, out of hours only.
Who is on call is computed here from the example's rota (weekly handover on Monday
08:30 from 2026-01-05, Tom then Lies), not asked of maildesk.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from maildesk.configfile import load_settings
from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.sla.unsure import NOTICE_KIND
from maildesk.store.models import Event, OutboxMail, Ticket
from tests.servers.smtp_sink import Received, SmtpSink

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "learning-helpdesk.toml"
SUPPORT = "support@learning-helpdesk.example"
ICT = "ict@hogeschool-west.example"
BXL = ZoneInfo("Europe/Brussels")
SATURDAY_NIGHT = datetime(2026, 11, 21, 23, 30, tzinfo=BXL)
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=BXL)

# The table: subject, body, the contract's priority.
OUTAGES = [
    (
        "Platform volledig onbereikbaar",
        "Sinds 23:00 kan niemand meer inloggen op het leerplatform. "
        "Alle studenten krijgen een foutmelding.",
    ),
    (
        "De website ligt eruit",
        "Het leerplatform ligt er volledig uit, alle gebruikers zijn getroffen.",
    ),
    ("Storing leerplatform", "Het platform geeft een 502 error voor iedereen."),
]
ONE_STUDENT = ("Toets werkt niet voor één student", "Eén student kan de toets niet openen.")
UNSURE = ("Leerplatform", "Het leerplatform laadt niet.")


def on_call(at: datetime) -> str:
    """The example's rota by hand: Tom from Monday 2026-01-05 08:30, then Lies, weekly."""
    local = at.astimezone(BXL)
    handover = datetime(2026, 1, 5, 8, 30, tzinfo=BXL)
    weeks = (local.replace(tzinfo=None) - handover.replace(tzinfo=None)).days // 7
    assert date(2026, 1, 5).weekday() == 0
    return ("tom@learning-helpdesk.example", "lies@learning-helpdesk.example")[weeks % 2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, db_url: str, sink: SmtpSink, port: int) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("[service]\n", f'[service]\ndata_dir = "{tmp_path / "var"}"\n', 1)
    text += f"""
[database]
url = "{db_url}"

[intake.listener]
enabled = true
host = "127.0.0.1"
port = {port}
protocol = "lmtp"

[ops]
port = 0

[outgoing]
transport = "smtp"
flush_interval = 0.3
retry_base_seconds = 1

[outgoing.smtp]
host = "{sink.host}"
port = {sink.port}
security = "plain"
timeout = 10
"""
    path = tmp_path / "learning-helpdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Daemon:
    """``maildesk run`` of the example, in a thread, on a fake clock."""

    def __init__(self, desk: Maildesk, clock: FakeClock, port: int) -> None:
        self.desk, self.clock, self.port = desk, clock, port

    def deliver(self, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = ICT, SUPPORT, subject
        msg["Message-ID"] = make_msgid(domain="hogeschool-west.example")
        msg.set_content(body)
        with smtplib.LMTP("127.0.0.1", self.port, timeout=10) as lmtp:
            lmtp.ehlo()
            lmtp.sendmail(ICT, [SUPPORT], msg.as_bytes())

    def tickets(self) -> dict[str, Ticket]:
        with self.desk.db.session() as session:
            return {t.subject: t for t in session.scalars(select(Ticket))}

    def created(self, ticket: Ticket) -> dict[str, object]:
        with self.desk.db.session() as session:
            event = session.scalars(
                select(Event).where(Event.ticket_id == ticket.id, Event.kind == "ticket_created")
            ).one()
            return dict(event.detail)

    def outbox(self, kind: str) -> int:
        with self.desk.db.session() as session:
            rows = session.scalars(select(OutboxMail).where(OutboxMail.kind == kind))
            return len(list(rows))

    def events(self, kind: str) -> list[int]:
        with self.desk.db.session() as session:
            return list(session.scalars(select(Event.ticket_id).where(Event.kind == kind)))


@pytest.fixture
def daemon(
    sqlite_url: str, tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Daemon]:
    monkeypatch.setenv("MAILDESK_PORTAL_SECRET", "p" * 40)  # the example shares a portal
    port = _free_port()
    settings = load_settings(_config(tmp_path, sqlite_url, smtp_sink, port))
    clock = FakeClock(SATURDAY_NIGHT)
    desk = Maildesk(settings, clock=clock)
    desk.prepare()
    stop = threading.Event()
    runner = threading.Thread(target=desk.run_forever, args=(stop,), daemon=True)
    runner.start()
    _wait_listening(port)
    try:
        yield Daemon(desk, clock, port)
    finally:
        stop.set()
        runner.join(timeout=30)
        desk.db.dispose()
    assert not runner.is_alive(), "the daemon did not stop"


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the daemon's LMTP listener did not open")


def _wait_to(sink: SmtpSink, rcpt: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len([m for m in sink.messages if rcpt in m.rcpt_tos]) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{count} mails to {rcpt} expected, got {sink.messages}")


def _wait(sink: SmtpSink, subject_part: str, count: int) -> list[Received]:
    """Mails whose subject holds ``subject_part``, once ``count`` of them arrived."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if subject_part in str(m.message["Subject"])]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} mails with {subject_part!r} expected, got {sink.messages}")


def test_saturday_night_outages_page_on_call_and_one_student_is_low(
    daemon: Daemon, smtp_sink: SmtpSink
) -> None:
    for subject, body in [*OUTAGES, ONE_STUDENT]:
        daemon.deliver(subject, body)
    technician = on_call(SATURDAY_NIGHT)
    pages = _wait(smtp_sink, "[PAGE]", len(OUTAGES))
    assert [m.rcpt_tos for m in pages] == [[technician]] * len(OUTAGES)
    subjects = " ".join(str(m.message["Subject"]) for m in pages)
    assert all(subject in subjects for subject, _ in OUTAGES)

    # every report is answered to the client, so the fourth has been handled too
    _wait_to(smtp_sink, ICT, len(OUTAGES) + 1)
    tickets = daemon.tickets()
    assert {tickets[s].priority for s, _ in OUTAGES} == {"high"}
    student = tickets[ONE_STUDENT[0]]
    assert student.priority == "low"
    assert not any(ONE_STUDENT[0] in str(m.message["Subject"]) for m in pages)

    # explained: the ticket and its creation event name the words and the rule
    first = tickets[OUTAGES[0][0]]
    assert "niemand" in first.priority_rule and first.priority_rule.endswith("→ High")
    assert daemon.created(first)["priority_rule"] == first.priority_rule
    assert "één student" in student.priority_rule.lower()
    assert student.priority_rule.endswith("→ Low")


def test_possible_outage_notice_out_of_hours_only(daemon: Daemon, smtp_sink: SmtpSink) -> None:
    daemon.deliver(*UNSURE)
    notices = _wait(smtp_sink, "[CHECK]", 1)
    assert [m.rcpt_tos for m in notices] == [[on_call(SATURDAY_NIGHT)]]
    body = notices[0].message.get_content()
    assert "laadt niet" in body and UNSURE[1] in body
    ticket = daemon.tickets()[UNSURE[0]]
    assert ticket.priority == "normal", "the policy default: nothing decided it"
    assert daemon.created(ticket)["priority_unsure"] is not None

    # the same report in office hours: the team queue reads it, nobody is told apart
    daemon.clock.set(MONDAY_MORNING)
    daemon.deliver("Leerplatform maandag", UNSURE[1])
    _wait_to(smtp_sink, ICT, 2)  # its answer went out: its transaction committed
    monday = daemon.tickets()["Leerplatform maandag"]
    assert daemon.created(monday)["priority_unsure"] is not None, "unsure all the same"
    assert daemon.outbox(NOTICE_KIND) == 1, "but only the night's report told anyone"
    assert daemon.events("possible_outage_notice") == [ticket.id]
