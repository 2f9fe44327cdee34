"""Building blocks for the client portal tests: a desk with data made the way maildesk makes it.

Tickets and their mails come in through the real intake (``Receiver``), time and
quotes through the billing functions, and the portal is a real ``PortalServer``
on 127.0.0.1 with a port of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.ledger import balance, topup
from maildesk.billing.quotes import create_quote
from maildesk.billing.work import record_work
from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings, settings_from_toml
from maildesk.ingest.context import Outcome, PipelineContext
from maildesk.ingest.receive import Receiver
from maildesk.notify.links import PortalLinks
from maildesk.notify.render import Renderer
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, Event, LedgerEntry, Message, Quote, Ticket
from maildesk.web.portal.app import Portal
from maildesk.web.portal.server import PortalServer
from tests.integration.helpers import mail

ZONE = "Europe/Brussels"
START = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Brussels
STAFF = "ann@helpdesk.example"
BOSS = "boss@acme.example"  # authorised for acme
TOM = "tom@acme.example"  # acme's contact who may not answer quotes
BETA = "it@beta.example"
GAMMA = "ops@gamma.example"
SECRET_ENV = "MAILDESK_TEST_PORTAL_SECRET"
SECRET = "portal-test-secret-" + "s3cr3t" * 6
PUBLIC_URL = "https://support.example/portal"
TICKET_TIMES = ("created_at", "updated_at", "closed_at", "response_due_at", "resolution_due_at")

CONFIG = """
[service]
support_address = "support@helpdesk.example"
support_name = "Helpdesk"
timezone = "Europe/Brussels"
instance_id = "maildesk-test"
data_dir = "{data_dir}"

[database]
url = "{db_url}"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[policies.default.billing]
kind = "prepaid"
unit_minutes = 15

[portal]
enabled = {enabled}
base_url = "{base_url}"
secret_env = "{secret_env}"
link_days = 30
requests_per_minute = {rpm}

[[clients]]
id = "acme"
name = "Acme Learning"
language = "en"
contacts = [
    {{ email = "boss@acme.example", name = "Boss", authorised = true }},
    {{ email = "tom@acme.example", name = "Tom" }},
]

[[clients]]
id = "beta"
name = "Beta Scholen"
language = "nl"
contacts = [{{ email = "it@beta.example", name = "IT", authorised = true }}]

[[clients]]
id = "gamma"
name = "Gamma & Fils <SA>"
language = "fr"
contacts = [{{ email = "ops@gamma.example", name = "Ops", authorised = true }}]
"""


def config_text(
    db_url: str,
    data_dir: Path,
    *,
    base_url: str = PUBLIC_URL,
    enabled: bool = True,
    rpm: int = 1000,
) -> str:
    return CONFIG.format(
        db_url=db_url,
        data_dir=data_dir,
        base_url=base_url,
        enabled="true" if enabled else "false",
        secret_env=SECRET_ENV,
        rpm=rpm,
    )


def local(when: datetime | None) -> str:
    """A time as the page shows it: the service's zone, to the minute."""
    assert when is not None
    return f"{when.astimezone(ZoneInfo(ZONE)):%Y-%m-%d %H:%M}"


def section(html: str, name: str) -> str:
    """The page's ``<section>`` labelled ``name`` (hours, quotes, tickets, ledger, download)."""
    found = re.search(rf'<section aria-labelledby="{name}".*?</section>', html, re.S)
    assert found is not None, f"no section {name}"
    return found.group(0)


def rows(fragment: str) -> list[list[str]]:
    """The body rows of the tables in ``fragment``, as the cells' text."""
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
        if "<td>" in row
    ]


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None, "the page has no quote form"
    return found.group(1)


class PortalDesk:
    """A migrated database with three clients (en, nl, fr), a fake clock and the portal's parts."""

    def __init__(self, db_url: str, tmp_path: Path, *, rpm: int = 1000) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.config_path = self.write_config(rpm=rpm)
        text = self.config_path.read_text(encoding="utf-8")
        self.settings: Settings = settings_from_toml(text, str(self.config_path))
        self.db = Database(db_url)
        self.db.upgrade()
        self.clock = FakeClock(START)
        self.links = PortalLinks(SECRET, PUBLIC_URL, 30)
        self.ctx = PipelineContext.build(self.settings, self.clock, Renderer(), self.links)
        self.receiver = Receiver(self.db, self.ctx)
        with self.db.transaction() as session:
            sync_clients(session, self.settings.clients)
        self._mails = 0

    def write_config(self, name: str = "maildesk.toml", **changes: Any) -> Path:
        """The desk's config file (for the CLI), with ``config_text``'s ``changes``."""
        path = self.tmp_path / name
        path.write_text(config_text(self.db_url, self.tmp_path / "var", **changes), "utf-8")
        return path

    # -- data, made the way maildesk makes it ---------------------------------

    def at(self, when: datetime) -> PortalDesk:
        self.clock.set(when)
        return self

    def report(self, sender: str, subject: str, body: str = "It is broken.\n") -> str:
        """A client's mail that opens a ticket; its number."""
        raw, _ = mail(sender=sender, subject=subject, body=body)
        receipt = self.receiver.receive(raw, self._source())
        assert receipt.outcome == Outcome.CREATED, receipt
        assert receipt.ticket_number
        return receipt.ticket_number

    def staff_reply(self, number: str, body: str) -> None:
        """Ann answers the ticket by mail (commands and all)."""
        tag = self.ctx.numbers.tag(number)
        raw, _ = mail(sender=STAFF, subject=f"Re: {tag} reply", body=body)
        self.receiver.receive(raw, self._source())

    def topup(self, client: str, minutes: int, reference: str) -> None:
        with self.db.transaction() as session:
            topup(session, client, minutes, reference, None, self.clock.now())

    def work(self, number: str, minutes: int) -> None:
        self._mails += 1
        with self.db.transaction() as session:
            ticket = self._ticket(session, number)
            record_work(session, self.ctx, ticket, minutes, STAFF, f"work-{self._mails}")

    def quote(self, number: str, minutes: int, description: str) -> int:
        with self.db.transaction() as session:
            quote = create_quote(
                session, self.ctx, self._ticket(session, number), minutes, description, STAFF
            )
            return quote.id

    # -- reading back --------------------------------------------------------

    def ticket(self, number: str) -> Ticket:
        with self.db.session() as session:
            ticket = self._ticket(session, number)
            session.expunge(ticket)
            return ticket

    def quote_row(self, quote_id: int) -> Quote:
        with self.db.session() as session:
            quote = session.get(Quote, quote_id)
            assert quote is not None
            session.expunge(quote)
            return quote

    def client_id(self, key: str) -> int:
        with self.db.session() as session:
            found = session.scalar(select(Client.id).where(Client.key == key))
            assert found is not None
            return found

    def balance(self, key: str) -> int:
        with self.db.transaction() as session:
            return balance(session, self.client_id(key), self.clock.now()).minutes

    def token(self, client: str, contact: str | None = BOSS) -> str:
        return self.links.token(client, contact, self.clock.now())

    @contextmanager
    def serve(self) -> Iterator[Served]:
        """The portal on a real socket; yields its address under the base URL's path."""
        server = PortalServer("127.0.0.1", 0, Portal(self.db, self.ctx, self.links))
        server.start()
        try:
            host, port = server.address
            yield Served(f"http://{host}:{port}", f"http://{host}:{port}/portal")
        finally:
            server.stop()

    def close(self) -> None:
        self.db.dispose()

    # -- internals -----------------------------------------------------------

    def _source(self) -> str:
        self._mails += 1
        return f"test:{self._mails}"

    @staticmethod
    def _ticket(session: Session, number: str) -> Ticket:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None, number
        return ticket


@dataclass(frozen=True)
class Served:
    origin: str  # scheme://host:port, as a browser sends it in Origin
    base: str  # the portal's root: origin + the base URL's path

    def page(self, token: str) -> str:
        return f"{self.base}/c/{token}"


@dataclass(frozen=True)
class Story:
    """What ``tell_story`` made: ticket numbers and quote ids, by what they are for."""

    old: str  # acme, October, worked on over weeks, with a staff reply and an internal note
    done: str  # acme, resolved
    script: str  # acme, subject <script>…, opened at START
    formula: str  # acme, subject starting with "="
    beta: str
    gamma: str
    acme_quote: int
    beta_quote: int
    gamma_quote: int


SCRIPT_SUBJECT = "<script>alert(1)</script>"
FORMULA_SUBJECT = "=SUM(A1:A3) broken"
RELAYED = "RELAYED-TEXT-7"
INTERNAL = "INTERNAL-NOTE-42"


def tell_story(desk: PortalDesk) -> Story:
    """Three clients' tickets, time and quotes, acme's spread around week and month ends.

    acme's work, by local (Brussels) time: 30 min on 20 Oct, 60 on 28 Oct, 30 at
    00:30 on 1 Nov (still 31 Oct in UTC), 45 on 9 Nov, 15 at 00:30 on Monday 16 Nov
    (still Sunday in UTC) and 90 on Wednesday 18 Nov (START): 1 h 45 min this
    week and 3 h this month, where UTC boundaries would give 1 h 30 min and 2 h 30 min.
    """
    desk.at(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    desk.topup("acme", 1200, "INV-2026-001")
    old = desk.report(BOSS, "Quiz grades missing", "The grades of quiz 3 are gone.\n")
    desk.staff_reply(old, f"#time 30m\nWe are on it. {RELAYED}\n")
    desk.staff_reply(old, f"#internal\n{INTERNAL}\n")
    done = desk.report(BOSS, "Printer offline")
    desk.staff_reply(done, "#status resolved\nFixed.\n")
    for when, minutes in (
        (datetime(2026, 10, 28, 10, 0, tzinfo=UTC), 60),
        (datetime(2026, 10, 31, 23, 30, tzinfo=UTC), 30),
        (datetime(2026, 11, 9, 10, 0, tzinfo=UTC), 45),
        (datetime(2026, 11, 15, 23, 30, tzinfo=UTC), 15),
    ):
        desk.at(when).work(old, minutes)
    desk.at(START)
    script = desk.report(BOSS, SCRIPT_SUBJECT)
    formula = desk.report(BOSS, FORMULA_SUBJECT)
    desk.work(script, 90)
    acme_quote = desk.quote(script, 120, "Upgrade the LMS")
    desk.topup("beta", 300, "INV-B-1")
    beta = desk.report(BETA, "Beamer kapot")
    desk.work(beta, 60)
    beta_quote = desk.quote(beta, 30, "Nieuwe lamp")
    desk.topup("gamma", 600, "INV-G-1")
    gamma = desk.report(GAMMA, "Imprimante en panne")
    gamma_quote = desk.quote(gamma, 45, "Nouveau toner")
    return Story(old, done, script, formula, beta, gamma, acme_quote, beta_quote, gamma_quote)


# Staff's replies as they wrote them, and every mail maildesk sends staff about a ticket.
INTERNAL_KINDS = (
    *("staff", "staff_notice", "staff_new_ticket", "quote_answered", "command_problems"),
    *("page", "page_acked", "sla_warning", "sla_breach", "bounce_notice"),
)
_LINK = re.compile(re.escape(PUBLIC_URL) + r"/[cs]/[\w.-]+")  # page links and answer links


def _iso(when: datetime | None) -> str | None:
    assert when is None or when.utcoffset() == timedelta(0), when
    return None if when is None else when.isoformat()


def db_records(desk: PortalDesk, key: str) -> dict[str, list[dict[str, Any]]]:
    """What a client's download must hold, read straight from the database's rows.

    Mails are every mail of the client's tickets but staff's own (their
    replies as they wrote them, and maildesk's notices to them), with portal
    links blanked out.
    """
    client_id = desk.client_id(key)
    with desk.db.session() as session:
        numbers = {t.id: t.number for t in session.scalars(select(Ticket))}
        tickets = session.scalars(
            select(Ticket).where(Ticket.client_id == client_id).order_by(Ticket.id)
        )
        ledger = session.scalars(
            select(LedgerEntry).where(LedgerEntry.client_id == client_id).order_by(LedgerEntry.id)
        )
        mails = session.scalars(
            select(Message)
            .join(Ticket, Message.ticket_id == Ticket.id)
            .where(Ticket.client_id == client_id, Message.disposition.not_in(INTERNAL_KINDS))
            .order_by(Message.created_at, Message.id)
        )
        return {
            "tickets": [
                {
                    **{f: getattr(t, f) for f in ("number", "subject", "status", "priority")},
                    "requester": t.requester,
                    **{f: _iso(getattr(t, f)) for f in TICKET_TIMES},
                }
                for t in tickets
            ],
            "messages": [
                {
                    "ticket": numbers[m.ticket_id or 0],
                    "direction": m.direction,
                    "date": _iso(m.created_at),
                    "sender": m.sender,
                    "recipients": m.recipients,
                    "subject": m.subject,
                    "text": _LINK.sub("[link]", m.text),
                    "message_id": m.message_id,
                }
                for m in mails
            ],
            "ledger": [
                {
                    "id": e.id,
                    "date": _iso(e.at),
                    "kind": e.kind,
                    "minutes": e.minutes,
                    "raw_minutes": e.raw_minutes,
                    "ticket": numbers.get(e.ticket_id or 0, ""),
                    "actor": e.actor,
                    "reference": e.reference,
                    "note": e.note,
                    "expires_at": _iso(e.expires_at),
                }
                for e in ledger
            ],
        }


def internal_mails(desk: PortalDesk, key: str) -> list[Message]:
    """The client's tickets' mails that are staff's alone."""
    with desk.db.session() as session:
        found = session.scalars(
            select(Message)
            .join(Ticket, Message.ticket_id == Ticket.id)
            .where(Ticket.client_id == desk.client_id(key))
            .where(Message.disposition.in_(INTERNAL_KINDS))
        ).all()
        session.expunge_all()
        return list(found)


# -- over HTTP ------------------------------------------------------------------------


def secured(response: httpx.Response) -> httpx.Response:
    """``response``, after checking it carries the portal's security headers."""
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, response.url
    assert "form-action 'self'" in csp and "script-src" not in csp and "unsafe" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    # Either keeps the token in the address from other sites; the browser test checks
    # that forms still carry an Origin the portal accepts.
    assert headers["referrer-policy"] in ("same-origin", "no-referrer")
    assert headers["cache-control"] == "no-store"
    assert "server" not in headers
    return response


@dataclass
class Setup:
    """The story's desk behind a real portal; every response is checked by ``secured``."""

    desk: PortalDesk
    story: Story
    served: Served
    http: httpx.Client

    def get(self, token: str, path: str = "") -> httpx.Response:
        return secured(self.http.get(self.served.page(token) + path))

    def post(self, token: str, quote_id: int, **form: str) -> httpx.Response:
        headers = {"Origin": form.pop("origin")} if "origin" in form else {}
        url = f"{self.served.page(token)}/quotes/{quote_id}"
        return secured(self.http.post(url, data=form, headers=headers))

    def quote_events(self, number: str) -> list[tuple[str, str, dict[str, Any]]]:
        ticket_id = self.desk.ticket(number).id
        with self.desk.db.session() as session:
            return [
                (e.kind, e.actor, e.detail)
                for e in session.scalars(
                    select(Event).where(Event.ticket_id == ticket_id, Event.kind.like("quote%"))
                )
            ]
