"""``maildesk run``: the helpdesk itself, in the foreground (systemd, Docker, a terminal)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from maildesk.cli.common import ConfigOption, LogFormat, LogLevelOption, fail, load_config
from maildesk.configfile import check_calendars, check_secrets
from maildesk.core.config import ConfigError
from maildesk.daemon import Maildesk
from maildesk.logs import setup_logging
from maildesk.store.db import SchemaError

log = logging.getLogger("maildesk")

#: Exit status when the database file was lost under the running daemon.
DATABASE_LOST = 3


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
    log_level: LogLevelOption = None,
) -> None:
    """Run the helpdesk: take in mail, open and update tickets, send what is due.

    Stops cleanly on SIGTERM or Ctrl-C, finishing the mail in hand. SIGHUP reads
    the config file again (an invalid one is refused and the old one kept). Stops with
    exit status 3 when its SQLite database file is deleted or replaced under it
    (a service manager should not restart it onto a new, empty database).
    """
    setup_logging(log_format, log_level.value if log_level else None)
    settings = load_config(config)
    try:
        check_calendars(settings)
        check_secrets(settings)
        desk = Maildesk(settings)
        desk.prepare()
    except ConfigError as exc:
        fail(str(exc), 2)
    except SchemaError as exc:
        fail(str(exc), 1)
    if settings.source == "embedded defaults":
        log.info(
            "no config file: running on embedded defaults (data in %s, outgoing mail in %s)",
            settings.service.data_dir,
            settings.maildir_path,
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

    def on_hangup(_signum: int, _frame: Any) -> None:
        log.info("signal SIGHUP received: reading %s again", settings.source)
        desk.reload_requested.set()  # the daemon's next check (within a second) reloads

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    try:
        desk.run_forever(stop)
    except OSError as exc:  # a listener's address is taken or not ours
        fail(str(exc), 1)
    if desk.fatal:
        fail(desk.fatal, DATABASE_LOST)
