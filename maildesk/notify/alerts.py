"""Telling the operator when a mailbox or outgoing delivery has been failing, and when it is back.

The alert job reads the health rows (``store/health``) that the IMAP watch
loops and the outbox flush keep, and for each source that has been failing
for ``ops.alert_after_minutes`` queues one mail per outage to
``ops.operator_address`` (the staff when unset); once it works again, one
more. Each mail is allowed by an exactly-once marker (``store/once``) named
after the source and the outage's start, claimed in the transaction that
queues it, so two daemons on one database, or a restart, never send it twice.

An alert about outgoing delivery cannot go out while delivery fails: it waits
in the outbox with everything else and leaves first thing when the relay
works again (the outbox makes all waiting mail due at that moment). Until
then the outage shows in the log, ``maildesk status``, ``/healthz`` and
``/metrics``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from maildesk.core.clock import ensure_utc
from maildesk.core.localtime import format_local
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.store.db import Database
from maildesk.store.health import FAILING, OUTGOING, health_rows
from maildesk.store.models import SourceHealth
from maildesk.store.once import claim

log = logging.getLogger(__name__)

DOWN_KIND = "source_down"
UP_KIND = "source_up"


@dataclass
class AlertResult:
    down: int = 0
    up: int = 0


def alert_key(source: str, since: datetime, kind: str) -> str:
    """The exactly-once marker of one ``kind`` alert about the outage of ``source`` from ``since``.

    Named after the outage, so each outage is told once, whichever process tells it.
    """
    return f"alert:{kind}:{source}:{ensure_utc(since).isoformat()}"


def recipients(ctx: MailContext) -> tuple[str, ...]:
    """Who is told: the operator address, else every staff member."""
    operator = ctx.settings.ops.operator_address
    return (operator,) if operator else tuple(sorted(ctx.settings.staff_addresses))


def _when(ctx: MailContext, at: datetime) -> str:
    service = ctx.settings.service
    return format_local(ensure_utc(at), service.timezone, service.language)


def _queue(ctx: MailContext, session: Session, kind: str, now: datetime, **values: object) -> None:
    to = recipients(ctx)
    if not to:
        return  # no operator address and no staff: the log line is all there is
    rendered = ctx.renderer.render(kind, ctx.settings.service.language, **values)
    enqueue(
        session,
        Draft(kind=kind, to=to, subject=rendered.subject, body=rendered.body),
        ctx.identity,
        now,
    )


def _check(ctx: MailContext, session: Session, row: SourceHealth, now: datetime) -> AlertResult:
    done = AlertResult()
    since = ensure_utc(row.failing_since) if row.failing_since else None
    told = ensure_utc(row.alerted_since) if row.alerted_since else None
    if told is not None and told != since:
        # The outage the operator was told about is over (a new one may have begun).
        if claim(session, alert_key(row.source, told, UP_KIND), now):
            until = row.last_success_at or now
            _queue(
                ctx,
                session,
                UP_KIND,
                now,
                label=row.label,
                since=_when(ctx, told),
                until=_when(ctx, until),
            )
            log.info("%s works again; the operator is told", row.label)
            done.up += 1
        row.alerted_since = None
    if row.state != FAILING or since is None or row.alerted_since is not None:
        return done
    after = timedelta(minutes=ctx.settings.ops.alert_after_minutes)
    if now - since < after:
        return done
    if claim(session, alert_key(row.source, since, DOWN_KIND), now):
        _queue(
            ctx,
            session,
            DOWN_KIND,
            now,
            label=row.label,
            since=_when(ctx, since),
            minutes=int((now - since).total_seconds() // 60),
            error=row.last_error or "",
            hint=(row.hint or "").rstrip("."),
            outgoing=row.source == OUTGOING,
        )
        if not recipients(ctx):
            told_how = "; nobody to mail: set ops.operator_address"
        elif row.source == OUTGOING:
            told_how = "; alert queued (it leaves when outgoing delivery works again)"
        else:
            told_how = "; alert queued"
        log.error(
            "%s has failed since %s: %s%s", row.label, since.isoformat(), row.last_error, told_how
        )
        done.down += 1
    row.alerted_since = since
    return done


def send_alerts(db: Database, ctx: MailContext, now: datetime) -> AlertResult:
    """Queue the alerts that are due now: outages past the threshold, and recoveries."""
    total = AlertResult()
    with db.transaction() as session:
        for row in health_rows(session):
            result = _check(ctx, session, row, now)
            total.down += result.down
            total.up += result.up
    return total
