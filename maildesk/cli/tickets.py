"""`maildesk tickets`: look at tickets from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import select

from maildesk.cli.common import ConfigOption, JsonOption, database, fail, load_config
from maildesk.store.models import Event, Message, Ticket

app = typer.Typer(help="Look at tickets.", no_args_is_help=True)


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "requester": ticket.requester,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }


@app.command("list")
def tickets_list(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = 50,
) -> None:
    """List tickets, newest first."""
    db = database(load_config(config))
    with db.session() as session:
        rows = [
            _ticket_row(t)
            for t in session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit))
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no tickets")
    for row in rows:
        typer.echo(
            f"{row['number']}  {row['status']:<13} {row['priority']:<7} "
            f"{row['requester']:<30} {row['subject']}"
        )


@app.command("show")
def tickets_show(
    number: Annotated[str, typer.Argument(help="The ticket number, e.g. 2026-000042.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one ticket with its messages and events."""
    db = database(load_config(config))
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            fail(f"no ticket {number}", 1)
        data = _ticket_row(ticket)
        data["messages"] = [
            {
                "direction": m.direction,
                "message_id": m.message_id,
                "from": m.sender,
                "to": m.recipients,
                "subject": m.subject,
                "at": m.created_at.isoformat(),
                "kind": m.disposition,
                "text": m.text,
            }
            for m in session.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            )
        ]
        data["events"] = [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in session.scalars(
                select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)
            )
        ]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"ticket {data['number']}: {data['subject']}")
    typer.echo(
        f"  status {data['status']}, priority {data['priority']}, "
        f"from {data['requester']}, opened {data['created_at']}"
    )
    for m in data["messages"]:
        arrow = "<-" if m["direction"] == "in" else "->"
        typer.echo(f"\n{arrow} {m['at']} {m['from']} ({m['kind']}): {m['subject']}")
        for line in m["text"].strip().splitlines()[:20]:
            typer.echo(f"   | {line}")
    typer.echo("\nevents:")
    for e in data["events"]:
        typer.echo(f"  {e['at']} {e['kind']} by {e['actor']}")
