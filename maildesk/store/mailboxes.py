"""Per-folder IMAP bookkeeping: UIDVALIDITY, the highest UID seen, the last good poll."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.store.models import MailboxState


def record_poll(
    session: Session, source: str, folder: str, uidvalidity: int, last_uid: int, now: datetime
) -> bool:
    """Record a successful poll; returns True when UIDVALIDITY changed since the last one."""
    state = session.scalar(
        select(MailboxState).where(MailboxState.source == source, MailboxState.folder == folder)
    )
    if state is None:
        try:
            with session.begin_nested():
                session.add(
                    MailboxState(
                        source=source,
                        folder=folder,
                        uidvalidity=uidvalidity,
                        last_uid=last_uid,
                        last_success_at=now,
                    )
                )
            return False
        except IntegrityError:
            # Another maildesk process recorded this folder first: update its row.
            state = session.scalars(
                select(MailboxState).where(
                    MailboxState.source == source, MailboxState.folder == folder
                )
            ).one()
    changed = state.uidvalidity != uidvalidity
    state.uidvalidity = uidvalidity
    state.last_uid = last_uid if changed else max(state.last_uid, last_uid)
    state.last_success_at = now
    return changed


def mailbox_states(session: Session) -> list[MailboxState]:
    return list(
        session.scalars(select(MailboxState).order_by(MailboxState.source, MailboxState.folder))
    )
