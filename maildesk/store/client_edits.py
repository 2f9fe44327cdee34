"""Adding, changing and removing clients and contacts in the database, each change an event.

Every function here runs in the caller's transaction, checks the change
against the config (its policies, and the clients it manages: those are
changed in the file, never here), records what changed in the client's
history (who, when, old and new values) and raises the version row, so every
running process sees the change at its next check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Contact as ContactConfig
from maildesk.core.config import Settings
from maildesk.store.client_data import as_config, bump_version, options_of, record
from maildesk.store.models import Client, Contact, Event


class EditRefused(Exception):
    """The change is not made; the message says why (shown to the operator as it is)."""


def _problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "value"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _validated(data: dict[str, Any], settings: Settings) -> ClientConfig:
    try:
        cfg = ClientConfig.model_validate(data)
    except ValidationError as exc:
        raise EditRefused(_problem(exc)) from None
    if cfg.policy not in settings.policies:
        known = ", ".join(sorted(settings.policies))
        raise EditRefused(f"policy {cfg.policy!r} is not defined in the config (known: {known})")
    return cfg


def _contact(data: dict[str, Any]) -> ContactConfig:
    try:
        return ContactConfig.model_validate(data)
    except ValidationError as exc:
        raise EditRefused(_problem(exc)) from None


def find_row(session: Session, key: str) -> Client:
    """The client ``key`` (removed ones included), or ``EditRefused``."""
    row = session.scalar(select(Client).where(Client.key == key))
    if row is None:
        raise EditRefused(f"no client {key!r}")
    return row


def _editable(session: Session, settings: Settings, key: str) -> Client:
    row = session.scalar(select(Client).where(Client.key == key))
    if settings.client(key) is not None or (row is not None and row.managed_by == "config"):
        raise EditRefused(
            f"client {key!r} is managed by the config file ({settings.source}): change it "
            "there, then send SIGHUP to maildesk run (or restart it)"
        )
    if row is None:
        raise EditRefused(f"no client {key!r}")
    if row.removed_at is not None:
        raise EditRefused(f"client {key!r} was removed; add it again first")
    return row


def _contacts(session: Session, row: Client) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.client_id == row.id)))


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def add_client(
    session: Session, settings: Settings, fields: dict[str, Any], actor: str, now: datetime
) -> Client:
    """A new client managed in the database (or a removed one brought back)."""
    key = str(fields.get("id", ""))
    if settings.client(key) is not None:
        raise EditRefused(f"client {key!r} is already in the config file ({settings.source})")
    cfg = _validated({**fields, "contacts": ()}, settings)
    row = session.scalar(select(Client).where(Client.key == key))
    if row is not None and row.removed_at is None:
        raise EditRefused(f"client {key!r} exists; change it with `maildesk clients edit`")
    if row is not None and row.erased_at is not None:
        raise EditRefused(f"client {key!r} was erased; choose another id")
    if row is None:
        row = Client(key=key, name=cfg.name)
        session.add(row)
    row.name, row.language, row.options = cfg.name, cfg.language, options_of(cfg)
    row.managed_by, row.removed_at = "db", None
    session.flush()
    detail = {"name": cfg.name, "language": cfg.language, **options_of(cfg)}
    record(session, row, "client_added", actor, detail, now)
    bump_version(session, now)
    return row


def edit_client(
    session: Session,
    settings: Settings,
    key: str,
    changes: dict[str, Any],
    actor: str,
    now: datetime,
) -> dict[str, list[Any]]:
    """Change a database client's name, language or options; returns field: [old, new]."""
    row = _editable(session, settings, key)
    before = as_config(row, []).model_dump(mode="json", exclude={"contacts"})
    cfg = _validated({**before, **changes}, settings)
    after = cfg.model_dump(mode="json", exclude={"contacts"})
    changed = _changed(before, after)
    if not changed:
        return {}
    row.name, row.language, row.options = cfg.name, cfg.language, options_of(cfg)
    record(session, row, "client_edited", actor, changed, now)
    bump_version(session, now)
    return changed


def set_contract_end(
    session: Session,
    settings: Settings,
    key: str,
    ended: datetime | None,
    actor: str,
    now: datetime,
) -> None:
    """Record when the client's contract ended (config clients too: it is bookkeeping)."""
    row = find_row(session, key)
    old = row.contract_ended_at.isoformat() if row.contract_ended_at else None
    row.contract_ended_at = ended
    new = ended.isoformat() if ended else None
    if old != new:
        record(session, row, "contract_end", actor, {"contract_ended_at": [old, new]}, now)


def remove_client(session: Session, settings: Settings, key: str, actor: str, now: datetime) -> int:
    """Stop knowing the client: its contacts go, its tickets and ledger stay. Returns contacts."""
    row = _editable(session, settings, key)
    contacts = _contacts(session, row)
    for contact in contacts:
        session.delete(contact)
    row.removed_at = now
    record(session, row, "client_removed", actor, {"contacts": len(contacts)}, now)
    bump_version(session, now)
    return len(contacts)


def add_contact(
    session: Session,
    settings: Settings,
    key: str,
    fields: dict[str, Any],
    actor: str,
    now: datetime,
) -> Contact:
    """A new contact of a database client; its address must belong to nobody else."""
    row = _editable(session, settings, key)
    wanted = _contact(fields)
    taken = settings.contact(wanted.email)
    if taken is not None and taken[0].id != key:
        raise EditRefused(f"{wanted.email} is already a contact of client {taken[0].id!r}")
    existing = session.scalar(select(Contact).where(Contact.email == wanted.email))
    if existing is not None:
        owner = session.get(Client, existing.client_id)
        raise EditRefused(
            f"{wanted.email} is already a contact of client {owner.key if owner else '?'!r}"
        )
    contact = Contact(
        client_id=row.id,
        email=wanted.email,
        name=wanted.name,
        authorised=wanted.authorised,
        language=wanted.language,
    )
    session.add(contact)
    session.flush()
    record(session, row, "contact_added", actor, wanted.model_dump(mode="json"), now)
    bump_version(session, now)
    return contact


def _contact_row(session: Session, settings: Settings, email: str) -> tuple[Client, Contact]:
    contact = session.scalar(select(Contact).where(Contact.email == email.strip().lower()))
    if contact is None:
        raise EditRefused(f"no contact {email.strip().lower()}")
    row = session.get(Client, contact.client_id)
    assert row is not None
    _editable(session, settings, row.key)
    return row, contact


def edit_contact(
    session: Session,
    settings: Settings,
    email: str,
    changes: dict[str, Any],
    actor: str,
    now: datetime,
) -> dict[str, list[Any]]:
    """Change a contact's name, authorisation or language; returns field: [old, new]."""
    row, contact = _contact_row(session, settings, email)
    before = {
        "email": contact.email,
        "name": contact.name,
        "authorised": contact.authorised,
        "language": contact.language,
    }
    wanted = _contact({**before, **changes, "email": contact.email})
    changed = _changed(before, wanted.model_dump(mode="json"))
    if not changed:
        return {}
    contact.name, contact.authorised, contact.language = (
        wanted.name,
        wanted.authorised,
        wanted.language,
    )
    record(session, row, "contact_edited", actor, {"email": contact.email, **changed}, now)
    bump_version(session, now)
    return changed


def remove_contact(
    session: Session, settings: Settings, email: str, actor: str, now: datetime
) -> str:
    """Remove a contact of a database client; returns the client's id."""
    row, contact = _contact_row(session, settings, email)
    session.delete(contact)
    record(session, row, "contact_removed", actor, {"email": contact.email}, now)
    bump_version(session, now)
    return row.key


def history(session: Session, key: str) -> list[Event]:
    """The client's changes, oldest first."""
    row = find_row(session, key)
    return list(session.scalars(select(Event).where(Event.client_id == row.id).order_by(Event.id)))
