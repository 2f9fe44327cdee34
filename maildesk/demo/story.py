"""Replaying a scripted story of one example contract through the real pipeline.

A :class:`Story` is data: the example config it runs on and its steps, each at a
local wall-clock time — a mail arriving, a purchase booked, or just time passing.
:class:`Replay` sets a ``FakeClock`` to each step's time, hands the step's mail to
a :class:`Driver` (the built-in intake for ``maildesk demo``; Dovecot and
``run_once`` in the scenario tests) and reads back from the database what
maildesk decided and which mails it sent, as lines of a timeline.

Mails name the tickets of earlier steps by label: ``{T1}`` in a subject or body
is replaced by the tag of the ticket the step labelled ``T1`` opened
(``[#2026-000001]``), so a story reads like the thread a person would write.
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from maildesk.billing.ledger import balance, has_bundles, topup
from maildesk.configfile import load_settings
from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from maildesk.store.models import Client, Event, OutboxMail, QuarantinedMail, Ticket

__all__ = [
    "EXAMPLES",
    "BuiltinDriver",
    "Driver",
    "Mail",
    "Replay",
    "Step",
    "Story",
    "TopUp",
    "balances",
    "example_config",
    "example_settings",
    "header_lines",
    "portal_lines",
    "replay",
]


def _examples() -> Path:
    """Where the example contracts are: inside an installed package, else in the checkout.

    ``config/examples/`` is their one source; building the package (``setup.py``)
    copies them to ``maildesk/demo/examples/``, so that ``maildesk demo`` works
    from a wheel or a container as from a clone.
    """
    here = Path(__file__).resolve().parent
    installed = here / "examples"
    return installed if installed.is_dir() else here.parents[1] / "config" / "examples"


EXAMPLES = _examples()

# A small PNG-looking attachment: maildesk does not decode screenshots.
SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20

_NOT_BILLED = {
    "included": " (included)",
    "held": " (held: the quote awaits an answer)",
    "refused": " (not billed: quote refused)",
    "unquoted": " (not billed: no accepted quote)",
}

# Events worth a line of the timeline, and how to say them.
_EVENT_TEXT: dict[str, Callable[[Event], str]] = {
    "info_complete": lambda e: "report complete",
    "page_acked": lambda e: f"page acknowledged by {e.actor}",
    "time_booked": lambda e: (
        f"time booked: worked {e.detail.get('raw')} min, billed {e.detail.get('billed')} min"
        + (
            f", {e.detail.get('drawn')} min drawn from prepaid hours"
            if e.detail.get("drawn")
            else ""
        )
        + (
            f" ({e.detail.get('at_rate')} min at the hourly rate)"
            if e.detail.get("at_rate")
            else ""
        )
        + (f" ({e.detail.get('owed')} min owed)" if e.detail.get("owed") else "")
        + (_NOT_BILLED.get(str(e.detail.get("category")), "") if not e.detail.get("billed") else "")
    ),
    "time_held": lambda e: f"time held: {e.detail.get('minutes')} min wait for an approval",
    "approval_requested": lambda e: "approval requested from the authorised contacts",
    "approval_granted": lambda e: f"approved by {e.actor}: held time booked",
    "approval_answer_ignored": lambda e: f"answer from {e.actor} ignored (not authorised)",
    "quote_created": lambda e: f"quote created: {e.detail.get('minutes')} min",
    "quote_accepted": lambda e: f"quote accepted by {e.actor}",
    "quote_refused": lambda e: f"quote refused by {e.actor}",
    "command_priority": lambda e: f"priority changed to {e.detail.get('new')} by {e.actor}",
    "command_status": lambda e: f"status {e.detail.get('new')} ({e.actor})",
}


@dataclass(frozen=True)
class Mail:
    """A mail a person sends to support; ``{T1}`` names the ticket labelled T1."""

    sender: str
    subject: str
    body: str
    screenshot: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TopUp:
    """A purchase booked by the provider (a punch card, a contract)."""

    client: str
    hours: int
    reference: str


@dataclass(frozen=True)
class Step:
    """One moment of the story, at a local wall-clock time of the story's zone."""

    at: datetime
    say: str
    mail: Mail | None = None
    label: str | None = None
    topup: TopUp | None = None


@dataclass(frozen=True)
class Story:
    """A scripted stretch of one example contract."""

    policy: str
    title: str
    zone: str
    steps: tuple[Step, ...]

    def local(self, when: datetime) -> datetime:
        return when.replace(tzinfo=ZoneInfo(self.zone))


class Driver(Protocol):
    """How mail reaches maildesk and the periodic jobs run."""

    def deliver(self, raw: bytes, number: int) -> None: ...

    def jobs(self) -> None: ...


class BuiltinDriver:
    """The built-in intake path (what the LMTP listener calls), then sweep, statements, flush."""

    def __init__(self, desk: Maildesk) -> None:
        self.desk = desk

    def deliver(self, raw: bytes, number: int) -> None:
        self.desk.receiver.receive(raw, f"demo:{number}")

    def jobs(self) -> None:
        self.desk.sweep()
        self.desk.statements()
        self.desk.flush()


def example_config(policy: str) -> Path:
    """The example config of ``policy``; ``FileNotFoundError`` names what is missing."""
    if not EXAMPLES.is_dir():
        raise FileNotFoundError(
            f"the example contracts are not installed ({EXAMPLES} is missing): "
            "reinstall maildesk from its wheel or source, which ship them"
        )
    path = EXAMPLES / f"{policy}.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no example contract {path}")
    return path


def example_settings(policy: str, data_dir: Path) -> Settings:
    """The example contract with SQLite and a maildir in ``data_dir``; no listener, no IMAP.

    An example whose contract shares the client's page online has the portal on,
    its signing secret named by ``secret_env``. A replay needs no operator secret:
    when that variable is unset, a random secret for this process is set, so the
    mails carry working links that no later run accepts.
    """
    settings = load_settings(example_config(policy))
    if settings.portal.enabled:
        os.environ.setdefault(settings.portal.secret_env, secrets.token_hex(32))
    return settings.model_copy(
        update={
            "service": settings.service.model_copy(update={"data_dir": data_dir}),
            "database": settings.database.model_copy(
                update={"url": f"sqlite:///{data_dir / 'maildesk.db'}"}
            ),
            "intake": settings.intake.model_copy(
                update={
                    "imap": (),
                    "listener": settings.intake.listener.model_copy(update={"enabled": False}),
                }
            ),
            "outgoing": settings.outgoing.model_copy(update={"transport": "maildir"}),
            "ops": settings.ops.model_copy(update={"enabled": False}),
        }
    )


def _subject(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return " ".join(str(message["Subject"] or "").split())


@dataclass
class Replay:
    """One story replayed on one maildesk; ``lines`` is the timeline so far."""

    story: Story
    desk: Maildesk
    clock: FakeClock
    driver: Driver
    labels: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    _mails: int = 0
    _seen: dict[str, int] = field(default_factory=lambda: {"t": 0, "o": 0, "e": 0, "q": 0})

    def fill(self, text: str) -> str:
        for label, number in self.labels.items():
            text = text.replace("{" + label + "}", self.desk.ctx.numbers.tag(number))
        return text

    def raw(self, mail: Mail) -> bytes:
        msg = EmailMessage()
        msg["From"] = mail.sender
        msg["To"] = self.desk.settings.service.support_address
        msg["Subject"] = self.fill(mail.subject)
        msg["Date"] = format_datetime(self.clock.now())
        self._mails += 1
        # The sender's mail program names the mail; never in our own domain.
        msg["Message-ID"] = f"<story-{self.story.policy}-{self._mails}@mua.example>"
        for name, value in mail.headers:
            msg[name] = value
        msg.set_content(self.fill(mail.body))
        if mail.screenshot:
            msg.add_attachment(
                SCREENSHOT, maintype="image", subtype="png", filename="screenshot.png"
            )
        return msg.as_bytes(policy=email.policy.SMTP)

    def play(self) -> Iterator[list[str]]:
        """Replay step by step, yielding each step's lines."""
        for step in self.story.steps:
            yield self.step(step)

    def run(self) -> list[str]:
        for _ in self.play():
            pass
        return self.lines

    def step(self, step: Step) -> list[str]:
        when = self.story.local(step.at)
        self.clock.set(when)
        out = [f"{when:%a %d %b %Y %H:%M}  {step.say}"]
        if step.topup is not None:
            with self.desk.db.transaction() as session:
                topup(
                    session,
                    step.topup.client,
                    step.topup.hours * 60,
                    step.topup.reference,
                    None,
                    self.clock.now(),
                )
            out.append(
                f"    + {step.topup.client} bought {step.topup.hours} h ({step.topup.reference})"
            )
        if step.mail is not None:
            out.append(f"    <- {step.mail.sender}: {self.fill(step.mail.subject)}")
            raw = self.raw(step.mail)
            self.driver.deliver(raw, self._mails)
        self.driver.jobs()
        out.extend(self._news(step.label))
        self.lines.extend(out)
        return out

    def _news(self, label: str | None) -> list[str]:
        out: list[str] = []
        seen = self._seen
        with self.desk.db.session() as session:
            for ticket in session.scalars(
                select(Ticket).where(Ticket.id > seen["t"]).order_by(Ticket.id)
            ):
                seen["t"] = ticket.id
                if label is not None:
                    self.labels[label] = ticket.number
                missing = f", missing: {', '.join(ticket.missing)}" if ticket.missing else ""
                out.append(
                    f"    ticket {ticket.number} opened: priority {ticket.priority}"
                    f" ({ticket.priority_rule}){missing}"
                )
            for held in session.scalars(
                select(QuarantinedMail)
                .where(QuarantinedMail.id > seen["q"])
                .order_by(QuarantinedMail.id)
            ):
                seen["q"] = held.id
                out.append(f"    [QUARANTINE] {held.reason}")
            for event in session.scalars(
                select(Event).where(Event.id > seen["e"]).order_by(Event.id)
            ):
                seen["e"] = event.id
                say = _EVENT_TEXT.get(event.kind)
                if event.kind == "sla_started" and event.detail.get("response_due"):
                    due = datetime.fromisoformat(event.detail["response_due"])
                    local = due.astimezone(ZoneInfo(self.story.zone))
                    out.append(f"    SLA clock started: response due {local:%a %d %b %H:%M}")
                elif say is not None:
                    out.append(f"    {say(event)}")
            for row in session.scalars(
                select(OutboxMail).where(OutboxMail.id > seen["o"]).order_by(OutboxMail.id)
            ):
                seen["o"] = row.id
                out.append(f"    -> {', '.join(row.rcpt_to)} [{row.kind}]: {_subject(row.data)}")
        return out


def replay(
    story: Story, settings: Settings, driver: Callable[[Maildesk], Driver] = BuiltinDriver
) -> Replay:
    """A prepared maildesk on a fake clock at the story's first step, ready to play."""
    first = story.local(story.steps[0].at) - timedelta(minutes=1)
    clock = FakeClock(first.astimezone(UTC))
    desk = Maildesk(settings, clock=clock)
    desk.prepare()
    return Replay(story, desk, clock, driver(desk))


def balances(desk: Maildesk) -> list[str]:
    """Each client's prepaid balance now, for the end of the timeline."""
    out = []
    with desk.db.transaction() as session:
        for client in session.scalars(select(Client).order_by(Client.key)):
            if has_bundles(session, client.id):
                left = balance(session, client.id, desk.clock.now()).minutes
                out.append(f"    {client.name}: {left // 60} h {left % 60:02d} min left")
    return out


def portal_lines(desk: Maildesk) -> list[str]:
    """Each client's portal link as its mails carry it, when the contract has a portal."""
    links = desk.ctx.links
    if links is None:
        return []
    out = []
    with desk.db.transaction() as session:
        for client in session.scalars(select(Client).order_by(Client.key)):
            out.append(f"    {client.name}: {links.url(client.key, None, desk.clock.now())}")
    return out


def header_lines(story: Story, settings: Settings) -> Sequence[str]:
    svc = settings.service
    return (
        f"== {story.policy}: {story.title} ==",
        f"   {svc.support_name} <{svc.support_address}>, times in {story.zone}",
        "",
    )
