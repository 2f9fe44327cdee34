"""`maildesk clients`: the configured clients, their prepaid hours, and top-ups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.ledger import AlreadyBooked, Balance, balance, grant_starter_hours, topup
from maildesk.cli.common import ConfigOption, JsonOption, database, fail, links, load_config
from maildesk.core.clock import SystemClock
from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Settings
from maildesk.core.durations import format_minutes
from maildesk.notify.links import PortalLinks
from maildesk.store.client_data import all_settings
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, Contact, LedgerEntry

app = typer.Typer(help="Clients and their prepaid hours.", no_args_is_help=True)

ClientArg = Annotated[str, typer.Argument(help="The client's id in the config, e.g. acme.")]


@contextmanager
def billing_session(settings: Settings, now: datetime) -> Iterator[Session]:
    """A transaction on a database whose clients mirror the config (as at daemon start-up)."""
    db = database(settings)
    try:
        with db.transaction() as session:
            sync_clients(session, settings.clients, now, settings.source)
            grant_starter_hours(session, settings, now)
            yield session
    finally:
        db.dispose()


def find_client(session: Session, settings: Settings, key: str) -> tuple[ClientConfig, Client]:
    """The client ``key``, from the config or the database, or exit 1 naming the known ids."""
    cfg = settings.client(key)
    if cfg is None:
        settings = all_settings(session, settings)
        cfg = settings.client(key)
    row = session.scalar(select(Client).where(Client.key == key))
    if cfg is None or row is None:
        known = ", ".join(c.id for c in settings.clients) or "none"
        fail(f"no client {key!r} in {settings.source} or the database (clients: {known})", 1)
    return cfg, row


def _balance_view(bal: Balance) -> dict[str, Any]:
    return {
        "minutes": bal.minutes,
        "hours": format_minutes(bal.minutes),
        "owed_minutes": bal.owed,
        "bundles": [
            {
                "kind": b.kind,
                "reference": b.reference,
                "at": b.at.isoformat(),
                "minutes": b.minutes,
                "remaining": b.remaining,
                "expires_at": b.expires_at.isoformat() if b.expires_at else None,
            }
            for b in bal.bundles
        ],
    }


def _print_bundles(view: dict[str, Any]) -> None:
    for b in view["bundles"]:
        expires = f", expires {b['expires_at']}" if b["expires_at"] else ""
        typer.echo(
            f"  {b['kind']:<8} {b['reference'] or '-':<20} {format_minutes(b['remaining'])} "
            f"left of {format_minutes(b['minutes'])} (since {b['at'][:10]}{expires})"
        )


@app.command("list")
def clients_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the clients (config and database) with their contract and balance."""
    settings = load_config(config)
    rows: list[dict[str, Any]] = []
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        settings = all_settings(session, settings)
        for cfg in settings.clients:
            _, row = find_client(session, settings, cfg.id)
            bal = balance(session, row.id, now)
            rows.append(
                {
                    "id": cfg.id,
                    "name": cfg.name,
                    "policy": cfg.policy,
                    "contract": settings.policies[cfg.policy].billing.kind,
                    "balance_minutes": bal.minutes,
                }
            )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"no clients in {settings.source}")
    for r in rows:
        typer.echo(
            f"{r['id']:<16} {r['contract']:<12} {format_minutes(r['balance_minutes']):>14}  "
            f"{r['name']} (policy {r['policy']})"
        )


@app.command("show")
def clients_show(
    client: ClientArg,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    entries: Annotated[int, typer.Option(help="Show this many latest ledger entries.")] = 20,
) -> None:
    """Show a client: contract, contacts, balance, bundles and latest ledger entries."""
    settings = load_config(config)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        cfg, row = find_client(session, settings, client)
        billing = settings.policies[cfg.policy].billing
        data: dict[str, Any] = {
            "id": cfg.id,
            "name": cfg.name,
            "policy": cfg.policy,
            "language": cfg.language or settings.service.language,
            "account_manager": cfg.account_manager,
            "billing": billing.model_dump(mode="json"),
            "contacts": [
                {
                    "email": c.email,
                    "name": c.name,
                    "authorised": c.authorised,
                    "language": c.language,
                }
                for c in session.scalars(
                    select(Contact).where(Contact.client_id == row.id).order_by(Contact.id)
                )
            ],
            "balance": _balance_view(balance(session, row.id, now)),
            "ledger": [
                {
                    "at": e.at.isoformat(),
                    "kind": e.kind,
                    "minutes": e.minutes,
                    "raw_minutes": e.raw_minutes,
                    "reference": e.reference,
                    "actor": e.actor,
                }
                for e in session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == row.id)
                    .order_by(LedgerEntry.id.desc())
                    .limit(entries)
                )
            ],
        }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{data['id']}: {data['name']}")
    b = data["billing"]
    typer.echo(
        f"  policy {data['policy']}: {b['kind']}, unit {b['unit_minutes']} min, "
        f"minimum {b['minimum_minutes']} min, rate {b['hourly_rate']} {b['currency']}/h"
    )
    typer.echo(f"  language {data['language']}, account manager {data['account_manager'] or '-'}")
    for c in data["contacts"]:
        flag = "authorised" if c["authorised"] else "not authorised"
        language = f", writes in {c['language']}" if c["language"] else ""
        typer.echo(f"  contact {c['email']} {c['name']} ({flag}{language})")
    typer.echo(f"balance: {data['balance']['hours']}")
    _print_bundles(data["balance"])
    typer.echo("latest entries:")
    for e in data["ledger"]:
        raw = f" (worked {e['raw_minutes']} min)" if e["kind"] == "work" else ""
        typer.echo(
            f"  {e['at'][:16]} {e['kind']:<10} {e['minutes']:>+6} min{raw} "
            f"{e['reference']} {e['actor']}"
        )


@app.command("balance")
def clients_balance(
    client: ClientArg, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Show a client's prepaid hours left, bundle by bundle (expired remainders written off)."""
    settings = load_config(config)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        _, row = find_client(session, settings, client)
        bal = balance(session, row.id, now)
        view = _balance_view(bal)
    if as_json:
        typer.echo(json.dumps({"client": client, **view}, indent=2))
        return
    if bal.owed:
        typer.echo(
            f"{client}: {format_minutes(bal.owed)} owed beyond the prepaid hours,"
            " paid first by the next purchase"
        )
    else:
        typer.echo(f"{client}: {view['hours']} left")
    _print_bundles(view)


def _minutes(hours: str) -> int:
    try:
        minutes = Decimal(hours.replace(",", ".")) * 60
    except InvalidOperation:
        fail(f"--hours {hours!r} is not a number of hours (e.g. 10 or 2.5)", 2)
    if minutes <= 0 or minutes != minutes.to_integral_value():
        fail(f"--hours {hours!r} must be positive and come to whole minutes", 2)
    return int(minutes)


def _expiry(day: str | None, zone: str) -> datetime | None:
    """The end of ``day`` in the service's zone: the hours can be used through that day."""
    if day is None:
        return None
    try:
        last = date.fromisoformat(day)
    except ValueError:
        fail(f"--expires {day!r} is not a date (write it as 2027-12-31)", 2)
    end = datetime.combine(last + timedelta(days=1), time(0), ZoneInfo(zone))
    return end.astimezone(UTC)


@app.command("topup")
def clients_topup(
    client: ClientArg,
    hours: Annotated[
        str, typer.Option("--hours", help="Hours bought, e.g. 10 or 2.5.", show_default=False)
    ],
    ref: Annotated[
        str,
        typer.Option(
            "--ref",
            help="The invoice or order reference; the same reference is never booked twice.",
            show_default=False,
        ),
    ],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="Last day the hours can be used (YYYY-MM-DD, service time zone). "
            "Default: no expiry.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Book hours a client bought (a contract or punch card).

    Exit status 1 when the client is unknown or the reference was booked before.
    """
    settings = load_config(config)
    minutes = _minutes(hours)
    expires_at = _expiry(expires, settings.service.timezone)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        find_client(session, settings, client)
        try:
            topup(session, client, minutes, ref, expires_at, now, actor="cli")
        except AlreadyBooked as exc:
            fail(str(exc), 1)
        except ValueError as exc:
            fail(str(exc), 2)
        _, row = find_client(session, settings, client)
        left = balance(session, row.id, now).minutes
    typer.echo(
        f"{client}: booked {format_minutes(minutes)} ({ref.strip()}); "
        f"balance now {format_minutes(left)}"
    )


@app.command("link")
def clients_link(
    client: ClientArg,
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact",
            help="The contact the link is for; only an authorised contact's link can "
            "accept or refuse quotes. Without it the page is read-only.",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a fresh signed link to the client's portal page, to send by hand."""
    settings = load_config(config)
    signer = _links(settings)
    now = SystemClock().now()
    email = contact.strip().lower() if contact else None
    with billing_session(settings, now) as session:
        _, row = find_client(session, settings, client)
        if email is not None:
            known = session.scalar(
                select(Contact.email).where(Contact.client_id == row.id, Contact.email == email)
            )
            if known is None:
                fail(f"{email} is not a contact of {client} in {settings.source}", 1)
    url = signer.url(client, email, now)
    expires = now + signer.lifetime
    if as_json:
        typer.echo(
            json.dumps(
                {"url": url, "client": client, "contact": email, "expires_at": expires.isoformat()},
                indent=2,
            )
        )
        return
    typer.echo(url)
    typer.echo(
        f"valid until {expires:%Y-%m-%d %H:%M} UTC, for {email or 'the client (read-only)'}",
        err=True,
    )


@app.command("revoke-links")
def clients_revoke_links(client: ClientArg, config: ConfigOption = None) -> None:
    """Make every portal link of the client sent so far stop working (new ones still do)."""
    settings = load_config(config)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        _, row = find_client(session, settings, client)
        row.links_revoked_at = now
    typer.echo(
        f"{client}: every portal link issued up to {now:%Y-%m-%d %H:%M:%S} UTC is revoked; "
        "the next mail, or `maildesk clients link`, gives a new one"
    )


def _links(settings: Settings) -> PortalLinks:
    signer = links(settings)
    if signer is None:
        fail(
            f"the client portal is off in {settings.source}: set [portal] enabled = true "
            "and base_url, and export the secret named by portal.secret_env",
            2,
        )
    return signer


# Editing clients, and clients as files, live in their own modules and join this group.
from maildesk.cli import client_adjust, client_edits, client_files  # noqa: E402

client_edits.register(app)
client_files.register(app)
client_adjust.register(app)
