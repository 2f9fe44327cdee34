"""On-call paging by mail: page out of hours, repeat up the chain, stop at the first ack.

Some contracts promise an emergency service out of office hours for the most urgent
priority only. This module turns the pure rules of :mod:`maildesk.sla.oncall` into pages:
``pages`` rows, ``[PAGE]`` mails in the outbox and events, all inside the caller's
transaction so a page is recorded exactly when its mail is queued.

Rules (each one a decision the code makes, documented here once):

- **Who can be paged.** Rota, override and chain entries name staff members (``[[staff]]``)
  by name, e-mail address or the part of the address before ``@``, case-insensitively. Only
  staff can be paged, because only a staff member's reply in the thread is read as an ack;
  an entry that names nobody is left out of the chain and recorded (``page_unroutable``).
- **When a ticket is paged (level 0).** :func:`page_if_due` pages when the ticket is
  open, or still awaiting required information (an outage at night is an emergency even
  without its screenshot; only the SLA clock waits), neither waiting on the client nor
  resolved, its priority is in ``oncall.pages``, the policy's calendar is closed at that
  instant and the ticket was never paged. Called when a ticket opens or becomes complete,
  when the client writes again (only while no staff member has answered: a follow-up at
  night on a High ticket nobody took up pages; one on a ticket staff already answered
  does not) and by the sweep when such a ticket breaches out of hours (an *escalated*
  ticket). In business hours nothing is paged: the team queue handles it. Lower
  priorities wait for business hours; the client's ack says when.
- **The chain is fixed at the first page**: level ``n`` is person ``n`` of
  :func:`~maildesk.sla.oncall.chain` at the instant of the level-0 page, so a rota handover
  during the night does not reshuffle who comes next.
- **Escalation.** :func:`escalate_pages` (run by the sweep) pages the next level when the
  last page got no ack within ``oncall.ack_minutes`` of real time. It stops at an ack, when
  the ticket is no longer open or a staff member answered the client, when the office has
  opened since the last page (business hours: the team queue takes over) and when the chain
  is used up (recorded once as ``page_chain_exhausted``).
- **Ack.** Any mail from a paged person in the ticket's thread, or a ``#ack`` line from any
  staff member, acknowledges every open page of the ticket: ``acked_at``/``acked_by`` are
  set, the chain stops, the acker gets ``page_acked`` and an event is recorded. A reply to
  the ``[PAGE]`` mail itself is an internal ack, never relayed to the client
  (:func:`is_page_reply`).

Pages are unique per ticket and level (a database constraint); the insert runs in a
savepoint, so two processes racing to page the same level end with one page and no error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.core.policy import Policy
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla import oncall
from maildesk.sla.clock import calendar_for
from maildesk.store.db import Database
from maildesk.store.models import Client, Event, Message, Page, Ticket
from maildesk.store.once import claim

__all__ = [
    "PAGE_KIND",
    "Person",
    "acknowledge",
    "escalate_pages",
    "is_page_reply",
    "lock_ticket",
    "page_chain",
    "page_if_due",
    "resolve_people",
    "resolve_person",
    "ticket_policy",
]

log = logging.getLogger(__name__)

PAGE_KIND = "page"
"""The outbox kind (and message disposition) of a page mail."""

_TEXT_LIMIT = 4000


@dataclass(frozen=True)
class Person:
    """A staff member who can be paged."""

    name: str
    email: str


def resolve_person(settings: Settings, person: str) -> Person | None:
    """The staff member a rota or chain entry names (name, address or its local part)."""
    wanted = person.strip().lower()
    for member in settings.staff:
        if wanted in (member.name.lower(), member.email, member.email.split("@")[0]):
            return Person(member.name, member.email)
    return None


def ticket_policy(settings: Settings, ticket: Ticket) -> Policy:
    """The policy a ticket was opened under (``default`` if it was removed from the config)."""
    return _policy_named(settings, ticket.policy)


def _policy_named(settings: Settings, name: str) -> Policy:
    return settings.policies.get(name) or settings.policies["default"]


def resolve_people(settings: Settings, entries: Iterable[str]) -> tuple[list[Person], list[str]]:
    """The staff members ``entries`` name, in order without repeats, and the names of nobody."""
    people: list[Person] = []
    unknown: list[str] = []
    for entry in entries:
        person = resolve_person(settings, entry)
        if person is None:
            unknown.append(entry)
        elif person not in people:
            people.append(person)
    return people, unknown


def page_chain(settings: Settings, policy: Policy, at: datetime) -> tuple[list[Person], list[str]]:
    """Who is paged at each level for a first page at ``at``, and entries naming nobody."""
    return resolve_people(settings, oncall.chain(policy.oncall, at, policy.calendar.timezone))


def page_if_due(
    session: Session, ctx: MailContext, ticket: Ticket, now: datetime, *, reason: str
) -> Page | None:
    """Page the on-call person (level 0) if ``ticket`` must be paged now and never was.

    ``reason`` is recorded: ``new`` (opened or completed), ``follow_up`` or ``breach``.
    Returns the page, or None when nothing was paged.
    """
    policy = ticket_policy(ctx.settings, ticket)
    # An outage at night pages even while its report still lacks a screenshot or the
    # steps: the SLA clock waits for the information, the technician does not.
    if ticket.status not in ("open", "awaiting_info") or ticket.resolved_at is not None:
        return None
    if not oncall.should_page(policy.oncall, ticket.priority, calendar_for(policy), now):
        return None
    if reason != "breach" and ticket.responded_at is not None:
        return None
    if session.scalar(select(Page.id).where(Page.ticket_id == ticket.id).limit(1)) is not None:
        return None
    people, unknown = page_chain(ctx.settings, policy, now)
    if not people:
        if claim(session, f"page:{ticket.id}:nobody", now):
            if unknown:
                record_event(session, ticket, now, "page_unroutable", names=unknown)
            record_event(session, ticket, now, "page_nobody", reason=reason)
            log.error(
                "ticket %s should page the on-call person, but policy %r names nobody on call",
                ticket.number,
                ticket.policy,
            )
        return None
    page = _page(session, ctx, ticket, policy, 0, people[0], now, reason)
    if page is not None and unknown:
        record_event(session, ticket, now, "page_unroutable", names=unknown)
    return page


def escalate_pages(db: Database, ctx: MailContext, now: datetime) -> int:
    """Page the next level for every ticket whose last page went unacknowledged too long.

    Each ticket is handled in its own transaction, its row locked with ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL, so two daemons split the work. Only tickets whose last page is
    older than ``ack_minutes`` are locked: the others have nothing due yet, and a write
    transaction per paged ticket and sweep would be wasted. Returns the pages sent.
    """
    with db.session() as session:
        rows = session.execute(
            select(Page.ticket_id, Ticket.policy, func.max(Page.sent_at))
            .join(Ticket, Ticket.id == Page.ticket_id)
            .where(Ticket.status == "open", Ticket.responded_at.is_(None))
            .group_by(Page.ticket_id, Ticket.policy)
            .having(func.count(Page.acked_at) == 0)
            .order_by(Page.ticket_id)
        ).all()
    ids = [
        ticket_id
        for ticket_id, policy_name, last_sent in rows
        if now >= oncall.next_level_due(last_sent, _policy_named(ctx.settings, policy_name).oncall)
    ]
    sent = 0
    for ticket_id in ids:
        try:
            with db.transaction() as session:
                ticket = lock_ticket(session, ticket_id)
                if ticket is not None and _escalate(session, ctx, ticket, now):
                    sent += 1
        except OperationalError:
            raise  # the database is away: the next sweep tries again
        except Exception:
            # Rolled back and retried at the next sweep; the other tickets' pages go on.
            log.exception("paging: escalating ticket id %d failed", ticket_id)
    return sent


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket, row-locked; None if another process holds it (PostgreSQL) or it is gone."""
    return session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update(skip_locked=True)
    ).first()


def acknowledge(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    actor: str,
    now: datetime,
    *,
    explicit: bool,
    message_id: str | None = None,
) -> bool:
    """Record an ack of ``ticket``'s open pages by ``actor``; True if there was one to ack.

    ``explicit`` is a ``#ack`` line (any staff member may send one); otherwise only a person
    who was paged for the ticket acknowledges by writing in its thread.
    """
    pages = session.scalars(
        select(Page).where(Page.ticket_id == ticket.id).order_by(Page.level)
    ).all()
    open_pages = [p for p in pages if p.acked_at is None]
    if not open_pages or any(p.acked_at is not None for p in pages):
        return False
    address = actor.strip().lower()
    if not explicit and address not in {p.person for p in pages}:
        return False
    for page in open_pages:
        page.acked_at = now
        page.acked_by = address
    name = next((s.name for s in ctx.settings.staff if s.email == address), address)
    record_event(
        session,
        ticket,
        now,
        "page_acked",
        actor=address,
        levels=[p.level for p in open_pages],
        how="#ack" if explicit else "reply",
        message_id=message_id,
    )
    rendered = ctx.renderer.render(
        "page_acked",
        ctx.settings.service.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        acked_by=name,
        support_name=ctx.identity.name,
    )
    enqueue(
        session,
        Draft(
            kind="page_acked",
            to=(address,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=message_id,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )
    log.info("ticket %s: page acknowledged by %s", ticket.number, address)
    return True


def is_page_reply(session: Session, in_reply_to: str | None) -> bool:
    """Whether a mail answers a ``[PAGE]`` mail (an internal ack, not a reply to the client)."""
    if not in_reply_to:
        return False
    found = session.scalar(
        select(Message.id).where(
            Message.message_id == in_reply_to,
            Message.direction == "out",
            Message.disposition == PAGE_KIND,
        )
    )
    return found is not None


# -- internals ----------------------------------------------------------------------------------


def _escalate(session: Session, ctx: MailContext, ticket: Ticket, now: datetime) -> bool:
    pages = session.scalars(
        select(Page).where(Page.ticket_id == ticket.id).order_by(Page.level)
    ).all()
    if not pages or any(p.acked_at is not None for p in pages):
        return False
    if ticket.status != "open" or ticket.responded_at is not None:
        return False
    policy = ticket_policy(ctx.settings, ticket)
    cal = calendar_for(policy)
    last = pages[-1]
    if now < oncall.next_level_due(last.sent_at, policy.oncall):
        return False
    if cal.is_open(now) or cal.business_between(last.sent_at, now) > 0:
        return False  # the office is (or was) open since: the team queue has it
    people, _ = page_chain(ctx.settings, policy, pages[0].sent_at)
    level = last.level + 1
    if level >= len(people):
        if claim(session, f"page:{ticket.id}:exhausted", now):
            record_event(session, ticket, now, "page_chain_exhausted", last_level=last.level)
            log.error("ticket %s: nobody acknowledged any page of the chain", ticket.number)
        return False
    return _page(session, ctx, ticket, policy, level, people[level], now, "no ack") is not None


def _page(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    policy: Policy,
    level: int,
    person: Person,
    now: datetime,
    reason: str,
) -> Page | None:
    """Record and queue the page of ``level``; None if another process recorded it first."""
    page = Page(ticket_id=ticket.id, level=level, person=person.email, sent_at=now)
    try:
        with session.begin_nested():
            session.add(page)
            session.flush()
    except IntegrityError:
        return None
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    rendered = ctx.renderer.render(
        PAGE_KIND,
        ctx.settings.service.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        client_name=client.name if client else None,
        requester=ticket.requester,
        priority=ticket.priority,
        text=report_text(session, ticket),
        level=level,
        ack_minutes=policy.oncall.ack_minutes,
    )
    enqueue(
        session,
        Draft(
            kind=PAGE_KIND,
            to=(person.email,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )
    record_event(
        session,
        ticket,
        now,
        "page" if level == 0 else "page_escalated",
        level=level,
        to=person.email,
        name=person.name,
        reason=reason,
    )
    log.warning("ticket %s: paged %s (level %d, %s)", ticket.number, person.email, level, reason)
    return page


def report_text(session: Session, ticket: Ticket, limit: int = _TEXT_LIMIT) -> str:
    """The client's report (the first mail of the ticket), cut to ``limit`` characters."""
    text = session.scalar(
        select(Message.text)
        .where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(Message.id)
        .limit(1)
    )
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + "\n[…]"


def record_event(
    session: Session, ticket: Ticket, now: datetime, kind: str, **detail: object
) -> None:
    """An event on ``ticket`` by ``actor`` (maildesk unless given)."""
    actor = str(detail.pop("actor", "maildesk"))
    session.add(Event(ticket_id=ticket.id, at=now, kind=kind, actor=actor, detail=detail))
