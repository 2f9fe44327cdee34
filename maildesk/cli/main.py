"""The ``maildesk`` command line.

Exit codes: 0 ok, 1 the work failed (a mailbox unreachable, a mail not
found), 2 bad usage or bad configuration.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from maildesk.cli import (
    clients,
    demo,
    inspect,
    mailbox,
    oncall,
    quarantine,
    sla,
    statements,
    status,
    tickets,
)
from maildesk.cli.common import ConfigOption, LogFormat, fail, load_config
from maildesk.core.config import ConfigError
from maildesk.daemon import Maildesk
from maildesk.logs import setup_logging
from maildesk.store.db import Database, SchemaError

log = logging.getLogger("maildesk")

app = typer.Typer(
    help=(
        "maildesk turns a support mailbox into a helpdesk: ticket numbers, required "
        "information, SLA clocks over a business calendar, on-call paging and prepaid hours.\n\n"
        "Without --config (or MAILDESK_CONFIG) it runs on embedded defaults: SQLite under "
        "./var/, mail taken in by its own LMTP listener on 127.0.0.1:8024, outgoing mail "
        "written to the maildir ./var/sent/."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tickets.app, name="tickets")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(clients.app, name="clients")
app.add_typer(statements.app, name="statements")
app.add_typer(sla.app, name="sla")
app.add_typer(oncall.app, name="oncall")
app.add_typer(mailbox.app, name="mailbox")
app.command("inspect")(inspect.inspect)
app.command("status")(status.status)
app.command("demo")(demo.demo)


@app.command()
def run(
    config: ConfigOption = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Process all mail waiting now, deliver the outbox, exit "
            "(for cron and tests). Exit status 1 if a mailbox could not be read.",
        ),
    ] = False,
    log_format: LogFormat = "text",
) -> None:
    """Run the helpdesk: take in mail, open and update tickets, send what is due.

    Stops cleanly on SIGTERM or Ctrl-C, finishing the mail in hand.
    """
    setup_logging(log_format)
    settings = load_config(config)
    try:
        desk = Maildesk(settings)
        desk.prepare()
    except ConfigError as exc:
        fail(str(exc), 2)
    except SchemaError as exc:
        fail(str(exc), 1)
    if settings.source == "embedded defaults":
        log.info(
            "no config file: running on embedded defaults (data in %s, outgoing mail in %s)",
            settings.service.data_dir.resolve(),
            settings.maildir_path.resolve(),
        )
    if once:
        summary = desk.run_once()
        d = summary.delivery
        log.info(
            "done: %d mailbox(es) read, %d mail(s) sent, %d deferred, %d failed",
            len(summary.polled),
            d.sent,
            d.deferred,
            d.failed,
        )
        if summary.errors:
            raise typer.Exit(1)
        return
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():
            log.warning("second signal: stopping now")
            sys.exit(1)
        log.info("signal %s received", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        desk.run_forever(stop)
    except OSError as exc:  # a listener's address is taken or not ours
        fail(str(exc), 1)


@app.command("check-config")
def check_config(config: ConfigOption = None) -> None:
    """Validate the config file and say what maildesk would do with it."""
    settings = load_config(config)
    typer.echo(f"{settings.source}: OK")
    typer.echo(f"  support address: {settings.service.support_address}")
    typer.echo(f"  database: {Database(settings.database_url).safe_url}")
    lst = settings.intake.listener
    if lst.enabled:
        typer.echo(f"  listener: {lst.protocol.upper()} on {lst.host}:{lst.port}")
    for src in settings.intake.imap:
        typer.echo(
            f"  imap {src.name}: {src.username}@{src.host}:{src.port} ({src.security}) "
            f"folders {', '.join(src.folders)}; {mailbox.login_summary(src)}"
        )
    out = settings.outgoing
    if out.transport == "smtp" and out.smtp is not None:
        typer.echo(
            f"  outgoing: SMTP {out.smtp.host}:{out.smtp.port} ({out.smtp.security}); "
            f"{mailbox.login_summary(out.smtp)}"
        )
    else:
        typer.echo(f"  outgoing: maildir {settings.maildir_path}")
    portal = settings.portal
    if portal.enabled:
        typer.echo(
            f"  portal: {portal.base_url} served on {portal.host}:{portal.port}; links valid "
            f"{portal.link_days} days, signed with ${portal.secret_env}"
        )
    typer.echo(f"  staff: {len(settings.staff)}, clients: {len(settings.clients)}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create the schema or bring it up to this version of maildesk (back up first)."""
    settings = load_config(config)
    db = Database(settings.database_url)
    before, after = db.upgrade()
    if before == after:
        typer.echo(f"{db.safe_url}: schema already at {after}")
    else:
        typer.echo(f"{db.safe_url}: schema upgraded from {before or 'empty'} to {after}")


def main() -> None:
    """Entry point of the ``maildesk`` console script."""
    app()
