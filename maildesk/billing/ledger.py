"""The ledger: a client's hours as append-only entries in integer minutes.

Every movement of a client's hours is one ``ledger_entries`` row, written once
and never changed; a balance is the sum of a client's rows, always, so there
is no stored balance to drift. The rules, decided here once:

- **Kinds.** ``purchase`` (+minutes: a contract or punch card, optional
  ``expires_at``) and ``grant`` (+minutes: free hours such as the starter
  grant) are *bundles*. ``work`` is billed time (``-billed``): drawn from a
  bundle (``bundle_id`` set), or billed at the hourly rate (``bundle_id`` NULL,
  see below), or included in a subscription (0). ``expiry`` writes off the
  remainder of an expired bundle (``bundle_id`` = that bundle). ``adjustment``
  is a correction; maildesk itself writes one only as the counter-entry of time
  billed at the hourly rate (``reference`` :data:`RATE_REFERENCE`).
- **Billed is always ``-minutes`` of a work row**, and the time billed at the
  hourly rate (overage, hourly contracts, ``#billable`` work) is moved out of
  the prepaid balance by a paired ``adjustment`` of ``+billed``. So a
  balance stays the prepaid hours left, a statement's work rows sum to what was
  billed, and the prepaid hours a new punch card brings are never eaten by
  earlier overage (which is invoiced at the rate instead).
- **Owed time** (:mod:`maildesk.billing.debt`): under a prepaid contract
  without an hourly rate, billed time the bundles cannot cover is owed (the
  balance goes below zero by it), and :func:`topup` pays it first from the
  new purchase.
- **Bundles are drawn oldest first** (by ``at``, then id); one booking may be
  split over several bundles. Its first row carries the booking's key and its
  worked (raw) minutes; further rows carry ``KEY#partN`` and 0 raw minutes.
- **Expiry is written when it is next looked at**: every writer and
  :func:`balance` first calls :func:`expire_bundles`, which appends an
  ``expiry`` row dated at the bundle's ``expires_at`` (key ``expiry:ID``, so
  once). No job is needed, and a statement for a past week, computed after
  that week, sees the expiry in the week it happened.
- **Concurrency.** Writers lock the client row (``SELECT … FOR UPDATE`` on
  PostgreSQL; SQLite serialises writers), so two processes booking for one
  client never draw the same minutes twice; the unique idempotency key makes a
  repeated booking a no-op or, in a race, a rolled-back duplicate.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from maildesk.billing.debt import DEBT_REFERENCE, pay_debt
from maildesk.core.config import Settings
from maildesk.store.models import Client, LedgerEntry
from maildesk.store.once import claim

__all__ = [
    "BUNDLE_KINDS",
    "DEBT_REFERENCE",
    "RATE_REFERENCE",
    "STARTER_REFERENCE",
    "AlreadyBooked",
    "Balance",
    "Bundle",
    "UnknownClient",
    "balance",
    "balances",
    "balances_before",
    "booking_key",
    "bundles",
    "entry_key",
    "expire_bundles",
    "grant_starter",
    "grant_starter_hours",
    "hours_to_minutes",
    "is_booked",
    "lock_client",
    "ticket_billed",
    "topup",
]

BUNDLE_KINDS = ("purchase", "grant")
RATE_REFERENCE = "billed-at-rate"
"""``reference`` of the adjustment that moves rate-billed time out of the balance."""
STARTER_REFERENCE = "starter grant"
"""``reference`` of a client's starter grant."""

_MAX_KEY = 200
_PART_RE = re.compile(r"#(?:part\d+|rate)$")


class UnknownClient(LookupError):
    """No client with that key in the database (is it in the config, and has it started?)."""


class AlreadyBooked(ValueError):
    """An entry with this idempotency key exists: the same top-up was recorded before."""


@dataclass(frozen=True)
class Bundle:
    """A purchase or grant and what is left of it."""

    id: int
    kind: str
    at: datetime
    minutes: int
    remaining: int
    expires_at: datetime | None
    reference: str

    def live(self, now: datetime) -> bool:
        """Whether minutes can still be drawn from it at ``now``."""
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class Balance:
    """A client's balance: the sum of the entries, and the bundles it is made of."""

    client_id: int
    minutes: int
    bundles: tuple[Bundle, ...]
    """The live bundles (minutes left, not expired), oldest first."""
    had_bundles: bool = False
    """Whether the client was ever sold or granted hours (see :func:`has_bundles`)."""

    @property
    def owed(self) -> int:
        """Minutes owed beyond the prepaid hours (a balance is below zero only by a debt)."""
        return max(0, -self.minutes)

    @property
    def drawable(self) -> int:
        """Minutes that work can still draw from bundles (equals ``minutes`` in practice)."""
        return sum(b.remaining for b in self.bundles)


def entry_key(key: str) -> str:
    """``key`` as stored: long keys (Message-IDs can be ~1000 chars) become their sha256."""
    if len(key) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def booking_key(stored_key: str) -> str:
    """The key of the booking a row belongs to (strips ``#partN`` / ``#rate``)."""
    return _PART_RE.sub("", stored_key)


def hours_to_minutes(hours: float | str) -> int:
    """Whole minutes in ``hours`` (``1.5`` → 90), rounded to the minute."""
    return int((Decimal(str(hours)) * 60).to_integral_value())


def lock_client(session: Session, client_id: int) -> Client | None:
    """The client row, locked for this transaction so bookings for it run one at a time."""
    return session.scalars(
        select(Client)
        .where(Client.id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def is_booked(session: Session, stored_key: str) -> bool:
    return (
        session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.idempotency_key == stored_key).limit(1)
        )
        is not None
    )


# Built once: these run for every mail and every statement, and building a
# statement costs more than SQLite takes to run it. They take a list of
# clients so that a run of statements reads a whole chunk of clients at once.
_BUNDLE_ROWS = (
    select(
        LedgerEntry.client_id,
        LedgerEntry.id,
        LedgerEntry.kind,
        LedgerEntry.at,
        LedgerEntry.minutes,
        LedgerEntry.expires_at,
        LedgerEntry.reference,
    )
    .where(
        LedgerEntry.client_id.in_(bindparam("client_ids", expanding=True)),
        LedgerEntry.kind.in_(BUNDLE_KINDS),
    )
    .order_by(LedgerEntry.at, LedgerEntry.id)
)
_SUMS_BY_BUNDLE = (
    select(LedgerEntry.client_id, LedgerEntry.bundle_id, func.sum(LedgerEntry.minutes))
    .where(LedgerEntry.client_id.in_(bindparam("client_ids", expanding=True)))
    .group_by(LedgerEntry.client_id, LedgerEntry.bundle_id)
)


def _bundles_and_sums(
    session: Session, client_ids: Sequence[int]
) -> dict[int, tuple[list[Bundle], int]]:
    """Per client: its bundles (as :func:`bundles`) and the sum of all its entries.

    Two queries however many clients. The sum per ``bundle_id`` gives both
    what each bundle has left and, over all groups (the NULL group holds the
    bundles themselves and rate-billed work), the balance.
    """
    params = {"client_ids": list(client_ids)}
    sums: dict[int, dict[int | None, int]] = {cid: {} for cid in client_ids}
    for client_id, bundle_id, total in session.execute(_SUMS_BY_BUNDLE, params):
        sums[client_id][bundle_id] = int(total or 0)
    found: dict[int, list[Bundle]] = {cid: [] for cid in client_ids}
    for row in session.execute(_BUNDLE_ROWS, params):
        found[row.client_id].append(
            Bundle(
                id=row.id,
                kind=row.kind,
                at=row.at,
                minutes=row.minutes,
                remaining=row.minutes + sums[row.client_id].get(row.id, 0),
                expires_at=row.expires_at,
                reference=row.reference,
            )
        )
    return {cid: (found[cid], sum(sums[cid].values())) for cid in client_ids}


def bundles(session: Session, client_id: int) -> list[Bundle]:
    """Every bundle of the client with what is left of it, oldest first."""
    return _bundles_and_sums(session, (client_id,))[client_id][0]


def expire_bundles(
    session: Session, client_id: int, now: datetime, current: list[Bundle] | None = None
) -> int:
    """Write off what is left of bundles expired by ``now``; returns the minutes written off.

    ``current`` is the client's :func:`bundles` when the caller has just read
    them (in this transaction), to save reading them again.
    """
    total = 0
    for bundle in bundles(session, client_id) if current is None else current:
        if bundle.expires_at is None or bundle.expires_at > now or bundle.remaining <= 0:
            continue
        key = f"expiry:{bundle.id}"
        if is_booked(session, key):
            continue
        session.add(
            LedgerEntry(
                client_id=client_id,
                at=bundle.expires_at,
                kind="expiry",
                minutes=-bundle.remaining,
                bundle_id=bundle.id,
                reference=bundle.reference,
                note="remainder expired",
                idempotency_key=key,
            )
        )
        total += bundle.remaining
    if total:
        session.flush()
    return total


def balances_before(
    session: Session, client_ids: Sequence[int], *whens: datetime
) -> dict[int, tuple[int, ...]]:
    """Per client, the sum of its entries dated before each of ``whens``, in one query.

    A statement's opening and closing, for a whole chunk of clients at once.
    """
    empty = tuple(0 for _ in whens)
    found = dict.fromkeys(client_ids, empty)
    if not whens or not client_ids:
        return found
    params: dict[str, object] = {f"when_{i}": when for i, when in enumerate(whens)}
    params |= {"client_ids": list(client_ids), "latest": max(whens)}
    for client_id, *totals in session.execute(_balances_before_query(len(whens)), params):
        found[client_id] = tuple(int(total) for total in totals)
    return found


@functools.cache
def _balances_before_query(count: int) -> Select[*tuple[int, ...]]:
    sums = (
        func.coalesce(
            func.sum(case((LedgerEntry.at < bindparam(f"when_{i}"), LedgerEntry.minutes))), 0
        )
        for i in range(count)
    )
    return (
        select(LedgerEntry.client_id, *sums)
        .where(
            LedgerEntry.client_id.in_(bindparam("client_ids", expanding=True)),
            LedgerEntry.at < bindparam("latest"),
        )
        .group_by(LedgerEntry.client_id)
    )


def balance(session: Session, client_id: int, now: datetime) -> Balance:
    """The client's balance at ``now``: due expiries are written off first, then summed.

    Read from the database every time (never cached), in two queries: the
    expiry rows written here are subtracted from the sum read before them.
    """
    return balances(session, (client_id,), now)[client_id]


def balances(session: Session, client_ids: Sequence[int], now: datetime) -> dict[int, Balance]:
    """:func:`balance` for each of ``client_ids``, in two queries however many."""
    found: dict[int, Balance] = {}
    for client_id, (current, total) in _bundles_and_sums(session, client_ids).items():
        total -= expire_bundles(session, client_id, now, current)
        live = tuple(b for b in current if b.live(now))
        found[client_id] = Balance(
            client_id=client_id, minutes=total, bundles=live, had_bundles=bool(current)
        )
    return found


def ticket_billed(session: Session, ticket_id: int) -> int:
    """Minutes billed so far on a ticket (all its work rows), for the quote cap."""
    return -int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
                LedgerEntry.ticket_id == ticket_id, LedgerEntry.kind == "work"
            )
        )
        or 0
    )


def _client_by_key(session: Session, client_key: str) -> Client:
    client = session.scalar(select(Client).where(Client.key == client_key))
    if client is None:
        raise UnknownClient(f"no client {client_key!r} in the database")
    locked = lock_client(session, client.id)
    assert locked is not None
    return locked


def topup(
    session: Session,
    client_key: str,
    minutes: int,
    reference: str,
    expires_at: datetime | None,
    now: datetime,
    *,
    actor: str = "maildesk",
) -> LedgerEntry:
    """Book a purchase of ``minutes`` (a contract or punch card) for the client.

    ``reference`` (the invoice number) makes the purchase idempotent: the same
    reference twice for one client raises :class:`AlreadyBooked`.
    """
    if minutes <= 0:
        raise ValueError(f"a purchase must add time, not {minutes} minutes")
    if not reference.strip():
        raise ValueError("a purchase needs a reference (the invoice number)")
    if expires_at is not None and expires_at <= now:
        raise ValueError(f"the purchase would already be expired ({expires_at.isoformat()})")
    client = _client_by_key(session, client_key)
    key = entry_key(f"purchase:{client_key}:{reference.strip()}")
    if is_booked(session, key):
        raise AlreadyBooked(f"{reference} was already booked for {client_key}")
    expire_bundles(session, client.id, now)
    entry = LedgerEntry(
        client_id=client.id,
        at=now,
        kind="purchase",
        minutes=minutes,
        expires_at=expires_at,
        actor=actor,
        reference=reference.strip(),
        idempotency_key=key,
    )
    session.add(entry)
    session.flush()
    pay_debt(session, client.id, entry, now, actor)
    return entry


def grant_starter(
    session: Session, client: Client, minutes: int, now: datetime
) -> LedgerEntry | None:
    """The client's starter grant, once in its life (an exactly-once marker guards it)."""
    if minutes <= 0 or not claim(session, f"starter_grant:{client.key}", now):
        return None
    entry = LedgerEntry(
        client_id=client.id,
        at=now,
        kind="grant",
        minutes=minutes,
        reference=STARTER_REFERENCE,
        idempotency_key=entry_key(f"grant:starter:{client.key}"),
    )
    session.add(entry)
    session.flush()
    return entry


def grant_starter_hours(session: Session, settings: Settings, now: datetime) -> int:
    """Give each configured client its policy's starter hours if it never had them.

    Meant to run at start-up right after the clients are mirrored into the
    database; booking work does it too, for a client the start-up missed.
    Returns how many clients got a grant now.
    """
    granted = 0
    for cfg in settings.clients:
        minutes = hours_to_minutes(settings.policies[cfg.policy].billing.starter_grant_hours)
        if minutes <= 0:
            continue
        client = session.scalar(select(Client).where(Client.key == cfg.id))
        if client is not None and grant_starter(session, client, minutes, now) is not None:
            granted += 1
    return granted


def has_bundles(session: Session, client_id: int) -> bool:
    """Whether the client was ever sold or granted prepaid hours."""
    return (
        session.scalar(
            select(LedgerEntry.id)
            .where(LedgerEntry.client_id == client_id, LedgerEntry.kind.in_(("purchase", "grant")))
            .limit(1)
        )
        is not None
    )
