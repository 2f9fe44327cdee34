"""`maildesk statements`: look at a client's weekly statement, or queue this week's statements."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from maildesk.billing.mailing import notice_recipients
from maildesk.billing.statements import (
    build_statement,
    last_complete_week,
    parse_week,
    render_statement,
)
from maildesk.billing.weekly import send_weekly_statements
from maildesk.cli.clients import ClientArg, billing_session, find_client
from maildesk.cli.common import (
    ConfigOption,
    database,
    fail,
    links,
    load_config,
    with_database_clients,
)
from maildesk.core.clock import SystemClock
from maildesk.notify.context import MailContext
from maildesk.notify.render import renderer_for

app = typer.Typer(help="Weekly statements of the clients' hours.", no_args_is_help=True)

WeekOption = Annotated[
    str | None,
    typer.Option(
        "--week",
        help="The ISO week, e.g. 2026-W47 (weeks run Monday to Sunday in the statement "
        "time zone). Default: the last complete week.",
        show_default=False,
    ),
]


def _week(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_week(text)
    except ValueError as exc:
        fail(str(exc), 2)


@app.command("preview")
def statements_preview(
    client: ClientArg,
    week: WeekOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write the CSV and .xlsx timesheets into this folder.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print a client's statement as it would be mailed; nothing is sent or marked.

    It shows who would get it and, when the portal is on, carries a fresh link
    to the client's page like the mailed one.
    """
    settings = load_config(config)
    monday = _week(week)
    clock = SystemClock()
    now = clock.now()
    db = database(settings)
    settings = with_database_clients(settings, db)
    db.dispose()
    ctx = MailContext.create(settings, clock, renderer_for(settings.service), links(settings))
    with billing_session(settings, now) as session:
        _, row = find_client(session, settings, client)
        statement = build_statement(
            session,
            settings,
            row,
            monday or last_complete_week(now, settings.service.statement_zone),
            now,
        )
        to = notice_recipients(session, settings, row)
        rendered, attachments = render_statement(ctx, statement, ctx.portal_url(row.key, to))
    typer.echo(f"To: {', '.join(to) or '(nobody: the client has no authorised contact)'}")
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.body.rstrip())
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for attachment in attachments:
            (out / attachment.filename).write_bytes(attachment.data)
            typer.echo(f"wrote {out / attachment.filename}")


@app.command("send")
def statements_send(week: WeekOption = None, config: ConfigOption = None) -> None:
    """Queue the weekly statements that are due (each client's at most once per week).

    Without --week: the last complete week, once its statement is due (the
    configured weekday and hour). With --week: that week, due or not. Queued
    mail is delivered by the running daemon, or by `maildesk run --once`.
    """
    settings = load_config(config)
    monday = _week(week)
    clock = SystemClock()
    with billing_session(settings, clock.now()):
        pass  # the clients mirror the config before statements are made
    db = database(settings)
    settings = with_database_clients(settings, db)
    try:
        ctx = MailContext.create(settings, clock, renderer_for(settings.service), links(settings))
        sent = send_weekly_statements(db, ctx, clock.now(), week=monday)
    finally:
        db.dispose()
    typer.echo(f"queued {sent} statement(s)")
