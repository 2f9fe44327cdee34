"""`maildesk tickets assign|priority|status|close`: what staff commands do by mail.

Each command is read by the same parser as a ``#assign``/``#priority``/``#status``
line in a staff reply and applied by the same function (``ingest.staff.change_ticket``),
so the SLA clock moves exactly as it would by mail; the event records the
operator (``--by``, else the OS user) and ``via: cli``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from maildesk.cli.client_edits import ByOption, actor
from maildesk.cli.common import (
    ConfigOption,
    database,
    fail,
    load_config,
    with_database_clients,
)
from maildesk.cli.tickets import staff_address

NumberArg = Annotated[str, typer.Argument(help="The ticket number, e.g. 2026-000042.")]


def _act(number: str, name: str, value: str, by: str | None, config: ConfigOption) -> None:
    from sqlalchemy import select

    from maildesk.core.clock import SystemClock
    from maildesk.ingest.commands import parse_commands
    from maildesk.ingest.staff import change_ticket
    from maildesk.store.models import Event, Ticket

    parsed = parse_commands(f"#{name} {value}".rstrip())
    if parsed.problems or not parsed.commands:
        problem = parsed.problems[0].message if parsed.problems else f"#{name} {value}"
        fail(problem.replace(f"#{name} takes", f"{name} takes"), 2)
    command = parsed.commands[0]
    settings = load_config(config)
    db = database(settings)
    settings = with_database_clients(settings, db)
    operator = staff_address(settings, by) if by and by.strip() else actor(None)
    now = SystemClock().now()
    try:
        with db.transaction() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is None:
                fail(f"no ticket {number}", 1)
            detail: dict[str, object] = {"line": command.raw, "via": "cli"}
            detail.update(change_ticket(session, settings, ticket, command, operator, now))
            session.add(
                Event(
                    ticket_id=ticket.id,
                    at=now,
                    kind=f"command_{command.name}",
                    actor=operator,
                    detail=detail,
                )
            )
    finally:
        db.dispose()
    shown = {k: v for k, v in detail.items() if k not in ("line", "via")}
    typer.echo(f"{number}: {command.raw} ({', '.join(f'{k} {v}' for k, v in shown.items())})")


def ticket_assign(
    number: NumberArg,
    who: Annotated[str, typer.Argument(help="A staff member's name or address.")],
    by: ByOption = None,
    config: ConfigOption = None,
) -> None:
    """Assign a ticket, as `#assign who` in a staff reply does."""
    _act(number, "assign", who, by, config)


def ticket_priority(
    number: NumberArg,
    priority: Annotated[str, typer.Argument(help="high, normal or low.")],
    by: ByOption = None,
    config: ConfigOption = None,
) -> None:
    """Change a ticket's priority and its SLA targets, as `#priority` does."""
    _act(number, "priority", priority, by, config)


def ticket_status(
    number: NumberArg,
    status: Annotated[str, typer.Argument(help="open, waiting, resolved or closed.")],
    by: ByOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a ticket's status (waiting pauses the clock), as `#status` does."""
    _act(number, "status", status, by, config)


def ticket_close(number: NumberArg, by: ByOption = None, config: ConfigOption = None) -> None:
    """Close a ticket, as `#status closed` does."""
    _act(number, "status", "closed", by, config)


def register(app: typer.Typer) -> None:
    """Add these commands to ``maildesk tickets``."""
    app.command("assign")(ticket_assign)
    app.command("priority")(ticket_priority)
    app.command("status")(ticket_status)
    app.command("close")(ticket_close)
