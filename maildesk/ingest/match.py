"""Which ticket a mail belongs to.

In this order: In-Reply-To/References against every Message-ID maildesk
stored (in and out); then the ticket tag in the subject; then a plus-address
(``support+2026-000042@``). A tag or plus-address is only believed from staff,
from the ticket's requester, or from the ticket's own client: a stranger
quoting another client's ticket number must never join that ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from maildesk.core.numbers import NumberFormat
from maildesk.ingest.roles import Role, Sender
from maildesk.mail.parse import InboundMail
from maildesk.store.models import Ticket
from maildesk.store.tickets import ticket_by_message_ids, ticket_by_number


@dataclass(frozen=True)
class Match:
    ticket: Ticket
    how: str


def _may_use_number(sender: Sender, address: str, ticket: Ticket) -> bool:
    return (
        sender.role is Role.STAFF
        or address == ticket.requester
        or (sender.client_id is not None and sender.client_id == ticket.client_id)
    )


def plus_numbers(mail: InboundMail, own_addresses: frozenset[str]) -> list[str]:
    """Ticket numbers in ``support+NUMBER@`` recipients of ours."""
    found = []
    for address in (*mail.to, *mail.cc):
        local, _, domain = address.rpartition("@")
        base, plus, detail = local.partition("+")
        if plus and detail and f"{base}@{domain}" in own_addresses:
            found.append(detail)
    return found


def match_ticket(
    session: Session,
    mail: InboundMail,
    sender: Sender,
    numbers: NumberFormat,
    own_addresses: frozenset[str],
) -> Match | None:
    """The ticket ``mail`` continues, and how it was recognised; None for a new report."""
    thread = [*([mail.in_reply_to] if mail.in_reply_to else []), *mail.references]
    ticket = ticket_by_message_ids(session, thread)
    if ticket is not None:
        return Match(ticket, "thread headers")
    candidates = [(n, "subject tag") for n in numbers.find_numbers(mail.subject)]
    candidates += [(n, "plus address") for n in plus_numbers(mail, own_addresses)]
    for number, how in candidates:
        ticket = ticket_by_number(session, number)
        if ticket is not None and _may_use_number(sender, mail.sender, ticket):
            return Match(ticket, how)
    return None
