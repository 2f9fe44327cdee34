"""``maildesk check-config``: validate the config and say what maildesk would do with it."""

from __future__ import annotations

from typing import Any

import typer

from maildesk.cli.common import ConfigOption, fail, load_config
from maildesk.configfile import check_calendars, missing_secrets
from maildesk.core.config import ConfigError
from maildesk.store.db import Database


def check_config(config: ConfigOption = None) -> None:
    """Validate the config file and say what maildesk would do with it.

    Also builds each policy's business calendar, and checks that every secret the
    config names (``*_env``) is set in the environment, listing all that are not
    (exit status 2).
    """
    from maildesk.cli.mailbox import login_summary

    settings = load_config(config)
    try:
        check_calendars(settings)
    except ConfigError as exc:
        fail(str(exc), 2)
    missing = missing_secrets(settings)
    if missing:
        fail(
            f"{settings.source}: {len(missing)} secret(s) not set in the environment:\n  "
            + "\n  ".join(missing),
            2,
        )
    typer.echo(f"{settings.source}: OK")
    typer.echo(f"  support address: {settings.service.support_address}")
    typer.echo(f"  data folder: {settings.service.data_dir}")
    typer.echo(f"  database: {Database.describe(settings.database_url)}")
    lst = settings.intake.listener
    if lst.enabled:
        typer.echo(f"  listener: {lst.protocol.upper()} on {lst.host}:{lst.port}")
    for src in settings.intake.imap:
        typer.echo(
            f"  imap {src.name}: {src.username}@{src.host}:{src.port} ({src.security}) "
            f"folders {', '.join(src.folders)}; {login_summary(src)}"
        )
    out = settings.outgoing
    if out.transport == "smtp" and out.smtp is not None:
        typer.echo(
            f"  outgoing: SMTP {out.smtp.host}:{out.smtp.port} ({out.smtp.security}); "
            f"{login_summary(out.smtp)}"
        )
    else:
        typer.echo(f"  outgoing: maildir {settings.maildir_path}")
    portal = settings.portal
    if portal.enabled:
        typer.echo(
            f"  portal: {portal.base_url} served on {portal.host}:{portal.port}; links valid "
            f"{portal.link_days} days, signed with ${portal.secret_env}"
        )
    typer.echo(f"  staff: {len(settings.staff)}")
    typer.echo(
        f"  clients in this file: {len(settings.clients)} (seeded into the database at start "
        "and on SIGHUP; change them here, the CLI refuses them)"
    )
    typer.echo(f"  clients in the database: {_database_clients(settings)}")
    if settings.digest.enabled:
        when = settings.digest.time or "when business hours start"
        typer.echo(f"  queue digest: {when}, to {', '.join(settings.digest.staff) or 'all staff'}")
    ops = settings.ops
    told = ops.operator_address or (
        f"the {len(settings.staff)} staff"
        if settings.staff
        else "nobody (set ops.operator_address)"
    )
    typer.echo(
        f"  alerts: to {told} after {ops.alert_after_minutes:g} min of a mailbox or of "
        "outgoing delivery failing"
    )
    from maildesk.core.clock import SystemClock
    from maildesk.sla.policy import closures_running_out

    for warning in closures_running_out(settings.policies, SystemClock().now().date()):
        typer.echo(f"  warning: {warning}")


def _database_clients(settings: Any) -> str:
    """How many clients the database adds to the file's, or why that is unknown."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from maildesk.store.client_data import database_clients
    from maildesk.store.db import SchemaError

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return "none yet (no database file; it is created at the first start)"
    db = Database(settings.database_url)
    try:
        db.check_schema()
        with db.session() as session:
            clients, problems = database_clients(session)
    except SchemaError as exc:
        return f"unknown ({exc})"
    except Exception as exc:  # unreachable database: check-config still checks the file
        return f"unknown (database unavailable: {type(exc).__name__})"
    finally:
        db.dispose()
    extra = f"; {len(problems)} left out: {'; '.join(problems)}" if problems else ""
    return f"{len(clients)} (maildesk clients add|edit|import){extra}"
