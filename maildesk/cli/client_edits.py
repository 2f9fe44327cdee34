"""`maildesk clients add|edit|remove|history`: clients kept in the database.

A change is made in one transaction with its history entry; running daemons
see it within a second or two, without a restart. Clients the config file
lists are changed in the file (then SIGHUP), and these commands refuse them
with that reason. Refusals exit 1; a bad value (an unknown policy, language
or priority) too, with the key and the problem.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from maildesk.cli.common import ConfigOption, JsonOption, database, fail, load_config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from maildesk.core.config import Settings

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change, for the history (default: your OS user)."),
]
KeyArg = Annotated[str, typer.Argument(help="The client's id, e.g. acme.")]
DomainOption = Annotated[
    list[str] | None,
    typer.Option("--domain", help="A mail domain of the client (repeat for several)."),
]


def actor(by: str | None) -> str:
    """The operator a change is recorded under."""
    if by and by.strip():
        return by.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def editing(config: Any) -> Iterator[tuple[Session, Settings, datetime]]:
    """A transaction for one change; a refusal exits 1 with its reason, nothing written."""
    from maildesk.core.clock import SystemClock
    from maildesk.store.client_edits import EditRefused

    settings = load_config(config)
    db = database(settings)
    try:
        with db.transaction() as session:
            yield session, settings, SystemClock().now()
    except EditRefused as exc:
        fail(str(exc), 1)
    finally:
        db.dispose()


def _fields(
    name: str | None,
    policy: str | None,
    language: str | None,
    domains: list[str] | None,
    match_domain: bool | None,
    default_priority: str | None,
    account_manager: str | None,
    weekly_statement: str | None,
) -> dict[str, Any]:
    given: dict[str, Any] = {
        "name": name,
        "policy": policy,
        "domains": tuple(domains) if domains else None,
        "match_domain": match_domain,
        "default_priority": default_priority,
        "account_manager": account_manager,
        "weekly_statement": weekly_statement,
    }
    out = {k: v for k, v in given.items() if v is not None}
    if language is not None:
        out["language"] = language or None  # '' clears it
    return out


def _day(text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        fail(f"--contract-ended {text!r} is not a date such as 2026-12-31", 2)


def client_add(
    key: KeyArg,
    name: Annotated[str, typer.Option(help="The client's name, as mail shows it.")],
    policy: Annotated[str, typer.Option(help="The policy it follows.")] = "default",
    language: Annotated[str | None, typer.Option(help="en, nl or fr.")] = None,
    domain: DomainOption = None,
    match_domain: Annotated[
        bool, typer.Option(help="Take mail from anyone at its domains.")
    ] = False,
    default_priority: Annotated[str | None, typer.Option(help="high, normal or low.")] = None,
    account_manager: Annotated[str | None, typer.Option(help="Copied on statements.")] = None,
    weekly_statement: Annotated[str | None, typer.Option(help="activity, always or never.")] = None,
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a client (kept in the database; running daemons know it within seconds)."""
    from maildesk.billing.ledger import grant_starter_hours
    from maildesk.store.client_data import all_settings
    from maildesk.store.client_edits import add_client

    fields = {"id": key, "match_domain": match_domain}
    fields |= _fields(
        name, policy, language, domain, None, default_priority, account_manager, weekly_statement
    )
    with editing(config) as (session, settings, now):
        add_client(session, settings, fields, actor(by), now)
        grant_starter_hours(session, all_settings(session, settings), now)
    if as_json:
        typer.echo(json.dumps({"added": key, **fields}, indent=2, default=list))
        return
    typer.echo(f"added client {key}")


def client_edit(
    key: KeyArg,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    policy: Annotated[str | None, typer.Option(help="Another policy.")] = None,
    language: Annotated[str | None, typer.Option(help="en, nl, fr ('' for none).")] = None,
    domain: DomainOption = None,
    match_domain: Annotated[bool | None, typer.Option("--match-domain/--no-match-domain")] = None,
    default_priority: Annotated[str | None, typer.Option(help="high, normal or low.")] = None,
    account_manager: Annotated[str | None, typer.Option(help="Copied on statements.")] = None,
    weekly_statement: Annotated[str | None, typer.Option(help="activity, always or never.")] = None,
    contract_ended: Annotated[
        str | None,
        typer.Option(help="The day the contract ended (YYYY-MM-DD; '' to clear)."),
    ] = None,
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a database client; prints what changed (old -> new)."""
    from maildesk.store.client_edits import edit_client, set_contract_end

    changes = _fields(
        name,
        policy,
        language,
        domain,
        match_domain,
        default_priority,
        account_manager,
        weekly_statement,
    )
    ended = _day(contract_ended)
    with editing(config) as (session, settings, now):
        changed: dict[str, list[Any]] = {}
        if changes:
            changed = edit_client(session, settings, key, changes, actor(by), now)
        if contract_ended is not None:
            set_contract_end(session, settings, key, ended, actor(by), now)
            changed["contract_ended_at"] = [None, ended.isoformat() if ended else None]
    if as_json:
        typer.echo(json.dumps(changed, indent=2))
        return
    if not changed:
        typer.echo(f"client {key}: nothing changed")
    for field, (old, new) in changed.items():
        typer.echo(f"{key}: {field} {old!r} -> {new!r}")


def client_remove(
    key: KeyArg, by: ByOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Remove a database client: its contacts go; its tickets and hours are kept."""
    from maildesk.store.client_edits import remove_client

    with editing(config) as (session, settings, now):
        contacts = remove_client(session, settings, key, actor(by), now)
    if as_json:
        typer.echo(json.dumps({"removed": key, "contacts": contacts}, indent=2))
        return
    typer.echo(f"removed client {key} and its {contacts} contact(s)")


def client_history(key: KeyArg, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every change to a client and its contacts: when, who, what."""
    from maildesk.store.client_edits import EditRefused, history

    settings = load_config(config)
    db = database(settings)
    try:
        with db.session() as session:
            rows: list[dict[str, Any]] = [
                {"at": e.at.isoformat(), "by": e.actor, "kind": e.kind, "detail": e.detail}
                for e in history(session, key)
            ]
    except EditRefused as exc:
        fail(str(exc), 1)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"client {key}: no recorded changes")
    for r in rows:
        typer.echo(f"{r['at'][:19]}  {r['by']:<24} {r['kind']:<16} {json.dumps(r['detail'])}")


def client_erase(
    key: KeyArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a client's personal data (contract end): contacts, mails, attachments, raw mail.

    Kept for the bookkeeping: the ledger, ticket numbers, statuses and dates.
    This cannot be undone. A client the config file lists is refused: remove
    it from the file first.
    """
    from maildesk.store.client_edits import EditRefused, find_row
    from maildesk.store.erase import erase_client

    if not yes and not typer.confirm(
        f"Erase every mail, attachment and contact of client {key}? This cannot be undone"
    ):
        fail(f"client {key} not erased", 1)
    with editing(config) as (session, settings, now):
        row = find_row(session, key)
        if settings.client(key) is not None or (
            row.managed_by == "config" and row.removed_at is None
        ):
            raise EditRefused(
                f"client {key!r} is in the config file ({settings.source}): remove it "
                "there (and send SIGHUP) before erasing it"
            )
        if row.erased_at is not None:
            raise EditRefused(f"client {key!r} was erased on {row.erased_at:%Y-%m-%d}")
        done = erase_client(session, row, actor(by), now)
    if as_json:
        typer.echo(json.dumps(done.__dict__, indent=2))
        return
    typer.echo(
        f"erased client {key}: {done.contacts} contact(s), {done.messages} mail(s) of "
        f"{done.tickets} ticket(s), {done.blobs} stored file(s), {done.quarantined} held "
        f"mail(s), {done.outbox} unsent mail(s); the ledger and ticket numbers are kept"
    )


def register(app: typer.Typer) -> None:
    """Add these commands to ``maildesk clients``."""
    app.command("erase")(client_erase)
    app.command("add")(client_add)
    app.command("edit")(client_edit)
    app.command("remove")(client_remove)
    app.command("history")(client_history)
