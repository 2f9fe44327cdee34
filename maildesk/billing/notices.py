"""Telling the client about their hours: low balance, used up, and the timesheet.

Rules:

- **Low balance** (``low_balance``): after a booking that drew prepaid hours,
  when less than the threshold is left (see
  :func:`~maildesk.billing.contracts.low_balance_threshold`), once per *cycle*.
  A cycle is the time between two top-ups: its marker key names the last
  bundle bought or granted (``low_balance:CLIENT:BUNDLE``), so the notice goes
  out once on crossing, not on the next entry, and again only after a top-up
  and a new crossing. A top-up that still leaves the balance under the
  threshold gets a notice at the next booking (the client is still short).
- **Used up** (``balance_zero``): when a booking leaves no prepaid hours, once
  per cycle; it also uses up the cycle's low-balance notice, so "almost used
  up" never follows "used up". A client that never had a bundle is never told
  its hours are used up (its work is overage from the start).
- Both go to the authorised contacts and the account manager, in the client's
  language, as automatic mail.

The task's timesheet, when a ticket is resolved, is :mod:`maildesk.billing.timesheet`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.billing.contracts import format_rate, low_balance_threshold
from maildesk.billing.ledger import Bundle
from maildesk.billing.mailing import client_language, notice_recipients, queue
from maildesk.core.durations import format_minutes
from maildesk.core.policy import BillingConfig
from maildesk.notify.context import MailContext
from maildesk.store.models import Client
from maildesk.store.once import claim

__all__ = ["balance_notices"]


def balance_notices(
    session: Session,
    ctx: MailContext,
    client: Client,
    billing: BillingConfig,
    now: datetime,
    *,
    remaining: int,
    last_bundle: Bundle | None,
    drawn: int,
    overage: int,
) -> tuple[str, ...]:
    """Queue the balance notice a booking calls for, if any; returns the kinds queued."""
    if last_bundle is None or (drawn <= 0 and overage <= 0):
        return ()
    cycle = f"{client.key}:{last_bundle.id}"
    settings = ctx.settings
    language = client_language(settings, client)
    to = notice_recipients(session, settings, client)
    if remaining <= 0:
        if not claim(session, f"balance_zero:{cycle}", now):
            return ()
        claim(session, f"low_balance:{cycle}", now)
        queue(
            session,
            ctx,
            "balance_zero",
            language,
            to,
            now,
            client_name=client.name,
            rate=format_rate(billing, language),
            portal_url=ctx.portal_url(client.key, to),
        )
        return ("balance_zero",)
    threshold = low_balance_threshold(billing, last_bundle.minutes)
    if drawn <= 0 or remaining >= threshold:
        return ()
    if not claim(session, f"low_balance:{cycle}", now):
        return ()
    queue(
        session,
        ctx,
        "low_balance",
        language,
        to,
        now,
        client_name=client.name,
        remaining=format_minutes(remaining),
        threshold=format_minutes(threshold),
        portal_url=ctx.portal_url(client.key, to),
    )
    return ("low_balance",)
