"""Erasing a client's personal data at the end of its contract.

What goes: its contacts; the text, subjects, addresses and attachments of
every mail of its tickets (and of any other mail to or from its people:
statements, notices, held mail); raw mails and attachment blobs no other mail
shares; its mails still in the outbox; the details of its tickets' and its
history's events; quote descriptions and who answered them; its name, domains
and settings. What stays, for the bookkeeping: the client's id, ticket numbers,
statuses, priorities and dates, events' kinds and times, and the ledger
untouched (integer minutes, kinds, dates; entries are never changed). Portal
links are revoked, and the client is removed, so nothing recognises it again.
"""

from __future__ import annotations

import logging
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.store.client_data import bump_version, record
from maildesk.store.db import Database
from maildesk.store.models import (
    Attachment,
    Blob,
    Client,
    Contact,
    Event,
    Message,
    OutboxMail,
    QuarantinedMail,
    Quote,
    Ticket,
)
from maildesk.store.once import claim

log = logging.getLogger(__name__)
ERASED = "(erased)"


@dataclass(frozen=True)
class Erased:
    """How much was erased."""

    contacts: int
    tickets: int
    messages: int
    blobs: int
    quarantined: int
    outbox: int


def _people(session: Session, client: Client) -> tuple[set[str], set[str]]:
    """The client's contact addresses (and its tickets' requesters), and its domains."""
    emails = set(session.scalars(select(Contact.email).where(Contact.client_id == client.id)))
    emails |= set(session.scalars(select(Ticket.requester).where(Ticket.client_id == client.id)))
    domains = {str(d).lower() for d in client.options.get("domains", ())}
    return {e for e in emails if e}, domains


def _theirs(address: str, emails: set[str], domains: set[str]) -> bool:
    address = address.lower()
    return address in emails or address.rpartition("@")[2] in domains


def _mentions(text: str, emails: set[str], domains: set[str]) -> bool:
    lowered = text.lower()
    return any(e in lowered for e in emails) or any(f"@{d}" in lowered for d in domains)


def erase_client(session: Session, client: Client, actor: str, now: datetime) -> Erased:
    """Erase ``client``'s personal data in the caller's transaction (see the module)."""
    emails, domains = _people(session, client)
    ticket_ids = set(session.scalars(select(Ticket.id).where(Ticket.client_id == client.id)))
    messages = [
        m
        for m in session.scalars(select(Message))
        if m.ticket_id in ticket_ids
        or _theirs(m.sender, emails, domains)
        or _mentions(m.recipients, emails, domains)
    ]
    message_ids = [m.id for m in messages]
    freed: set[str] = set()
    for attachment in session.scalars(
        select(Attachment).where(Attachment.message_row_id.in_(message_ids))
    ):
        freed.add(attachment.sha256)
        session.delete(attachment)
    for m in messages:
        if m.raw_sha256:
            freed.add(m.raw_sha256)
        m.message_id = f"erased.{m.id}@invalid"
        m.in_reply_to, m.references, m.raw_sha256 = None, "", None
        m.sender, m.recipients, m.subject, m.text = ERASED, "", ERASED, ""
    held = [
        q for q in session.scalars(select(QuarantinedMail)) if _theirs(q.sender, emails, domains)
    ]
    for q in held:
        freed.add(q.raw_sha256)
        session.delete(q)
    outbox = [
        o
        for o in session.scalars(select(OutboxMail))
        if o.ticket_id in ticket_ids or any(_theirs(r, emails, domains) for r in o.rcpt_to)
    ]
    for o in outbox:
        session.delete(o)
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))):
        ticket.subject, ticket.requester, ticket.missing = ERASED, ERASED, []
        ticket.priority_rule = ""
    session.execute(
        update(Event)
        .where(or_(Event.ticket_id.in_(ticket_ids), Event.client_id == client.id))
        .values(detail={})
    )
    for event in session.scalars(
        select(Event).where(or_(Event.ticket_id.in_(ticket_ids), Event.client_id == client.id))
    ):
        if _theirs(event.actor, emails, domains):
            event.actor = ERASED
    # Mail that was never a ticket (held strangers, say) left an event named after its sender.
    for event in session.scalars(
        select(Event).where(Event.ticket_id.is_(None), Event.client_id.is_(None))
    ):
        if _theirs(event.actor, emails, domains):
            event.actor, event.detail = ERASED, {}
    for quote in session.scalars(select(Quote).where(Quote.ticket_id.in_(ticket_ids))):
        quote.description, quote.answered_by = ERASED, None
    people = session.scalars(select(Contact).where(Contact.client_id == client.id)).all()
    for contact in people:
        session.delete(contact)
    session.flush()
    blobs = _drop_unused_blobs(session, freed)
    client.name, client.language, client.options = client.key, None, {}
    client.removed_at = client.removed_at or now
    client.erased_at = client.links_revoked_at = now
    record(session, client, "client_erased", actor, {}, now)
    bump_version(session, now)
    return Erased(
        contacts=len(people),
        tickets=len(ticket_ids),
        messages=len(messages),
        blobs=blobs,
        quarantined=len(held),
        outbox=len(outbox),
    )


def _drop_unused_blobs(session: Session, candidates: set[str]) -> int:
    """Delete the blobs no stored mail, attachment or held mail refers to any more."""
    if not candidates:
        return 0
    used = set(
        session.scalars(select(Message.raw_sha256).where(Message.raw_sha256.in_(candidates)))
    )
    used |= set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(candidates))))
    used |= set(
        session.scalars(
            select(QuarantinedMail.raw_sha256).where(QuarantinedMail.raw_sha256.in_(candidates))
        )
    )
    unused = candidates - used
    if unused:
        session.execute(delete(Blob).where(Blob.sha256.in_(unused)))
    return len(unused)


def due_for_erasure(session: Session, months: dict[str, int], now: datetime) -> list[Client]:
    """Clients whose contract ended at least their policy's ``erase_months_after_contract`` ago.

    ``months`` maps a policy name to its number of months (policies without it are left out).
    """
    found = []
    for client in session.scalars(
        select(Client).where(Client.contract_ended_at.is_not(None), Client.erased_at.is_(None))
    ):
        wait = months.get(str(client.options.get("policy", "default")))
        ended = client.contract_ended_at
        if wait is not None and ended is not None and _add_months(ended, wait) <= now:
            found.append(client)
    return found


def erase_ended_contracts(db: Database, settings: Settings, now: datetime) -> int:
    """Erase each client due by its policy, one transaction each; returns how many.

    A ``once`` key per client keeps two processes from erasing the same one twice.
    """
    months = {
        name: p.erase_months_after_contract
        for name, p in settings.policies.items()
        if p.erase_months_after_contract
    }
    if not months:
        return 0
    with db.session() as session:
        due = [c.id for c in due_for_erasure(session, months, now)]
    erased = 0
    for client_id in due:
        with db.transaction() as session:
            client = session.get(Client, client_id)
            if client is None or not claim(session, f"erase:{client.key}", now):
                continue  # another process erased it
            erase_client(session, client, "policy", now)
            log.info("erased client %s: its contract ended long enough ago", client.key)
            erased += 1
    return erased


def _add_months(at: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))
