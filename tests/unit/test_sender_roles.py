"""Who wrote a mail, through the whole pipeline: the role a new ticket records.

Contacts and matched domains come from the config; the client row from the
process's copy. Each case here is a real mail taken in by ``Receiver.receive``
on SQLite, and the ticket's ``requester_role`` (or the quarantine) says what
``ingest/roles.py`` decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.clock import FakeClock
from maildesk.core.config import settings_from_toml
from maildesk.daemon import Maildesk
from maildesk.store.models import Client, QuarantinedMail, Ticket

CONFIG = """
[service]
support_address = "support@helpdesk.example"
timezone = "Europe/Brussels"
data_dir = "{data}"
authserv_id = "mx.helpdesk.example"

[database]
url = "sqlite:///{data}/maildesk.db"

[intake.listener]
enabled = false

[outgoing]
transport = "maildir"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[clients]]
id = "acme"
name = "Acme Learning"
domains = ["acme.example", "shared.example"]
match_domain = true
contacts = [
    {{ email = "Boss@Acme.example", authorised = true }},
    {{ email = "clerk@acme.example" }},
]

[[clients]]
id = "beta"
name = "Beta Hosting"
domains = ["beta.example", "shared.example"]
match_domain = true
contacts = [{{ email = "ops@elsewhere.example", authorised = true }}]

[[clients]]
id = "gamma"
name = "Gamma Soft"
domains = ["gamma.example"]
contacts = [{{ email = "cto@gamma.example", authorised = true }}]

[[clients]]
id = "strict"
name = "Strict Bank"
domains = ["strict.example"]
match_domain = true
require_authentication = true
contacts = [{{ email = "sec@strict.example", authorised = true }}]
"""


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Maildesk]:
    settings = settings_from_toml(CONFIG.format(data=tmp_path), "test")
    desk = Maildesk(settings, FakeClock(datetime(2026, 3, 3, 10, 0, tzinfo=UTC)))
    desk.prepare()
    yield desk
    desk.db.dispose()


def _take(desk: Maildesk, sender: str, *, auth: str | None = None) -> tuple[str, str | None]:
    """Receive a new report from ``sender``: (requester_role, client key), or the quarantine."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@helpdesk.example"
    msg["Subject"] = f"Help from {sender}"
    msg["Message-ID"] = f"<{sender.replace('@', '.')}@mail.example>"
    msg["Date"] = "Tue, 03 Mar 2026 11:00:00 +0100"
    if auth is not None:
        msg["Authentication-Results"] = auth
    msg.set_content("The export button does nothing.\n")
    key = f"test:{sender}"
    desk.receiver.receive(msg.as_bytes(), key)
    with desk.db.session() as session:
        held = session.scalar(select(QuarantinedMail).where(QuarantinedMail.source_key == key))
        if held is not None:
            return "quarantined", held.reason
        ticket = session.scalars(select(Ticket).where(Ticket.requester == sender.lower())).one()
        client = session.get(Client, ticket.client_id) if ticket.client_id else None
        return ticket.requester_role, client.key if client else None


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("boss@acme.example", ("authorised", "acme")),
        ("BOSS@ACME.EXAMPLE", ("authorised", "acme")),
        ("clerk@acme.example", ("contact", "acme")),
        ("someone@acme.example", ("domain", "acme")),
        # A contact belongs to its client even at another client's domain.
        ("ops@elsewhere.example", ("authorised", "beta")),
        ("new@beta.example", ("domain", "beta")),
        # Two clients list the domain: the first in the config takes the mail.
        ("who@shared.example", ("domain", "acme")),
        # Listed, but match_domain is off: only the named contact counts.
        ("cto@gamma.example", ("authorised", "gamma")),
        ("intern@gamma.example", ("quarantined", "unknown_sender")),
        ("stranger@nowhere.example", ("quarantined", "unknown_sender")),
    ],
)
def test_the_sender_decides_the_role(
    desk: Maildesk, sender: str, expected: tuple[str, str | None]
) -> None:
    assert _take(desk, sender) == expected


def test_a_client_that_requires_authentication_trusts_only_our_servers_verdict(
    desk: Maildesk,
) -> None:
    assert _take(desk, "sec@strict.example") == ("quarantined", "unauthenticated")
    forged = "mx.attacker.example; dmarc=pass header.from=strict.example"
    assert _take(desk, "teller@strict.example", auth=forged) == ("quarantined", "unauthenticated")
    ours = "mx.helpdesk.example; dkim=pass header.d=strict.example; dmarc=pass"
    assert _take(desk, "head@strict.example", auth=ours) == ("domain", "strict")


def test_a_configured_client_missing_from_the_database_is_a_stranger(desk: Maildesk) -> None:
    """A client in the config without a row in the database gets no tickets: its
    contacts are strangers until the config is mirrored (at the next start-up)."""
    from sqlalchemy import delete

    from maildesk.store.directory import forget_clients
    from maildesk.store.models import Contact, Event

    with desk.db.transaction() as session:
        gamma = session.scalars(select(Client).where(Client.key == "gamma")).one()
        session.execute(delete(Contact).where(Contact.client_id == gamma.id))
        session.execute(delete(Event).where(Event.client_id == gamma.id))
        session.delete(gamma)
        forget_clients(session)
    assert _take(desk, "cto@gamma.example") == ("quarantined", "unknown_sender")
    assert _take(desk, "boss@acme.example") == ("authorised", "acme")


@pytest.mark.parametrize(
    ("from_header", "role"),
    [
        ("Boss <boss@acme.example>", "authorised"),
        ('"ceo@acme.example" <boss@acme.example>', "contact"),
        ("boss@acme.example, other@acme.example", "contact"),
    ],
    ids=["plain", "another address in the name", "two addresses"],
)
def test_a_flagged_from_is_never_an_authorised_contact(
    desk: Maildesk, from_header: str, role: str
) -> None:
    """A flagged From may not draw on prepaid hours: its ticket waits for an approval."""
    raw = (
        f"From: {from_header}\r\nTo: support@helpdesk.example\r\nSubject: Export\r\n"
        f"Message-ID: <{role}.{len(from_header)}@acme.example>\r\n\r\nThe export fails.\r\n"
    ).encode()
    desk.receiver.receive(raw, f"test:{from_header}")
    with desk.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert (ticket.requester, ticket.requester_role) == ("boss@acme.example", role)
