"""Delivering the outbox: claim a due mail, send it, record the outcome.

Each mail is claimed in its own transaction with ``FOR UPDATE SKIP LOCKED``
(on PostgreSQL; SQLite serialises writers anyway), so several maildesk
processes can flush one outbox without sending a mail twice. Temporary
failures back off exponentially; permanent ones mark the mail failed. When
the way out itself fails (``RelayUnavailable``: the relay down or refusing
maildesk's login) the mail is never given up for it, outgoing delivery's
health row records the outage, and the first mail that goes out after it
makes every waiting mail due at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from maildesk.core.clock import Clock, ensure_utc
from maildesk.notify.outbox import QUEUED_MAIL
from maildesk.notify.transport import DeliveryError, RelayUnavailable, Transport
from maildesk.store.db import Database
from maildesk.store.health import OUTGOING, record_failure, record_success
from maildesk.store.models import Event, OutboxMail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_seconds: float = 60.0
    max_seconds: float = 6 * 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: base, 2x base, 4x base, … capped."""
        seconds = min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds)
        return timedelta(seconds=seconds)


@dataclass
class FlushResult:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


FailureHook = Callable[[Session, OutboxMail, datetime], None]
"""Called, in the same transaction, when a mail is marked failed for good."""


# Built once: they run for every mail sent. The row is read as columns and a
# sent mail is recorded with one UPDATE; only a failed one is loaded as an
# object (for the event and the failure hook).
_NEXT_DUE = (
    select(
        OutboxMail.id,
        OutboxMail.kind,
        OutboxMail.message_id,
        OutboxMail.mail_from,
        OutboxMail.rcpt_to,
        OutboxMail.data,
    )
    .where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= bindparam("now"))
    .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_MARK_SENT = (
    update(OutboxMail)
    .where(OutboxMail.id == bindparam("row_id"))
    .values(
        status="sent",
        attempts=OutboxMail.attempts + 1,
        sent_at=bindparam("now"),
        last_error=None,
    )
    .execution_options(synchronize_session=False)
)

_ALL_DUE = (
    update(OutboxMail)
    .where(OutboxMail.status == "pending", OutboxMail.next_attempt_at > bindparam("now"))
    .values(next_attempt_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def flush_outbox(
    db: Database,
    transport: Transport,
    clock: Clock,
    retry: RetryPolicy,
    limit: int = 500,
    on_failure: FailureHook | None = None,
    stopping: Callable[[], bool] | None = None,
) -> FlushResult:
    """Send every due mail (up to ``limit``, or until ``stopping()``); returns what happened."""
    result = FlushResult()
    label = f"outgoing mail ({transport.label})"
    relay_ok = False  # recorded once per flush, not per mail
    try:
        for _ in range(limit):
            if stopping is not None and stopping():
                break
            with db.transaction() as session:
                now = clock.now()
                due = session.execute(_NEXT_DUE, {"now": now}).first()
                if due is None:
                    break
                try:
                    transport.send(due.mail_from, list(due.rcpt_to), due.data)
                except DeliveryError as exc:
                    row = session.get(OutboxMail, due.id)
                    assert row is not None  # locked by this transaction
                    row.attempts += 1
                    row.last_error = str(exc)[:2000]
                    relay_down = isinstance(exc, RelayUnavailable)
                    if isinstance(exc, RelayUnavailable):
                        record_failure(session, OUTGOING, label, str(exc), exc.hint, now)
                    if exc.permanent or (row.attempts >= retry.max_attempts and not relay_down):
                        row.status = "failed"
                        result.failed += 1
                        session.add(
                            Event(
                                ticket_id=row.ticket_id,
                                at=now,
                                kind="delivery_failed",
                                detail={
                                    "message_id": row.message_id,
                                    "to": row.rcpt_to,
                                    "error": row.last_error,
                                },
                            )
                        )
                        log.error(
                            "mail %s to %s failed for good: %s",
                            row.message_id,
                            ", ".join(row.rcpt_to),
                            exc,
                        )
                        if on_failure is not None:
                            on_failure(session, row, now)
                    else:
                        row.next_attempt_at = now + retry.delay(row.attempts)
                        result.deferred += 1
                        log.warning(
                            "mail %s to %s deferred (attempt %d): %s",
                            row.message_id,
                            ", ".join(row.rcpt_to),
                            row.attempts,
                            exc,
                        )
                        break
                    continue
                session.execute(_MARK_SENT, {"row_id": due.id, "now": now})
                if not relay_ok:
                    relay_ok = True
                    if record_success(session, OUTGOING, label, now):
                        waiting = session.execute(_ALL_DUE, {"now": now})
                        log.info(
                            "%s: delivering again; %d waiting mail(s) made due",
                            label,
                            getattr(waiting, "rowcount", 0),
                        )
                result.sent += 1
                log.info("sent %s mail %s to %s", due.kind, due.message_id, ", ".join(due.rcpt_to))
    finally:
        transport.close()
    return result


def flush_all(
    db: Database,
    transport: Transport,
    clock: Clock,
    retry: RetryPolicy,
    batch: int = 500,
    on_failure: FailureHook | None = None,
) -> FlushResult:
    """Flush in batches until nothing due is left or the relay defers (``run --once``)."""
    total = FlushResult()
    while True:
        result = flush_outbox(db, transport, clock, retry, batch, on_failure)
        total.sent += result.sent
        total.deferred += result.deferred
        total.failed += result.failed
        if result.deferred or result.sent + result.failed < batch:
            return total


class Courier:
    """Delivers the outbox in a thread of the daemon, as soon as mail is queued.

    Every commit that queued mail (``enqueue`` marks its session) wakes it,
    so an ack leaves within moments of the commit that wrote it, whichever
    intake or job wrote it; without a wake it looks every ``interval``
    seconds, for retries that have come due and for mail queued by another
    process.
    """

    def __init__(
        self, db: Database, flush: Callable[[Callable[[], bool]], FlushResult], interval: float
    ) -> None:
        self._db = db
        self._flush = flush
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._unhook: Callable[[], None] | None = None

    def _committed(self, session: Session) -> None:
        # Releasing a savepoint fires after_commit too; the mail is not visible
        # to the courier's transaction until the outermost commit.
        if session.in_nested_transaction():
            return
        if session.info.pop(QUEUED_MAIL, False):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before flushing: mail queued meanwhile wakes the next round
            try:
                self._flush(self._stop.is_set)
            except Exception:
                log.exception("delivering the outbox failed; trying again in %ss", self._interval)
            self._wake.wait(self._interval)

    def start(self) -> None:
        self._unhook = self._db.after_commit(self._committed)
        self._thread.start()

    def stop(self) -> None:
        """Finish the mail in hand (the flush stops between two mails) and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if self._unhook is not None:
            self._unhook()
            self._unhook = None


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    failed: int
    oldest_pending_age: timedelta | None


def outbox_status(db: Database, clock: Clock) -> OutboxStatus:
    """Depth of the outbox and the age of its oldest pending mail, for status and metrics."""
    with db.session() as session:
        pending, oldest = session.execute(
            select(func.count(OutboxMail.id), func.min(OutboxMail.created_at)).where(
                OutboxMail.status == "pending"
            )
        ).one()
        failed = session.scalar(
            select(func.count(OutboxMail.id)).where(OutboxMail.status == "failed")
        )
    age = None if oldest is None else clock.now() - ensure_utc(oldest)
    return OutboxStatus(pending=pending, failed=failed or 0, oldest_pending_age=age)
