"""Exactly-once markers: a unique key inserted in the same transaction as what it allows.

A warning, a breach notice, a low-balance notice or a weekly statement must go
out once, even across restarts and with two daemons on one database. The
caller claims the key and, only when the claim succeeds, queues the mail in
the same transaction: if that transaction rolls back, the claim goes with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.store.models import Once


def claim(session: Session, key: str, now: datetime) -> bool:
    """True if ``key`` was not claimed before (and is now); False if it was."""
    if session.get(Once, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Once(key=key, at=now))
    except IntegrityError:
        return False
    return True


def claimed(session: Session, key: str) -> bool:
    """Whether ``key`` has been claimed."""
    return session.scalar(select(Once.key).where(Once.key == key)) is not None
