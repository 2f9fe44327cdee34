"""`maildesk billing`: what to invoice in a month, and marking it invoiced."""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from maildesk.billing.invoice_files import csv_export, json_export, xlsx_export
from maildesk.billing.invoicing import (
    ClientInvoice,
    invoice_lines,
    mark_invoiced,
    parse_period,
    period_lines,
)
from maildesk.cli.clients import billing_session, find_client
from maildesk.cli.common import ConfigOption, fail, load_config
from maildesk.core.clock import SystemClock
from maildesk.store.client_data import all_settings

app = typer.Typer(help="Invoicing: what is to be invoiced, and what was.", no_args_is_help=True)


@app.command("export")
def billing_export(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="The month, e.g. 2026-11 (days in the statement time zone).",
            show_default=False,
        ),
    ] = None,
    client: Annotated[
        list[str] | None,
        typer.Option("--client", help="Only this client (repeat for more).", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or json (default csv).")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file (default: standard output).",
            show_default=False,
        ),
    ] = None,
    mark_invoiced_as: Annotated[
        str | None,
        typer.Option(
            "--mark-invoiced",
            help="Record the exported lines as invoiced under this reference; "
            "later exports leave them out. A line is never marked twice.",
            show_default=False,
        ),
    ] = None,
    invoice: Annotated[
        str | None,
        typer.Option(
            "--invoice",
            help="Show the lines marked invoiced under this reference instead of a month.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who marks (default: the login name).", show_default=False),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """List what is to be invoiced in a month, per client, with exact amounts.

    Hourly work, quoted work, corrections, time owed beyond a prepaid contract
    and prepaid purchases, with totals per client and overall. Exit status 1 for
    an unknown client or invoice reference, 2 for bad options.
    """
    if fmt not in ("csv", "xlsx", "json"):
        fail(f"--format {fmt!r}: choose csv, xlsx or json", 2)
    if (period is None) == (invoice is None):
        fail("give either --period (a month to invoice) or --invoice (one invoice again)", 2)
    if invoice is not None and mark_invoiced_as is not None:
        fail("--mark-invoiced marks a month's lines; it cannot be used with --invoice", 2)
    if mark_invoiced_as is not None and not mark_invoiced_as.strip():
        fail("--mark-invoiced needs a reference (the invoice number)", 2)
    first = None
    if period is not None:
        try:
            first = parse_period(period)
        except ValueError as exc:
            fail(f"--period {exc}", 2)
    settings = load_config(config)
    now = SystemClock().now()
    with billing_session(settings, now) as session:
        settings = all_settings(session, settings)
        for key in client or ():
            find_client(session, settings, key)
        if first is None:
            assert invoice is not None
            invoices = invoice_lines(session, settings, invoice)
            if not invoices:
                fail(f"no lines were marked invoiced under {invoice.strip()!r}", 1)
            if client:
                invoices = [i for i in invoices if i.client_key in client]
        else:
            invoices = period_lines(session, settings, first, client_keys=client)
            if mark_invoiced_as is not None:
                invoices = _mark(session, invoices, mark_invoiced_as.strip(), now, by)
    name = period or (invoice or "").strip()
    _write(invoices, fmt, output, period, invoice, f"invoicing {name}")


def _mark(
    session: Session, invoices: list[ClientInvoice], reference: str, now: datetime, by: str | None
) -> list[ClientInvoice]:
    """Mark every line; keep only those this run marked (another may have been first)."""
    ids = [line.entry_id for inv in invoices for line in inv.lines]
    marked = mark_invoiced(session, ids, reference, now, by or _login())
    kept: list[ClientInvoice] = []
    for inv in invoices:
        lines = [replace(line, invoice=reference) for line in inv.lines if line.entry_id in marked]
        if lines:
            inv.lines = lines
            kept.append(inv)
    skipped = len(ids) - len(marked)
    typer.echo(
        f"marked {len(marked)} lines invoiced under {reference}"
        + (f"; {skipped} were marked by another run first" if skipped else ""),
        err=True,
    )
    return kept


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _write(
    invoices: list[ClientInvoice],
    fmt: str,
    output: Path | None,
    period: str | None,
    invoice: str | None,
    title: str,
) -> None:
    if fmt == "json":
        data = (json_export(invoices, period=period, invoice=invoice) + "\n").encode("utf-8")
    elif fmt == "xlsx":
        data = xlsx_export(invoices, title)
    else:
        data = csv_export(invoices)
    if output is None:
        if fmt == "xlsx" and sys.stdout.isatty():
            fail("an .xlsx file is binary: write it with --output FILE", 2)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 2)
