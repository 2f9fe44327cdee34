"""Property: whatever the exchange, mail about a ticket reaches that ticket's client's people only.

A hypothesis state machine plays an exchange among three clients, their
contacts, people at their domains, strangers and two staff members: new
reports, replies whose thread headers, subject tag or plus-address point at
any ticket (their own or another client's), staff replies with and without a
``#cc``, time passing. The mails go through the real intake (``Receiver``, the
function the LMTP listener and the IMAP watcher both call) into a real SQLite
database, and what maildesk queued to send is read from its outbox.

The test keeps its own model of who owns which ticket (the client of whoever
opened it, by the rules below) and checks, after every step:

- a mail joined an existing ticket only when its sender may join it: staff,
  a person of the ticket's client, or the stranger who opened a ticket without
  a client;
- every outgoing mail about a ticket goes only to the staff, the ticket's
  requester, the people of the ticket's client, or an address staff added to
  that ticket with ``#cc`` (an ``#assign`` naming someone outside the staff,
  who would get the staff notices, is refused).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import select

from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings, settings_from_toml
from maildesk.ingest.context import PipelineContext
from maildesk.ingest.receive import Receiver
from maildesk.notify.render import renderer_for
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, Event, Message, OutboxMail, Ticket

pytestmark = pytest.mark.integration

SUPPORT = "support@helpdesk.example"
STAFF = ("ann@helpdesk.example", "bob@helpdesk.example")

# client -> (contacts, domains with match_domain, domains without it)
CLIENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "acme": (("boss@acme.example", "it@acme.example"), ("acme.example",)),
    "globex": (("eve@globex.example", "frank@globex.example"), ()),
    "initech": (("ian@initech.example",), ("initech.example",)),
}
PEOPLE = (
    "boss@acme.example",
    "it@acme.example",
    "tom@acme.example",  # at Acme's domain, not a listed contact
    "eve@globex.example",
    "frank@globex.example",
    "gus@globex.example",  # at Globex's domain, which does not match_domain: a stranger
    "ian@initech.example",
    "mallory@evil.example",
    "trent@elsewhere.example",
)

CONFIG = f"""
[service]
support_address = "{SUPPORT}"
instance_id = "maildesk-prop"
unknown_senders = "accept"
auto_mails_per_hour = 1000

[[staff]]
name = "Ann"
email = "{STAFF[0]}"

[[staff]]
name = "Bob"
email = "{STAFF[1]}"
""" + "".join(
    f"""
[[clients]]
id = "{key}"
name = "{key.title()}"
domains = {list(domains) or [key + ".example"]}
match_domain = {"true" if domains else "false"}
contacts = [{", ".join(f'{{ email = "{c}", authorised = true }}' for c in contacts)}]
"""
    for key, (contacts, domains) in CLIENTS.items()
).replace("'", '"')


def client_of(address: str) -> str | None:
    """The client whose person ``address`` is, by the rules of the config above."""
    for key, (contacts, domains) in CLIENTS.items():
        if address in contacts or address.rpartition("@")[2] in domains:
            return key
    return None


@dataclass
class Owned:
    """The test's own record of a ticket: who opened it, its client, whom staff added."""

    number: str
    requester: str
    client: str | None
    message_ids: list[str] = field(default_factory=list)
    cc: set[str] = field(default_factory=set)

    def may_join(self, sender: str) -> bool:
        if sender in STAFF:
            return True
        if self.client is not None:
            return client_of(sender) == self.client
        return client_of(sender) is None and sender == self.requester

    def may_receive(self, address: str) -> bool:
        return (
            address in STAFF
            or address == self.requester
            or (self.client is not None and client_of(address) == self.client)
            or address in self.cc
        )


_TEMPLATE: dict[str, Path] = {}


def _settings(data_dir: Path) -> Settings:
    text = CONFIG.replace("[service]", f'[service]\ndata_dir = "{data_dir}"', 1)
    return settings_from_toml(text, "membership-property.toml")


def _template_db() -> Path:
    """A database with the schema and the clients, made once and copied for each example."""
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="maildesk-prop-"))
        path = folder / "template.db"
        db = Database(f"sqlite:///{path}")
        db.prepare()
        with db.transaction() as session:
            sync_clients(session, _settings(folder).clients)
        db.dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


_SETTINGS = _settings(Path(tempfile.gettempdir()))
_RENDERER = renderer_for(_SETTINGS.service)
START = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
# As mail programs write it: a long In-Reply-To stays whole (the email package's own
# 78-character folding would RFC 2047-encode a Message-ID, which no mail program does).
_WIRE = SMTP_POLICY.clone(max_line_length=998)


class Exchange(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="maildesk-prop-run-"))
        path = self.folder / "maildesk.db"
        shutil.copyfile(_template_db(), path)
        self.db = Database(f"sqlite:///{path}")
        self.clock = FakeClock(START)  # each example starts afresh, so that it replays alike
        self.receiver = Receiver(self.db, PipelineContext.build(_SETTINGS, self.clock, _RENDERER))
        self.seq = itertools.count(1)
        self.owned: dict[int, Owned] = {}

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- sending ------------------------------------------------------------------------

    def _send(
        self,
        sender: str,
        subject: str,
        body: str,
        *,
        to: str = SUPPORT,
        in_reply_to: str | None = None,
        references: tuple[str, ...] = (),
    ) -> int | None:
        """Deliver a mail; register the ticket it opened; return the ticket it landed on."""
        mid = f"m{next(self.seq)}@{sender.rpartition('@')[2]}"
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.clock.now())
        msg["Message-ID"] = f"<{mid}>"
        if in_reply_to:
            msg["In-Reply-To"] = f"<{in_reply_to}>"
        if references:
            msg["References"] = " ".join(f"<{r}>" for r in references)
        msg.set_content(body)
        self.receiver.receive(msg.as_bytes(policy=_WIRE), f"prop:{mid}")
        with self.db.session() as session:
            row = session.execute(
                select(Message.ticket_id, Ticket.number, Ticket.requester)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Message.message_id == mid)
            ).first()
            outgoing = session.execute(
                select(OutboxMail.ticket_id, OutboxMail.message_id).where(
                    OutboxMail.ticket_id.is_not(None)
                )
            ).all()
        if row is None:
            return None
        found_id, number, requester = row
        assert found_id is not None  # joined on the ticket
        ticket_id = found_id
        if ticket_id not in self.owned:
            assert requester == sender
            self.owned[ticket_id] = Owned(number, sender, client_of(sender))
        else:
            assert self.owned[ticket_id].may_join(sender), (sender, self.owned[ticket_id])
        self.owned[ticket_id].message_ids.append(mid)
        for tid, out_id in outgoing:  # our own mails, which replies name in their headers
            if tid is not None and tid in self.owned and out_id not in self.owned[tid].message_ids:
                self.owned[tid].message_ids.append(out_id)
        return ticket_id

    # -- the exchange ---------------------------------------------------------------------

    @initialize(target=tickets, sender=st.sampled_from(PEOPLE))
    def first_report(self, sender: str) -> int:
        landed = self._send(sender, "Gradebook export fails", "The export is empty.\n")
        assert landed is not None
        return landed

    @rule(target=tickets, sender=st.sampled_from(PEOPLE))
    def report(self, sender: str) -> int:
        landed = self._send(sender, "Quiz hangs", "The quiz hangs on question 3.\n")
        assert landed is not None
        return landed

    @rule(
        sender=st.sampled_from(PEOPLE),
        ticket=tickets,
        how=st.sampled_from(["in-reply-to", "references", "tag", "plus"]),
        pick=st.integers(min_value=0),
    )
    def reply(self, sender: str, ticket: int, how: str, pick: int) -> None:
        """A reply pointing at ``ticket`` one way: the sender's own, or a forged pointer."""
        target = self.owned[ticket]
        named = target.message_ids[pick % len(target.message_ids)]
        self._send(
            sender,
            f"Re: [#{target.number}] Gradebook" if how == "tag" else "Re: Gradebook",
            "Any news? Here is the URL: https://lms.example/grades\n",
            to=f"support+{target.number}@helpdesk.example" if how == "plus" else SUPPORT,
            in_reply_to=named if how == "in-reply-to" else None,
            references=(named,) if how == "references" else (),
        )

    @rule(
        staff=st.sampled_from(STAFF),
        ticket=tickets,
        cc=st.none() | st.sampled_from(PEOPLE),
        status=st.sampled_from([None, "waiting", "resolved"]),
        assign=st.sampled_from([None, "bob", "Ann", "mallory@evil.example", "boss@acme.example"]),
        pick=st.integers(min_value=0),
    )
    def staff_reply(
        self,
        staff: str,
        ticket: int,
        cc: str | None,
        status: str | None,
        assign: str | None,
        pick: int,
    ) -> None:
        target = self.owned[ticket]
        named = target.message_ids[pick % len(target.message_ids)]
        lines = ["We are looking into it.", ""]
        if assign:
            lines.append(f"#assign {assign}")
        if cc:
            lines.append(f"#cc {cc}")
        if status:
            lines.append(f"#status {status}")
        landed = self._send(staff, "Re: Gradebook", "\n".join(lines) + "\n", in_reply_to=named)
        assert landed == ticket, "staff may answer any ticket"
        obeyed = assign is None or assign.lower() in ("bob", "ann")  # else refused whole
        if cc and obeyed:
            target.cc.add(cc)

    @rule(days=st.sampled_from([1, 20]))
    def time_passes(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    # -- what must always hold --------------------------------------------------------------

    @invariant()
    def mail_about_a_ticket_reaches_its_clients_people_only(self) -> None:
        with self.db.session() as session:
            rows = session.execute(
                select(OutboxMail.ticket_id, OutboxMail.kind, OutboxMail.rcpt_to).where(
                    OutboxMail.ticket_id.is_not(None)
                )
            ).all()
            withheld = session.scalars(
                select(Event.detail).where(Event.kind == "recipient_withheld")
            ).all()
            clients = dict(session.execute(select(Client.id, Client.key)).all())
            owners = dict(session.execute(select(Ticket.id, Ticket.client_id)).all())
        for ticket_id, kind, rcpts in rows:
            assert ticket_id is not None
            owned = self.owned[ticket_id]
            for address in rcpts:
                assert owned.may_receive(address), (kind, address, owned)
        # the ticket's client in the database is the one the rules give
        for ticket_id, client_id in owners.items():
            owner = clients.get(client_id) if client_id is not None else None
            assert owner == self.owned[ticket_id].client
        # the relays and acks chose their recipients by the rule: the last check withheld none
        assert withheld == []


Exchange.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_mail_about_a_ticket_reaches_its_clients_people_only = Exchange.TestCase
