"""Who may receive mail about a ticket: its client's people, the staff, and whom staff added.

A ticket belongs to one client. Whatever maildesk sends about it goes only to

- the staff (``[[staff]]``);
- the ticket's requester;
- the people of the ticket's client: its contacts, and anyone at one of its
  domains when the client has ``match_domain = true``;
- an address a staff member added on purpose with ``#cc`` (recorded as a
  ``command_cc`` event on the ticket), which every later relay names to the client.

:func:`thread_people` is whom a staff reply is relayed to; :func:`screen` is
the last check every client-facing mail about a ticket passes (acks,
missing-information requests, relays, quotes, timesheets, approval requests):
an address outside the audience is withheld and the withholding recorded, so
a fault elsewhere can never mail one client's ticket to another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.store.directory import client_info
from maildesk.store.models import Event, Message, Ticket

__all__ = [
    "CC_ADDED",
    "cc_recipients",
    "client_person",
    "may_receive",
    "screen",
    "thread_people",
]

CC_ADDED = "command_cc"
"""The event a staff ``#cc address`` line records; ``detail["address"]`` is the address."""

CLIENT_DISPOSITIONS = ("report", "follow_up")
"""Inbound messages written by the client's side (not staff replies, not machine mail)."""


def client_person(settings: Settings, client_key: str | None, address: str) -> bool:
    """Whether ``address`` is one of client ``client_key``'s people, as the config says."""
    if client_key is None:
        return False
    address = address.strip().lower()
    found = settings.contact(address)
    if found is not None:
        return found[0].id == client_key
    by_domain = settings.client_for_domain(address.rpartition("@")[2])
    return by_domain is not None and by_domain.id == client_key


def _client_key(session: Session, ticket: Ticket) -> str | None:
    info = client_info(session, ticket.client_id) if ticket.client_id is not None else None
    return info.key if info is not None else None


_CC = (
    select(Event.detail)
    .where(Event.ticket_id == bindparam("ticket_id"), Event.kind == CC_ADDED)
    .order_by(Event.id)
)


def cc_recipients(session: Session, ticket_id: int) -> tuple[str, ...]:
    """The addresses staff added to the ticket with ``#cc``, in the order they were added."""
    details = session.scalars(_CC, {"ticket_id": ticket_id})
    found = (str(d.get("address", "")).lower() for d in details)
    return tuple(dict.fromkeys(a for a in found if a))


def _of_ticket(settings: Settings, ticket: Ticket, key: str | None, address: str) -> bool:
    """Staff, the requester or the client's people: the audience without ``#cc``."""
    return (
        address in settings.staff_addresses
        or address == ticket.requester.lower()
        or client_person(settings, key, address)
    )


def may_receive(session: Session, settings: Settings, ticket: Ticket, address: str) -> bool:
    """Whether mail about ``ticket`` may go to ``address``."""
    address = address.strip().lower()
    if _of_ticket(settings, ticket, _client_key(session, ticket), address):
        return True
    return address in cc_recipients(session, ticket.id)


_WRITERS = (
    select(Message.sender)
    .where(
        Message.ticket_id == bindparam("ticket_id"),
        Message.direction == "in",
        Message.disposition.in_(CLIENT_DISPOSITIONS),
    )
    .order_by(Message.id)
)


def thread_people(session: Session, settings: Settings, ticket: Ticket) -> tuple[str, ...]:
    """Whom a staff reply goes to: the requester, the client's people who wrote in, ``#cc``.

    Someone outside the client who once got a mail onto the ticket (before
    pointers were checked) is left out: taking part is not enough, the writer
    must be the client's.
    """
    key = _client_key(session, ticket)
    writers = session.scalars(_WRITERS, {"ticket_id": ticket.id})
    people = [w.lower() for w in writers if client_person(settings, key, w)]
    return tuple(dict.fromkeys([ticket.requester, *people, *cc_recipients(session, ticket.id)]))


def screen(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    to: tuple[str, ...],
    kind: str,
    now: datetime,
) -> tuple[str, ...]:
    """``to`` without any address that may not receive mail about ``ticket``.

    Each address withheld is recorded as a ``recipient_withheld`` event.
    """
    key = _client_key(session, ticket)
    outside = [a for a in to if not _of_ticket(settings, ticket, key, a.strip().lower())]
    if outside:  # only then is the #cc list read: most mail goes to the ticket's own people
        cc = cc_recipients(session, ticket.id)
        outside = [a for a in outside if a.strip().lower() not in cc]
    kept = tuple(a for a in to if a not in outside)
    withheld = [a for a in to if a not in kept]
    if withheld:
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="recipient_withheld",
                detail={"kind": kind, "to": withheld},
            )
        )
    return kept
