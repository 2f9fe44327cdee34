"""Clients and contacts: mirrored from the config, looked up by address.

Client rows change only here, in :func:`sync_clients` at start-up, so each
process keeps them in memory (:func:`client_info`) instead of reading the
same row again for every mail. The contacts table mirrors the config: intake
recognises a sender from the config itself (``ingest/roles.py``), while
billing mail (statements, balance notices, approvals, quotes) and the CLI read
contacts from here. Everything
about hours is always read from the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
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


def sync_clients(session: Session, clients: tuple[ClientConfig, ...]) -> None:
    """Make the clients and contacts tables say what the config says.

    Clients are never deleted (tickets and the ledger refer to them); a contact
    removed from the config loses its link to the client's hours by losing its
    ``authorised`` flag and its row. The process's copy of the client rows is
    dropped before and after, so it is read again from what was written.

    Processes starting together take turns: on PostgreSQL the table lock makes
    the second wait and then see the first one's rows (SQLite's write
    transactions already take turns); ordinary reads and row locks go on.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE clients IN SHARE ROW EXCLUSIVE MODE"))
    forget_clients(session)
    by_key = {c.key: c for c in session.scalars(select(Client))}
    wanted_emails: set[str] = set()
    for cfg in clients:
        row = by_key.get(cfg.id)
        if row is None:
            row = Client(key=cfg.id, name=cfg.name, language=cfg.language)
            session.add(row)
            session.flush()
        else:
            row.name, row.language = cfg.name, cfg.language
        for contact_cfg in cfg.contacts:
            wanted_emails.add(contact_cfg.email)
            contact = session.scalar(select(Contact).where(Contact.email == contact_cfg.email))
            if contact is None:
                contact = Contact(email=contact_cfg.email, client_id=row.id)
                session.add(contact)
            contact.client_id = row.id
            contact.name = contact_cfg.name
            contact.authorised = contact_cfg.authorised
    for contact in session.scalars(select(Contact)):
        if contact.email not in wanted_emails:
            session.delete(contact)
    forget_clients(session)


def contact_by_email(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email.lower()))


def client_by_id(session: Session, client_id: int) -> Client | None:
    return session.get(Client, client_id)
