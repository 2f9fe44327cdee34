"""Each source's health: a mailbox or outgoing delivery working, or failing since when.

Recording is cheap and happens where the work happens (the IMAP watch loop,
the outbox flush); deciding whom to tell is the alert job's (``notify/alerts``).
Every maildesk process on the database writes the same rows, so a mailbox is
"failing" until any process succeeds with it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.store.models import SourceHealth

OUTGOING = "outgoing"
"""The source name of outgoing delivery (mailboxes are ``imap:<name>``)."""

OK = "ok"
FAILING = "failing"


def imap_source(name: str) -> str:
    """The health source name of the ``[[intake.imap]]`` mailbox called ``name``."""
    return f"imap:{name}"


def _row(session: Session, source: str, label: str) -> SourceHealth:
    row = session.get(SourceHealth, source)
    if row is not None:
        row.label = label
        return row
    try:
        with session.begin_nested():
            row = SourceHealth(source=source, label=label, state=OK)
            session.add(row)
        return row
    except IntegrityError:
        # Another maildesk process wrote the first row for this source.
        found = session.get(SourceHealth, source, populate_existing=True)
        assert found is not None
        return found


def record_success(session: Session, source: str, label: str, now: datetime) -> bool:
    """The source worked at ``now``; True when this ends an outage."""
    row = _row(session, source, label)
    ended = row.state == FAILING
    row.state = OK
    row.failing_since = None
    row.last_success_at = now
    return ended


def record_failure(
    session: Session, source: str, label: str, error: str, hint: str, now: datetime
) -> bool:
    """The source failed at ``now`` with ``error``; True when this starts an outage."""
    row = _row(session, source, label)
    started = row.state != FAILING
    if started:
        row.state = FAILING
        row.failing_since = now
    row.last_error_at = now
    row.last_error = error[:2000]
    row.hint = hint[:2000] or None
    return started


def health_rows(session: Session) -> list[SourceHealth]:
    """Every source's row, in name order (outgoing after the mailboxes)."""
    return list(session.scalars(select(SourceHealth).order_by(SourceHealth.source)))
