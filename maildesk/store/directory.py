"""Client rows in memory, and seeding them from the config.

Client rows rarely change (:func:`sync_clients` at start-up, ``maildesk
clients`` edits), so each process keeps them in memory (:func:`client_info`)
instead of reading the same row again for every mail, and drops that copy
whenever the clients are reloaded (``store/client_data.py``). Intake
recognises a sender from the settings (config and database clients together,
``ingest/roles.py``), while billing mail (statements, balance notices,
approvals, quotes) and the CLI read contacts from here. Everything about
hours is always read from the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Engine, select, text
from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.store.models import Client, Contact


@dataclass(frozen=True)
class ClientInfo:
    """A client row as it was read: what mail about a client needs (id, key, name, language)."""

    id: int
    key: str
    name: str
    language: str | None


class _Known:
    """One database's client rows, by id and by key."""

    def __init__(self, rows: list[ClientInfo]) -> None:
        self.by_id = {row.id: row for row in rows}
        self.by_key = {row.key: row for row in rows}

    def add(self, row: ClientInfo) -> ClientInfo:
        self.by_id[row.id] = self.by_key[row.key] = row
        return row


_clients: WeakKeyDictionary[Engine, _Known] = WeakKeyDictionary()
_clients_lock = threading.Lock()
_COLUMNS = (Client.id, Client.key, Client.name, Client.language)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def forget_clients(session: Session) -> None:
    """Drop this process's copy of the client rows of the session's database."""
    with _clients_lock:
        _clients.pop(_engine(session), None)


def _known(session: Session) -> _Known:
    engine = _engine(session)
    known = _clients.get(engine)
    if known is None:
        rows = session.execute(select(*_COLUMNS))
        known = _Known([ClientInfo(r.id, r.key, r.name, r.language) for r in rows])
        with _clients_lock:
            _clients[engine] = known
    return known


def _read_one(session: Session, known: _Known, condition: ColumnElement[bool]) -> ClientInfo | None:
    """A client the copy does not know (added since, by another process's start-up).

    Found, it is remembered; missing, it is not, so it is read again next time.
    """
    row = session.execute(select(*_COLUMNS).where(condition)).first()
    if row is None:
        return None
    return known.add(ClientInfo(row.id, row.key, row.name, row.language))


def client_info(session: Session, client_id: int) -> ClientInfo | None:
    """The client row ``client_id``, from this process's copy (all rows, read on first use)."""
    known = _known(session)
    found = known.by_id.get(client_id)
    return found or _read_one(session, known, Client.id == client_id)


def client_info_by_key(session: Session, key: str) -> ClientInfo | None:
    """The client row with config id ``key``, from this process's copy."""
    known = _known(session)
    found = known.by_key.get(key)
    return found or _read_one(session, known, Client.key == key)


def sync_clients(
    session: Session,
    clients: tuple[ClientConfig, ...],
    now: datetime | None = None,
    source: str = "config",
) -> None:
    """Seed and update the database from the clients the config lists.

    The config wins for the clients it lists: their rows become config-managed
    (``maildesk clients edit`` refuses them) and their contacts are exactly the
    configured ones. A config-managed client no longer in the config is marked
    removed and loses its contacts; clients are never deleted (tickets and
    the ledger refer to them). Clients managed in the database are left alone,
    except for a contact address the config now gives to one of its clients.
    When anything changed, the version row moves (so every process reloads)
    and, given ``now``, each changed client gets a history entry. The
    process's copy of the client rows is dropped before and after.

    Processes starting together take turns: on PostgreSQL the table lock makes
    the second wait and then see the first one's rows (SQLite's write
    transactions already take turns); ordinary reads and row locks go on.
    """
    from maildesk.store.client_data import bump_version, options_of, record

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE clients IN SHARE ROW EXCLUSIVE MODE"))
    forget_clients(session)
    by_key = {c.key: c for c in session.scalars(select(Client))}
    contacts = {c.email: c for c in session.scalars(select(Contact))}
    changed: dict[int, Client] = {}
    configured: set[int] = set()
    wanted_emails: set[str] = set()
    for cfg in clients:
        row = by_key.get(cfg.id)
        if row is None:
            row = Client(key=cfg.id, name=cfg.name, language=cfg.language, options={})
            session.add(row)
            session.flush()
        values = {
            "name": cfg.name,
            "language": cfg.language,
            "managed_by": "config",
            "options": options_of(cfg),
            "removed_at": None,
        }
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed[row.id] = row
        configured.add(row.id)
        for contact_cfg in cfg.contacts:
            wanted_emails.add(contact_cfg.email)
            contact = contacts.get(contact_cfg.email)
            if contact is None:
                contact = Contact(email=contact_cfg.email, client_id=row.id)
                session.add(contact)
            wanted = (row.id, contact_cfg.name, contact_cfg.authorised, contact_cfg.language)
            if (contact.client_id, contact.name, contact.authorised, contact.language) != wanted:
                contact.client_id, contact.name, contact.authorised, contact.language = wanted
                changed[row.id] = row
    by_id = {r.id: r for r in session.scalars(select(Client))}
    for row in by_id.values():
        if row.managed_by == "config" and row.id not in configured and row.removed_at is None:
            row.removed_at = now or datetime.now(UTC)  # callers without a clock: tests
            changed[row.id] = row
    owned_by_config = {r.id for r in by_id.values() if r.managed_by == "config"}
    for contact in contacts.values():
        if contact.client_id in owned_by_config and contact.email not in wanted_emails:
            session.delete(contact)
            changed[contact.client_id] = by_id[contact.client_id]
    if changed:
        session.flush()
        bump_version(session, now)
        if now is not None:
            for row in changed.values():
                record(session, row, "client_synced", source, {"from": source}, now)
    forget_clients(session)


def contact_by_email(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email.lower()))


def client_by_id(session: Session, client_id: int) -> Client | None:
    return session.get(Client, client_id)
