"""Clients and contacts as CSV rows: ``maildesk clients import`` and ``export``.

One row per contact; a client without contacts has one row with an empty
``email``. The client's columns repeat on each of its rows (the first row of a
client sets them). Importing adds what is new and changes what differs, in one
transaction: a bad row refuses the whole file, naming its line. Rows of a
config-managed client (``managed_by = config`` in an export) are skipped: the
config file is their record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.store.client_edits import (
    EditRefused,
    add_client,
    add_contact,
    edit_client,
    edit_contact,
)
from maildesk.store.models import Client, Contact

COLUMNS = (
    "client",
    "client_name",
    "policy",
    "language",
    "domains",
    "match_domain",
    "email",
    "contact_name",
    "authorised",
    "contact_language",
    "managed_by",
)
_TRUE = {"true", "yes", "1", "y", "ja", "oui"}
_FALSE = {"false", "no", "0", "n", "", "nee", "non"}


@dataclass
class ImportResult:
    """What an import did (nothing when it raised)."""

    clients_added: list[str] = field(default_factory=list)
    clients_changed: list[str] = field(default_factory=list)
    contacts_added: list[str] = field(default_factory=list)
    contacts_changed: list[str] = field(default_factory=list)
    skipped_config: list[str] = field(default_factory=list)


def _flag(value: str, column: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise EditRefused(f"{column}: {value!r} is not yes or no")


def _client_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if row.get("client_name", "").strip():
        fields["name"] = row["client_name"].strip()
    for column, key in (("policy", "policy"), ("language", "language")):
        if row.get(column, "").strip():
            fields[key] = row[column].strip()
    if row.get("domains", "").strip():
        fields["domains"] = tuple(row["domains"].replace(",", " ").split())
    if row.get("match_domain", "").strip():
        fields["match_domain"] = _flag(row["match_domain"], "match_domain")
    return fields


def _contact_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "email": row["email"].strip(),
        "authorised": _flag(row.get("authorised", ""), "authorised"),
    }
    if row.get("contact_name", "").strip():
        fields["name"] = row["contact_name"].strip()
    if row.get("contact_language", "").strip():
        fields["language"] = row["contact_language"].strip()
    return fields


def import_rows(
    session: Session,
    settings: Settings,
    rows: list[tuple[int, dict[str, str]]],
    actor: str,
    now: datetime,
) -> ImportResult:
    """Apply (line number, row) pairs; ``EditRefused`` names the first bad line."""
    result = ImportResult()
    seen: set[str] = set()
    for line, row in rows:
        try:
            key = (row.get("client") or "").strip()
            if not key:
                raise EditRefused("client: empty")
            if row.get("managed_by", "").strip() == "config" or settings.client(key):
                if key not in result.skipped_config:
                    result.skipped_config.append(key)
                continue
            if key not in seen:
                seen.add(key)
                _client(session, settings, key, _client_fields(row), actor, now, result)
            if row.get("email", "").strip():
                _contact(session, settings, key, _contact_fields(row), actor, now, result)
        except EditRefused as exc:
            raise EditRefused(f"line {line}: {exc}") from None
    return result


def _client(
    session: Session,
    settings: Settings,
    key: str,
    fields: dict[str, Any],
    actor: str,
    now: datetime,
    result: ImportResult,
) -> None:
    row = session.scalar(select(Client).where(Client.key == key))
    if row is None or row.removed_at is not None:
        if "name" not in fields:
            raise EditRefused("client_name: needed for a new client")
        add_client(session, settings, {"id": key, **fields}, actor, now)
        result.clients_added.append(key)
    elif fields and edit_client(session, settings, key, fields, actor, now):
        result.clients_changed.append(key)


def _contact(
    session: Session,
    settings: Settings,
    key: str,
    fields: dict[str, Any],
    actor: str,
    now: datetime,
    result: ImportResult,
) -> None:
    email = str(fields["email"]).lower()
    existing = session.scalar(select(Contact).where(Contact.email == email))
    if existing is None:
        add_contact(session, settings, key, fields, actor, now)
        result.contacts_added.append(email)
        return
    owner = session.get(Client, existing.client_id)
    if owner is None or owner.key != key:
        raise EditRefused(f"{email} is a contact of client {owner.key if owner else '?'!r}")
    changes = {k: v for k, v in fields.items() if k != "email"}
    if edit_contact(session, settings, email, changes, actor, now):
        result.contacts_changed.append(email)


def export_rows(session: Session, settings: Settings) -> list[dict[str, str]]:
    """Every known client (config and database) and its contacts, as CSV rows."""
    out: list[dict[str, str]] = []
    managed = {
        r.key: r.managed_by
        for r in session.scalars(select(Client).where(Client.removed_at.is_(None)))
    }
    for cfg in settings.clients:
        base = {
            "client": cfg.id,
            "client_name": cfg.name,
            "policy": cfg.policy,
            "language": cfg.language or "",
            "domains": " ".join(cfg.domains),
            "match_domain": "yes" if cfg.match_domain else "no",
            "managed_by": managed.get(cfg.id, "config"),
        }
        empty = {"email": "", "contact_name": "", "authorised": "", "contact_language": ""}
        if not cfg.contacts:
            out.append({**base, **empty})
        for contact in cfg.contacts:
            out.append(
                {
                    **base,
                    "email": contact.email,
                    "contact_name": contact.name,
                    "authorised": "yes" if contact.authorised else "no",
                    "contact_language": contact.language or "",
                }
            )
    return [{column: row[column] for column in COLUMNS} for row in out]
