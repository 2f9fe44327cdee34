"""When in doubt out of hours, ask a person: the "possible outage, not paged" notice.

A report at night that says "I cannot log in" names an impact but not who is
affected; "iedereen heeft een probleem" names everyone but not what. Paging
such a report as High wakes someone for one user's password; staying silent
lets a real outage wait until the office opens. A policy whose
``priority.scope_impact.ask_when_unsure`` is true takes the middle way: the
on-call person (level 0 of the chain, as for a page) gets one short notice with
the report and the reason for the doubt, and decides. The notice is not a page:
no ``pages`` row, no ack expected, no escalation.

Sent at most once per ticket (an exactly-once claim in the caller's
transaction), only out of business hours, and only for a ticket whose priority
the policy does not page for anyway. An event records it (or that nobody is on
call).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla.clock import calendar_for
from maildesk.sla.paging import page_chain, record_event, report_text, ticket_policy
from maildesk.store.models import Client, Ticket
from maildesk.store.once import claim

__all__ = ["NOTICE_KIND", "notify_unsure"]

log = logging.getLogger(__name__)

NOTICE_KIND = "possible_outage"
"""The outbox kind and template of the notice."""

_TEXT_LIMIT = 2000


def notify_unsure(
    session: Session, ctx: MailContext, ticket: Ticket, now: datetime, unsure: str
) -> bool:
    """Send the on-call person the notice for ``ticket`` if the policy asks; True if sent."""
    policy = ticket_policy(ctx.settings, ticket)
    rules = policy.priority.scope_impact
    if rules is None or not rules.ask_when_unsure:
        return False
    if ticket.priority in policy.oncall.pages or calendar_for(policy).is_open(now):
        return False
    people, _ = page_chain(ctx.settings, policy, now)
    if not claim(session, f"{NOTICE_KIND}:{ticket.id}", now):
        return False
    if not people:
        record_event(session, ticket, now, "possible_outage_nobody", unsure=unsure)
        log.error("ticket %s: possible outage, but nobody is on call", ticket.number)
        return False
    person = people[0]
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    rendered = ctx.renderer.render(
        NOTICE_KIND,
        ctx.settings.service.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        client_name=client.name if client else None,
        requester=ticket.requester,
        priority=ticket.priority,
        unsure=unsure,
        text=report_text(session, ticket, limit=_TEXT_LIMIT),
    )
    enqueue(
        session,
        Draft(
            kind=NOTICE_KIND,
            to=(person.email,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )
    record_event(session, ticket, now, "possible_outage_notice", to=person.email, unsure=unsure)
    log.warning("ticket %s: possible outage, %s told (%s)", ticket.number, person.email, unsure)
    return True
