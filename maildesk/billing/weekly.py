"""Sending the week's statements: when, to whom, exactly once, many clients at a time.

Rules (what a statement says: :mod:`maildesk.billing.statements`):

- **When**: :func:`send_weekly_statements` sends the statement of the last
  complete week once it is due, on ``service.statement_weekday`` at
  ``statement_hour`` (statement zone) of the following week, so it may run
  from a cron job or every few minutes alike, and a daemon that was down at
  that hour sends it when it is back (within the week). A claimed marker
  ``statement:CLIENT:YYYY-Www``, taken in the transaction that queues the
  mail, makes it exactly once across restarts and daemons.
- **Who**: clients whose ``weekly_statement`` is ``"activity"`` (the default)
  get one for weeks with any ledger entry; ``"always"`` every week; ``"never"``
  none. It goes to the authorised contacts and the account manager, in the
  client's language; a client with nobody to send to is skipped (logged) and
  its week is not marked, so adding a contact later still sends it.
- **Chunks**: clients are read and queued :data:`CHUNK` at a time, in one
  transaction per chunk: a provider with thousands of clients gets its
  statements in seconds rather than minutes (one round trip per client
  instead of ten). When a chunk fails — one client's statement raises, or
  another process claimed one of its weeks meanwhile — nothing of it is
  kept, and it is redone one client per transaction, so a failing client
  holds up nobody else and is retried at the next run. When the database
  itself is gone (a lost connection; on SQLite any operational error, such as
  a lock held past the busy timeout) the run stops with one error and the
  rest go at the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from maildesk.billing.mailing import recipients_of
from maildesk.billing.statements import (
    Statement,
    build_statements,
    last_complete_week,
    render_statement,
    week_label,
)
from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Service
from maildesk.core.policy import WEEKDAYS
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.store.db import Database
from maildesk.store.directory import ClientInfo, client_info_by_key
from maildesk.store.models import Contact, Event, Once

__all__ = ["CHUNK", "send_weekly_statements", "statement_due"]

log = logging.getLogger(__name__)

CHUNK = 100
"""Clients per transaction. Large enough that round trips stop mattering, small
enough that SQLite's write lock is held for well under a second."""


def statement_due(monday: date, service: Service) -> datetime:
    """When the statement of the week starting ``monday`` is due (UTC)."""
    day = monday + timedelta(days=7 + WEEKDAYS.index(service.statement_weekday))
    local = datetime.combine(day, time(service.statement_hour), ZoneInfo(service.statement_zone))
    return local.astimezone(UTC)


def _statement_key(client_key: str, monday: date) -> str:
    return f"statement:{client_key}:{week_label(monday)}"


@dataclass(frozen=True)
class _Run:
    """What one run reads once for all its clients, instead of once per client.

    ``sent``: the week's statements claimed before the run started. Only a
    shortcut that spares building a statement that went out before (a run
    every few minutes finds them all sent); the ``once`` key inserted with
    each statement is what makes it go out once.

    ``authorised``: each client's authorised contacts. Contacts change only
    when a process mirrors the config at start-up (``sync_clients``), so one
    read as the run starts serves every client of the run (a run takes
    seconds; a process restarting with another config meanwhile is the only
    way it could miss a change).
    """

    sent: frozenset[str]
    authorised: dict[int, tuple[str, ...]]

    @classmethod
    def read(cls, db: Database, monday: date) -> _Run:
        with db.session() as session:
            pattern = _statement_key("%", monday)
            sent = frozenset(session.scalars(select(Once.key).where(Once.key.like(pattern))))
            contacts = session.execute(
                select(Contact.client_id, Contact.email)
                .where(Contact.authorised.is_(True))
                .order_by(Contact.id)
            )
            authorised: dict[int, tuple[str, ...]] = {}
            for client_id, email in contacts:
                authorised[client_id] = (*authorised.get(client_id, ()), email)
        return cls(sent, authorised)


def _queue(
    session: Session,
    ctx: MailContext,
    cfg: ClientConfig,
    client: ClientInfo,
    statement: Statement,
    now: datetime,
    run: _Run,
) -> bool:
    """Queue one client's statement with its once key; False when it has none to send."""
    if cfg.weekly_statement == "activity" and not (statement.lines or statement.movements):
        return False
    to = recipients_of(ctx.settings, client.key, run.authorised.get(client.id, ()))
    if not to:
        log.warning("no statement for %s %s: no authorised contact", cfg.id, statement.week)
        return False
    # The week's exactly-once marker, flushed with the mail: a process that
    # claimed it meanwhile makes this commit fail (the unique key), and
    # nothing of this statement is queued. claim() would check first and
    # take a savepoint: four round trips per client instead of one insert.
    session.add(Once(key=_statement_key(cfg.id, statement.monday), at=now))
    rendered, attachments = render_statement(ctx, statement, ctx.portal_url(cfg.id, to))
    enqueue(
        session,
        Draft(
            kind="weekly_statement",
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            attachments=attachments,
        ),
        ctx.identity,
        now,
    )
    session.add(
        Event(
            at=now,
            kind="statement_sent",
            detail={"client": cfg.id, "week": statement.week, "to": list(to)},
        )
    )
    return True


def _send_chunk(
    db: Database,
    ctx: MailContext,
    chunk: Sequence[ClientConfig],
    monday: date,
    now: datetime,
    run: _Run,
) -> int:
    """Queue the statements of ``chunk`` in one transaction; returns how many."""
    with db.transaction() as session:
        pairs = [(cfg, client_info_by_key(session, cfg.id)) for cfg in chunk]
        known = [(cfg, client) for cfg, client in pairs if client is not None]
        statements = build_statements(
            session, ctx.settings, [client for _, client in known], monday, now
        )
        return sum(
            _queue(session, ctx, cfg, client, statement, now, run)
            for (cfg, client), statement in zip(known, statements, strict=True)
        )


def _database_gone(db: Database, exc: OperationalError) -> bool:
    """Whether every client would now fail the same way, so the run should stop.

    A lost connection, or on SQLite any operational error (a database locked
    past the busy timeout, a disk that fails): trying each client alone would
    only wait or fail once per client. On PostgreSQL a deadlock or a statement
    timeout belongs to one transaction, and the next client may well go through.
    """
    return exc.connection_invalidated or db.dialect == "sqlite"


def _send_alone(
    db: Database, ctx: MailContext, cfg: ClientConfig, monday: date, now: datetime, run: _Run
) -> int:
    """One client in its own transaction, its failure logged (it is retried next run).

    Raises ``OperationalError`` when the database is gone (see :func:`_database_gone`).
    """
    try:
        return _send_chunk(db, ctx, (cfg,), monday, now, run)
    except IntegrityError as exc:
        # Most likely another process sent it meanwhile (its once key).
        log.warning("weekly statement for %s not queued: %s", cfg.id, exc.orig or exc)
    except OperationalError as exc:
        if _database_gone(db, exc):
            raise
        log.exception("weekly statement for %s failed; retried at the next run", cfg.id)
    except Exception:
        log.exception("weekly statement for %s failed; retried at the next run", cfg.id)
    return 0


def send_weekly_statements(
    db: Database, ctx: MailContext, now: datetime, *, week: date | None = None
) -> int:
    """Queue each client's statement for the last complete week once it is due; returns how many.

    ``week`` (a Monday) sends that week's statements instead, due or not
    (still once each). Returns the number queued, counted once committed.
    """
    service = ctx.settings.service
    monday = week or last_complete_week(now, service.statement_zone)
    if week is None and now < statement_due(monday, service):
        return 0
    run = _Run.read(db, monday)
    todo = [
        cfg
        for cfg in ctx.settings.clients
        if cfg.weekly_statement != "never" and _statement_key(cfg.id, monday) not in run.sent
    ]
    sent = 0
    for first in range(0, len(todo), CHUNK):
        chunk = todo[first : first + CHUNK]
        try:
            queued = _try_chunk(db, ctx, chunk, monday, now, run)
            if queued is None:
                for cfg in chunk:
                    sent += _send_alone(db, ctx, cfg, monday, now, run)
            else:
                sent += queued
        except OperationalError as exc:
            log.error(
                "weekly statements %s stopped after %d queued; the rest at the next run: %s",
                week_label(monday),
                sent,
                exc.orig or exc,
            )
            return sent
        if len(todo) > CHUNK:
            done = min(first + CHUNK, len(todo))
            log.info("weekly statements %s: %d of %d clients", week_label(monday), done, len(todo))
    return sent


def _try_chunk(
    db: Database,
    ctx: MailContext,
    chunk: Sequence[ClientConfig],
    monday: date,
    now: datetime,
    run: _Run,
) -> int | None:
    """The chunk in one transaction: how many it queued, or None to redo it client by client.

    A chunk of one goes straight to the client-by-client path, which logs its failure.
    """
    if len(chunk) == 1:
        return None
    try:
        return _send_chunk(db, ctx, chunk, monday, now, run)
    except OperationalError as exc:
        if _database_gone(db, exc):
            raise
        failure: Exception = exc
    except Exception as exc:
        failure = exc
    log.info(
        "weekly statements for %d clients from %s on redone one by one: %s: %s",
        len(chunk),
        chunk[0].id,
        type(failure).__name__,
        failure,
    )
    return None
