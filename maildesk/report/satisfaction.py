"""Satisfaction: the client's one-click answer about a resolved ticket, and who is told.

The mail that tells a client a ticket is resolved (``ticket_resolved``, queued by
:func:`ask_on_resolution`) carries two signed links, "satisfied" and "not satisfied"
(:meth:`PortalLinks.satisfaction_url`: the ticket, the client, the contact and the answer
are signed together, with the instant of issue). One answer is kept per ticket; a later
click changes it. A link is refused when

- **tampered**: its signature does not hold (the answer is inside the signature);
- **expired**: older than ``portal.link_days``, or issued before the client's links
  were revoked;
- **replayed**: the ticket was reopened after the link was issued (a ``reopened`` or
  ``sla_resumed`` event after its issue): the answer was about a resolution that no
  longer stands. A ticket is resolved again only after a reopening, so this also refuses
  every link older than the latest "resolved" mail, while both links of that mail (issued
  at the same instant) still change the answer.

Each "not satisfied" (a new answer, or a change to it) is mailed to the ticket's assignee,
or to every staff member when nobody is assigned (``satisfaction_unhappy``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.billing.mailing import queue
from maildesk.notify.context import MailContext
from maildesk.notify.links import SatisfactionLink
from maildesk.store.models import Client, Event, Satisfaction, Ticket

__all__ = ["COMMENT_LIMIT", "Recorded", "ask_on_resolution", "record_answer", "record_comment"]

log = logging.getLogger(__name__)

COMMENT_LIMIT = 2000
"""Characters of a comment kept; the rest is cut (and the page says nothing of it)."""
_REOPENINGS = ("reopened", "sla_resumed")


class Recorded(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    SAME = "same"
    REPLAYED = "replayed"


def ask_on_resolution(session: Session, ctx: MailContext, ticket: Ticket, now: datetime) -> bool:
    """Queue the "resolved" mail with its two answer links to the requester; False if none.

    Only with the portal on (the links need it) and for a ticket of a client.
    """
    if ctx.links is None or ticket.client_id is None:
        return False
    client = session.get(Client, ticket.client_id)
    if client is None:
        return False
    links = {
        answer: ctx.links.satisfaction_url(ticket.number, client.key, ticket.requester, answer, now)
        for answer in ("satisfied", "unsatisfied")
    }
    return queue(
        session,
        ctx,
        "ticket_resolved",
        ticket.language,
        (ticket.requester,),
        now,
        ticket=ticket,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        satisfied_url=links["satisfied"],
        unsatisfied_url=links["unsatisfied"],
    )


def _overtaken(session: Session, ticket: Ticket, link: SatisfactionLink) -> bool:
    reopened = session.scalar(
        select(func.max(Event.at)).where(
            Event.ticket_id == ticket.id, Event.kind.in_(_REOPENINGS), Event.at > link.issued_at
        )
    )
    return reopened is not None


def record_answer(
    session: Session, ctx: MailContext, ticket: Ticket, link: SatisfactionLink, now: datetime
) -> Recorded:
    """Keep ``link``'s answer for ``ticket`` (see the module notes for what is refused)."""
    if _overtaken(session, ticket, link):
        return Recorded.REPLAYED
    row = _locked(session, ticket)
    before = row.answer if row is not None else None
    if row is None and _first_answer(session, ticket, link, now) is None:
        row = _locked(session, ticket)  # a concurrent first click inserted it: change that
        assert row is not None
        before = row.answer
    if row is not None and before != link.answer:
        row.answer, row.answered_at, row.changes = link.answer, now, row.changes + 1
        row.link_issued_at, row.contact = link.issued_at, link.contact or ""
    if before == link.answer:
        return Recorded.SAME
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="satisfaction",
            actor=link.contact or "client",
            detail={"answer": link.answer, "before": before},
        )
    )
    if link.answer == "unsatisfied":
        _tell_staff(session, ctx, ticket, link, now)
    return Recorded.NEW if before is None else Recorded.CHANGED


def _locked(session: Session, ticket: Ticket) -> Satisfaction | None:
    return session.scalars(
        select(Satisfaction).where(Satisfaction.ticket_id == ticket.id).with_for_update()
    ).first()


def _first_answer(
    session: Session, ticket: Ticket, link: SatisfactionLink, now: datetime
) -> Satisfaction | None:
    """Insert the ticket's first answer; None when a concurrent click inserted it first."""
    row = Satisfaction(
        ticket_id=ticket.id,
        client_id=ticket.client_id,
        answer=link.answer,
        comment="",
        contact=link.contact or "",
        link_issued_at=link.issued_at,
        answered_at=now,
        changes=0,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def record_comment(
    session: Session, ticket: Ticket, link: SatisfactionLink, comment: str, now: datetime
) -> bool:
    """Keep the comment beside the answer ``link`` gave; False when that answer no longer holds."""
    row = session.scalars(select(Satisfaction).where(Satisfaction.ticket_id == ticket.id)).first()
    if row is None or _overtaken(session, ticket, link):
        return False
    row.comment = comment.strip()[:COMMENT_LIMIT]
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="satisfaction_comment",
            actor=link.contact or "client",
            detail={"answer": row.answer, "comment": row.comment},
        )
    )
    return True


def _tell_staff(
    session: Session, ctx: MailContext, ticket: Ticket, link: SatisfactionLink, now: datetime
) -> None:
    settings = ctx.settings
    to = (ticket.assignee,) if ticket.assignee else tuple(s.email for s in settings.staff)
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    queue(
        session,
        ctx,
        "satisfaction_unhappy",
        settings.service.language,
        to,
        now,
        ticket=ticket,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        client_name=client.name if client else "",
        contact=link.contact or "",
    )
    log.info("ticket %s: client not satisfied; told %s", ticket.number, ", ".join(to) or "nobody")
