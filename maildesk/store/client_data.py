"""Clients kept in the database, and every process's up-to-date view of all clients.

The database is the record of clients and contacts; the config file may still
list clients, which are seeded into it at start-up (``managed_by = 'config'``)
and win where the two meet. A change to any client or contact raises the one
number in ``directory_version`` in the same transaction. Each process keeps its
settings with every client in memory (so recognising a sender costs no query)
and, at most once a second, compares that number with the one it loaded
(:meth:`ClientDirectory.refresh`): one primary-key read, and a reload of the
clients only when it moved.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Settings
from maildesk.store.directory import forget_clients
from maildesk.store.models import Client, Contact, DirectoryVersion, Event

log = logging.getLogger(__name__)

# The keys of a configured client kept in ``clients.options`` (the rest are columns).
OPTION_KEYS = (
    "policy",
    "domains",
    "match_domain",
    "allow_priority_markers",
    "default_priority",
    "require_authentication",
    "account_manager",
    "timesheet_after_task",
    "weekly_statement",
)


def read_version(session: Session) -> int:
    """The current number of the clients and contacts (0 before any change)."""
    return session.scalar(select(DirectoryVersion.version).where(DirectoryVersion.id == 1)) or 0


def bump_version(session: Session, now: datetime | None) -> None:
    """Say that clients or contacts changed, in the transaction that changed them."""
    done = session.execute(
        update(DirectoryVersion)
        .where(DirectoryVersion.id == 1)
        .values(version=DirectoryVersion.version + 1, changed_at=now)
    )
    if not getattr(done, "rowcount", 1):
        session.add(DirectoryVersion(id=1, version=1, changed_at=now))
        session.flush()


def record(
    session: Session, client: Client, kind: str, actor: str, detail: dict[str, Any], now: datetime
) -> None:
    """One entry in the client's history (``maildesk clients history``)."""
    session.add(Event(client_id=client.id, at=now, kind=kind, actor=actor, detail=detail))


def options_of(cfg: ClientConfig) -> dict[str, Any]:
    """The client's settings that live in ``clients.options``, as JSON values."""
    data = cfg.model_dump(mode="json")
    return {key: data[key] for key in OPTION_KEYS}


def as_config(row: Client, contacts: list[Contact]) -> ClientConfig:
    """The client row and its contacts as the config model (raises ``ValidationError``)."""
    return ClientConfig.model_validate(
        {
            "id": row.key,
            "name": row.name,
            "language": row.language,
            **row.options,
            "contacts": [
                {
                    "email": c.email,
                    "name": c.name,
                    "authorised": c.authorised,
                    "language": c.language,
                }
                for c in sorted(contacts, key=lambda c: c.id)
            ],
        }
    )


def database_clients(session: Session) -> tuple[tuple[ClientConfig, ...], list[str]]:
    """The clients managed in the database (not removed), and the rows that do not validate."""
    rows = session.scalars(
        select(Client)
        .where(Client.managed_by == "db", Client.removed_at.is_(None))
        .order_by(Client.id)
    ).all()
    contacts: dict[int, list[Contact]] = {}
    for contact in session.scalars(
        select(Contact).where(Contact.client_id.in_([r.id for r in rows]))
    ):
        contacts.setdefault(contact.client_id, []).append(contact)
    found: list[ClientConfig] = []
    problems: list[str] = []
    for row in rows:
        try:
            found.append(as_config(row, contacts.get(row.id, [])))
        except ValidationError as exc:
            problems.append(f"client {row.key!r} in the database is left out: {exc}")
    return tuple(found), problems


def all_settings(session: Session, base: Settings) -> Settings:
    """``base`` (from the config file) with the clients kept in the database."""
    clients, problems = database_clients(session)
    merged, more = base.with_clients(clients)
    for problem in problems + more:
        log.warning("%s", problem)
    return merged


class ClientDirectory:
    """One process's settings with every client, reloaded when the version row moves."""

    def __init__(self, base: Settings) -> None:
        self.base = base
        self.current = base
        self.version: int | None = None
        self._lock = threading.Lock()

    def refresh(self, session: Session, *, force: bool = False) -> Settings | None:
        """The new settings when the clients changed (or ``force``), else None.

        The version is read before the clients, so a change committed between
        the two reads is loaded now and once more next time, never missed.
        """
        with self._lock:
            version = read_version(session)
            if version == self.version and not force:
                return None
            return self._load(session, self.base, version)

    def rebase(self, session: Session, base: Settings) -> Settings:
        """Take a new config file's settings (SIGHUP) and load the clients onto them."""
        with self._lock:
            return self._load(session, base, read_version(session))

    def _load(self, session: Session, base: Settings, version: int) -> Settings:
        current = all_settings(session, base)
        self.base, self.current, self.version = base, current, version
        forget_clients(session)
        return current
