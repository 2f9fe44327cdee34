"""Clients and contacts: mirrored from the config, looked up by address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.store.models import Client, Contact


def sync_clients(session: Session, clients: tuple[ClientConfig, ...]) -> None:
    """Make the clients and contacts tables say what the config says.

    Clients are never deleted (tickets and the ledger refer to them); a contact
    removed from the config loses its link to the client's hours by losing its
    ``authorised`` flag and its row.
    """
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


def contact_by_email(session: Session, email: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.email == email.lower()))


def client_by_id(session: Session, client_id: int) -> Client | None:
    return session.get(Client, client_id)
