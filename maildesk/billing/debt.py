"""Time owed beyond a prepaid contract without an hourly rate, and its payment.

Rules (the ledger's own are in :mod:`maildesk.billing.ledger`):

- **Owed.** Billed time the bundles cannot cover, under a policy with no
  hourly rate, is a ``work`` row with ``bundle_id`` NULL and ``reference``
  :data:`DEBT_REFERENCE`, with no counter-entry: the balance goes below zero by
  what is owed. Nothing is lost, and nothing is billed at a rate the contract
  does not have.
- **Paid first by the next purchase** (:func:`pay_debt`, called by
  ``ledger.topup``): a pair of ``adjustment`` rows, ``-paid`` drawn from the
  new purchase (``bundle_id`` = the purchase) and ``+paid`` with no bundle, both
  ``reference`` "debt". The pair nets to zero, so the balance stays the sum of
  all entries (45 minutes owed and a 40-hour purchase leave 39 h 15), while the
  purchase itself has 39 h 15 left to draw.
- What is owed is minus the sum of the "debt" rows without a bundle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk.store.models import LedgerEntry

__all__ = ["DEBT_REFERENCE", "owed", "pay_debt"]

DEBT_REFERENCE = "debt"
"""``reference`` of time owed beyond a prepaid contract, and of its payment."""


def owed(session: Session, client_id: int) -> int:
    """Minutes the client owes beyond its prepaid hours, not yet paid by a purchase."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.client_id == client_id,
            LedgerEntry.reference == DEBT_REFERENCE,
            LedgerEntry.bundle_id.is_(None),
        )
    )
    return max(0, -int(total or 0))


def pay_debt(
    session: Session, client_id: int, purchase: LedgerEntry, now: datetime, actor: str
) -> int:
    """Pay what the client owes from ``purchase``, first; returns the minutes paid.

    The purchase's key (at most 200 characters, see ``ledger.entry_key``) with a
    suffix keys the pair, so a purchase pays once.
    """
    paid = min(owed(session, client_id), purchase.minutes)
    if paid <= 0:
        return 0
    note = f"{paid} min owed, paid from {purchase.reference}"
    for minutes, bundle_id, suffix in ((-paid, purchase.id, "#debt"), (paid, None, "#debt-paid")):
        session.add(
            LedgerEntry(
                client_id=client_id,
                at=now,
                kind="adjustment",
                minutes=minutes,
                bundle_id=bundle_id,
                actor=actor,
                reference=DEBT_REFERENCE,
                note=note,
                idempotency_key=purchase.idempotency_key + suffix,
            )
        )
    session.flush()
    return paid
