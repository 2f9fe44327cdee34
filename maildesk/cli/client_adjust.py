"""`maildesk clients adjust`: a correction of billed time, booked as a new ledger entry."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from maildesk.billing.corrections import CorrectionRefused, book_correction
from maildesk.billing.ledger import UnknownClient, balance
from maildesk.cli.common import ConfigOption, fail, load_config
from maildesk.core.clock import SystemClock
from maildesk.core.durations import format_minutes
from maildesk.store.client_data import all_settings


def client_adjust(
    client: Annotated[str, typer.Argument(help="The client's id in the config, e.g. acme.")],
    minutes: Annotated[
        int,
        typer.Option(
            "--minutes",
            help="Billed minutes to add (a debit) or, negative, to take back (a credit).",
            show_default=False,
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why: shown to the client beside the correction.", show_default=False
        ),
    ],
    ticket: Annotated[
        str | None,
        typer.Option("--ticket", help="The ticket number it is about.", show_default=False),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who books it (default: the login name).", show_default=False),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Book a correction of billed time (credit or debit); no entry is ever changed.

    Under a prepaid contract it moves hours; under a subscription or hourly
    contract it is billed at the rate (and shows in `maildesk billing export`).
    Exit status 1 for an unknown client or ticket, 2 when it cannot be booked.
    """
    from maildesk.cli.clients import billing_session, find_client

    settings = load_config(config)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        settings = all_settings(session, settings)
        _, row = find_client(session, settings, client)
        try:
            book_correction(
                session,
                settings,
                client,
                minutes,
                reason,
                now,
                actor=(by or _login()).strip() or "cli",
                ticket_number=ticket,
            )
        except UnknownClient as exc:
            fail(str(exc), 1)
        except CorrectionRefused as exc:
            fail(str(exc), 1 if "no ticket" in str(exc) else 2)
        left = balance(session, row.id, now).minutes
    what = "debit" if minutes > 0 else "credit"
    typer.echo(
        f"{client}: booked a {what} of {format_minutes(abs(minutes))} ({' '.join(reason.split())});"
        f" balance now {format_minutes(left)}"
    )


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def register(app: typer.Typer) -> None:
    """Add ``adjust`` to ``maildesk clients``."""
    app.command("adjust")(client_adjust)
