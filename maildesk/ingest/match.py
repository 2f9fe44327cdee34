"""Which ticket a mail belongs to, and whether its sender may join it.

A mail points at a ticket in three ways, tried in this order: In-Reply-To and
References against every Message-ID maildesk stored (in and out); the ticket
tag in the subject; a plus-address (``support+2026-000042@``).

A ticket belongs to one client, so a pointer is believed only when the sender
may join that ticket (:func:`may_join`): staff; a person of the ticket's
client (a contact, or someone at a ``match_domain`` domain, authenticated
where the client requires it — ``ingest.roles`` then makes a failing sender a
stranger); or, on a ticket without a client (opened by a stranger under
``unknown_senders = "accept"``), the stranger who opened it. A refused pointer
is not an error: the mail is handled as if it carried none (a new ticket for
the sender's own client, a new ticket of its own for an accepted stranger, or
quarantine), and the refusal is returned so that the pipeline records it.

Machine-written mail (bounces, auto-replies) is never answered and never makes
its sender a member of the thread; it is filed on the ticket its thread
headers name whoever sent it (:attr:`Matching.filed`), so a bounce of our
reply still lands on its ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from maildesk.core.numbers import NumberFormat
from maildesk.ingest.roles import Role, Sender
from maildesk.mail.parse import InboundMail
from maildesk.store.models import Ticket
from maildesk.store.tickets import ticket_by_message_ids, ticket_by_number

THREAD = "thread headers"
TAG = "subject tag"
PLUS = "plus address"


@dataclass(frozen=True)
class Match:
    ticket: Ticket
    how: str


@dataclass(frozen=True)
class Matching:
    """The ticket the mail joins (if any) and the pointers refused on the way."""

    match: Match | None
    refused: tuple[Match, ...] = ()

    @property
    def filed(self) -> Ticket | None:
        """Where machine-written mail is kept: the joined ticket, else its thread's ticket."""
        if self.match is not None:
            return self.match.ticket
        return next((r.ticket for r in self.refused if r.how == THREAD), None)


def may_join(sender: Sender, address: str, ticket: Ticket) -> bool:
    """Whether a mail from ``address`` (whose role is ``sender``) may join ``ticket``."""
    if sender.role is Role.STAFF:
        return True
    if ticket.client_id is not None:
        return sender.client_id == ticket.client_id
    return sender.client_id is None and address == ticket.requester


def plus_numbers(mail: InboundMail, own_addresses: frozenset[str]) -> list[str]:
    """Ticket numbers in ``support+NUMBER@`` recipients of ours."""
    found = []
    for address in (*mail.to, *mail.cc):
        local, _, domain = address.rpartition("@")
        base, plus, detail = local.partition("+")
        if plus and detail and f"{base}@{domain}" in own_addresses:
            found.append(detail)
    return found


def pointers(
    session: Session, mail: InboundMail, numbers: NumberFormat, own_addresses: frozenset[str]
) -> list[Match]:
    """Every existing ticket ``mail`` points at, in the order they are tried."""
    found: list[Match] = []
    thread = [*([mail.in_reply_to] if mail.in_reply_to else []), *mail.references]
    ticket = ticket_by_message_ids(session, thread)
    if ticket is not None:
        found.append(Match(ticket, THREAD))
    candidates = [(n, TAG) for n in numbers.find_numbers(mail.subject)]
    candidates += [(n, PLUS) for n in plus_numbers(mail, own_addresses)]
    for number, how in candidates:
        ticket = ticket_by_number(session, number)
        if ticket is not None and all(f.ticket.id != ticket.id for f in found):
            found.append(Match(ticket, how))
    return found


def match_ticket(
    session: Session,
    mail: InboundMail,
    sender: Sender,
    numbers: NumberFormat,
    own_addresses: frozenset[str],
) -> Matching:
    """The first ticket ``mail`` points at that its sender may join; the others refused."""
    refused: list[Match] = []
    for found in pointers(session, mail, numbers, own_addresses):
        if may_join(sender, mail.sender, found.ticket):
            return Matching(found, tuple(refused))
        refused.append(found)
    return Matching(None, tuple(refused))


def judged_pointers(
    session: Session,
    mail: InboundMail,
    sender: Sender,
    numbers: NumberFormat,
    own_addresses: frozenset[str],
) -> list[tuple[Match, bool]]:
    """Every ticket ``mail`` points at, and whether its sender may join it (for ``inspect``)."""
    return [
        (found, may_join(sender, mail.sender, found.ticket))
        for found in pointers(session, mail, numbers, own_addresses)
    ]
