"""Corrections: billed time added or taken back by hand, as new ledger rows.

A correction never changes an entry: it is booked like a ``#time`` line with
no worked minutes, so every view that shows work (timesheets, statements, the
portal, the invoicing export) shows it, labelled as a correction with its
reason. The rules, decided here once:

- **Sign.** ``minutes`` is billed time: positive is a debit (the client is
  billed more), negative a credit (goodwill, a booking in error).
- **Rows.** ``kind`` ``work``, ``reference`` :data:`CORRECTION_REFERENCE`,
  ``raw_minutes`` 0, ``billing_group`` ``correction`` (so no rounding group
  and no quote cap counts it), ``note`` the reason, ``actor`` who booked it,
  ``ticket_id`` the ticket it is about, if any.
- **Under a prepaid contract** it moves hours: a debit draws from the live
  bundles oldest first; what they cannot cover is billed at the rate, or,
  without one, owed (as work is). A credit first pays back what is owed, then
  goes back to the newest live bundle; with neither, it is refused (there are
  no prepaid hours to give back to; book a purchase or a grant instead).
- **Under a subscription or hourly contract** it moves money: one row billed
  at the rate, with the counter-entry that keeps the prepaid balance at zero.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing import ledger
from maildesk.billing.contracts import allocate
from maildesk.billing.debt import owed
from maildesk.core.config import Settings
from maildesk.store.models import Client, LedgerEntry, Ticket

__all__ = ["CORRECTION_GROUP", "CORRECTION_REFERENCE", "CorrectionRefused", "book_correction"]

CORRECTION_REFERENCE = "correction"
"""``reference`` of a correction's rows (its part paid from or to a debt: ``debt``)."""
CORRECTION_GROUP = "correction"
MAX_REASON = 500


class CorrectionRefused(ValueError):
    """The correction cannot be booked as asked (the message says why and what to do)."""


def book_correction(
    session: Session,
    settings: Settings,
    client_key: str,
    minutes: int,
    reason: str,
    now: datetime,
    *,
    actor: str,
    ticket_number: str | None = None,
) -> list[LedgerEntry]:
    """Book ``minutes`` of billed time (negative: a credit) for the client; returns its rows."""
    reason = " ".join(reason.split())
    if not reason:
        raise CorrectionRefused("a correction needs a reason (--reason)")
    if len(reason) > MAX_REASON:
        raise CorrectionRefused(f"the reason is longer than {MAX_REASON} characters")
    if minutes == 0:
        raise CorrectionRefused("a correction of 0 minutes changes nothing")
    client = ledger._client_by_key(session, client_key)  # locked for this transaction
    cfg = settings.client(client_key)
    if cfg is None:
        raise ledger.UnknownClient(f"no client {client_key!r} in {settings.source}")
    billing = settings.policies[cfg.policy].billing
    ticket_id = _ticket_id(session, client, ticket_number)
    key = ledger.entry_key(f"correction:{client_key}:{now.isoformat()}:{reason}")
    if ledger.is_booked(session, key):
        raise CorrectionRefused("the same correction was booked at this very moment")
    # (minutes billed, bundle id, reference); a credit's minutes are negative.
    parts: list[tuple[int, int | None, str]] = []
    at_rate = 0
    if billing.kind != "prepaid":
        parts.append((minutes, None, CORRECTION_REFERENCE))
        at_rate = minutes
    elif minutes > 0:
        ledger.expire_bundles(session, client.id, now)
        live = [b for b in ledger.bundles(session, client.id) if b.live(now)]
        draws, short = allocate([(b.id, b.remaining) for b in live], minutes)
        parts += [(taken, bundle_id, CORRECTION_REFERENCE) for bundle_id, taken in draws]
        if short and billing.hourly_rate > 0:
            parts.append((short, None, CORRECTION_REFERENCE))
            at_rate = short
        elif short:
            parts.append((short, None, ledger.DEBT_REFERENCE))
    else:
        credit = -minutes
        paid_back = min(credit, owed(session, client.id))
        if paid_back:
            parts.append((-paid_back, None, ledger.DEBT_REFERENCE))
        rest = credit - paid_back
        if rest:
            live = [b for b in ledger.bundles(session, client.id) if b.live(now)]
            if not live:
                raise CorrectionRefused(
                    f"{client_key} has no prepaid hours left to credit {rest} minutes to; "
                    "book them with `maildesk clients topup` (or as a grant) instead"
                )
            newest = max(live, key=lambda b: (b.at, b.id))
            parts.append((-rest, newest.id, CORRECTION_REFERENCE))
    rows = [
        LedgerEntry(
            client_id=client.id,
            at=now,
            kind="work",
            minutes=-billed,
            raw_minutes=0,
            bundle_id=bundle_id,
            ticket_id=ticket_id,
            actor=actor,
            reference=reference,
            note=reason,
            idempotency_key=key if i == 0 else f"{key}#part{i + 1}",
            billing_group=CORRECTION_GROUP,
        )
        for i, (billed, bundle_id, reference) in enumerate(parts)
    ]
    session.add_all(rows)
    if at_rate:
        session.add(
            LedgerEntry(
                client_id=client.id,
                at=now,
                kind="adjustment",
                minutes=at_rate,
                ticket_id=ticket_id,
                actor=actor,
                reference=ledger.RATE_REFERENCE,
                note=f"{at_rate} min corrected at the hourly rate",
                idempotency_key=key + "#rate",
            )
        )
    session.flush()
    return rows


def _ticket_id(session: Session, client: Client, number: str | None) -> int | None:
    """The id of the client's ticket ``number`` (a correction names only its own tickets)."""
    if number is None:
        return None
    ticket = session.scalar(
        select(Ticket).where(Ticket.number == number.strip(), Ticket.client_id == client.id)
    )
    if ticket is None:
        raise CorrectionRefused(f"{client.key} has no ticket {number.strip()}")
    return ticket.id
