"""Mailing the monthly service report: when, to whom, exactly once.

- **When**: from the opening of the first business day of a month (the client's policy
  calendar) and for the rest of that month, the report of the previous month is due; a
  daemon that was down that morning sends it when it is back.
- **Who**: clients whose policy has ``[service_report] enabled = true``; the authorised
  contacts and the account manager (``recipients = "authorised"``, the default) or every
  contact (``"contacts"``), in the client's language, with a portal link. A client with
  nobody to send to is skipped (logged) and not marked, so a contact added later gets it.
- **Once**: a ``once`` key ``service_report:CLIENT:YYYY-MM`` claimed in the transaction
  that queues the mail, so a restart or a second daemon never sends it twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.mailing import client_language, recipients_of
from maildesk.core.config import Settings
from maildesk.core.durations import format_minutes
from maildesk.core.localtime import format_local
from maildesk.core.policy import Policy
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.report.figures import ClientFigures, Month, client_figures
from maildesk.sla.clock import calendar_for
from maildesk.store.db import Database
from maildesk.store.models import Client, Contact
from maildesk.store.once import claim, claimed

__all__ = ["KIND", "mail_variables", "report_due", "report_key", "send_service_reports"]

log = logging.getLogger(__name__)

KIND = "service_report"


def report_key(client_key: str, month: Month) -> str:
    return f"service_report:{client_key}:{month.label}"


def report_due(policy: Policy, now: datetime) -> Month | None:
    """The month whose report is due at ``now`` under ``policy``'s calendar, or None.

    Due from the opening of the month's first business day to the month's end.
    """
    cal = calendar_for(policy)
    zone = cal.timezone
    this = Month.of(now, zone)
    opens = cal.next_open(this.start(zone))
    if Month.of(opens, zone) != this or now < opens:
        return None
    return this.previous()


def _recipients(
    session: Session, settings: Settings, client: Client, policy: Policy
) -> tuple[str, ...]:
    query = select(Contact.email).where(Contact.client_id == client.id).order_by(Contact.id)
    if policy.service_report.recipients == "authorised":
        query = query.where(Contact.authorised.is_(True))
    return recipients_of(settings, client.key, tuple(session.scalars(query)))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:g} %"


def mail_variables(figures: ClientFigures, zone: str, language: str) -> dict[str, Any]:
    """The figures as the template shows them: formatted times, durations, percentages."""

    def when(at: datetime | None) -> str | None:
        return format_local(at, zone, language) if at is not None else None

    return {
        "client_name": figures.client_name,
        "period": figures.month.label,
        "received": figures.received,
        "resolved": figures.resolved,
        "targets": [
            {
                "name": name,
                "met": count.met,
                "total": count.total,
                "percent": _percent(count.percent),
            }
            for name, count in (("response", figures.response), ("resolution", figures.resolution))
        ],
        "breaches": [
            {
                "number": b.number,
                "subject": b.subject,
                "priority": b.priority,
                "target": b.target,
                "due": when(b.due),
                "actual": when(b.actual),
                "pauses": [{"start": when(p.start), "end": when(p.end)} for p in b.pauses],
            }
            for b in figures.breaches
        ],
        "worked": format_minutes(figures.worked_minutes),
        "billed": format_minutes(figures.billed_minutes),
        "previous_billed": format_minutes(figures.previous_billed_minutes),
        "left": format_minutes(figures.left_minutes),
        "months_left": figures.months_left,
        "satisfied": figures.satisfaction.get("satisfied", 0),
        "unsatisfied": figures.satisfaction.get("unsatisfied", 0),
    }


def send_service_reports(db: Database, ctx: MailContext, now: datetime) -> int:
    """Queue each due monthly report not yet sent; returns how many were queued."""
    settings = ctx.settings
    if not any(p.service_report.enabled for p in settings.policies.values()):
        return 0
    zone = settings.service.timezone
    with db.session() as session:
        clients = list(
            session.scalars(
                select(Client).where(Client.removed_at.is_(None), Client.erased_at.is_(None))
            )
        )
    sent = 0
    for row in clients:
        _, policy = settings.policy_for(row.key)
        if not policy.service_report.enabled:
            continue
        month = report_due(policy, now)
        if month is None:
            continue
        key = report_key(row.key, month)
        with db.transaction() as session:
            if claimed(session, key):
                continue
            client = session.get(Client, row.id)
            assert client is not None
            to = _recipients(session, settings, client, policy)
            if not to:
                log.warning(
                    "service report %s: client %s has nobody to send to", month.label, client.key
                )
                continue
            if not claim(session, key, now):
                continue
            language = client_language(settings, client)
            figures = client_figures(session, client, month, zone)
            rendered = ctx.renderer.render(
                "service_report",
                language,
                support_name=ctx.identity.name,
                portal_url=ctx.portal_url(client.key, to),
                **mail_variables(figures, zone, language),
            )
            enqueue(
                session,
                Draft(kind=KIND, to=to, subject=rendered.subject, body=rendered.body),
                ctx.identity,
                now,
            )
            sent += 1
    if sent:
        log.info("service reports: %d mail(s) queued", sent)
    return sent
