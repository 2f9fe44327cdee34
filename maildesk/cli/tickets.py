"""`maildesk tickets`: look at tickets from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast
from zoneinfo import ZoneInfo

import typer

from maildesk.cli.common import ConfigOption, JsonOption, database, fail, load_config

if TYPE_CHECKING:
    from maildesk.core.config import Settings
    from maildesk.store.models import Ticket

app = typer.Typer(help="The ticket queue: list, look at and change tickets.", no_args_is_help=True)
STATUSES = ("open", "awaiting_info", "waiting", "resolved", "closed")
PRIORITIES = ("high", "normal", "low")


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


def _local(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if at else "-"


def _age(created: datetime, now: datetime) -> str:
    minutes = max(0, int((now - created).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return f"{days}d {rest // 60}h"
    return f"{rest // 60}h {rest % 60:02d}m" if rest >= 60 else f"{rest}m"


def _when(text: str, zone: str) -> datetime:
    """``--due-before`` as an aware instant (naive text is local time in ``zone``)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--due-before {text!r} is not a time such as 2026-11-20T17:30", 2)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


def staff_address(settings: Settings, who: str) -> str:
    """A staff member's address from their name, address or the part before the @."""
    wanted = who.strip().lower()
    for member in settings.staff:
        if wanted in (member.name.lower(), member.email, member.email.split("@")[0]):
            return member.email
    return wanted


COLUMNS = ("NUMBER", "CLIENT", "PRIORITY", "STATUS", "ASSIGNEE", "NEXT DUE", "AGE", "SUBJECT")
WIDTHS = (12, 12, 8, 13, 24, 16, 7)


@app.command("list")
def tickets_list(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    status: Annotated[
        list[str] | None,
        typer.Option(help="Only this status (repeat for several; 'active' = not resolved/closed)."),
    ] = None,
    client: Annotated[str | None, typer.Option(help="Only this client's (its id).")] = None,
    priority: Annotated[
        list[str] | None, typer.Option(help="Only this priority (repeat for several).")
    ] = None,
    assignee: Annotated[
        str | None,
        typer.Option(help="Only those assigned to this staff member; 'none': unassigned."),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only tickets past a due time.")
    ] = False,
    due_before: Annotated[
        str | None,
        typer.Option(help="Only tickets with a target due before this (local) time."),
    ] = None,
    sort: Annotated[
        str, typer.Option(help="due (breaches, warnings, then next due), newest or oldest.")
    ] = "newest",
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """The ticket queue, filtered and sorted; next due times in the service's local time."""
    from maildesk.core.clock import SystemClock
    from maildesk.sla.queue import ENDED, QueueFilter, Sort, queue

    settings = load_config(config)
    zone = settings.service.timezone
    if sort not in ("due", "newest", "oldest"):
        fail(f"--sort {sort!r}: choose due, newest or oldest", 2)
    statuses = tuple(status or ())
    if "active" in statuses:
        statuses = tuple(s for s in statuses if s != "active") + tuple(
            s for s in STATUSES if s not in ENDED
        )
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        fail(f"--status {unknown[0]!r}: choose {', '.join(STATUSES)} or active", 2)
    bad = [p for p in priority or () if p not in PRIORITIES]
    if bad:
        fail(f"--priority {bad[0]!r}: choose {', '.join(PRIORITIES)}", 2)
    wanted = QueueFilter(
        statuses=statuses,
        client=client,
        priorities=tuple(priority or ()),
        assignee=None if assignee is None else staff_address(settings, assignee),
        overdue=overdue,
        due_before=_when(due_before, zone) if due_before else None,
        limit=limit,
    )
    now = SystemClock().now()
    db = database(settings)
    try:
        with db.session() as session:
            rows = queue(session, settings, now, wanted, cast("Sort", sort))
    finally:
        db.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "number": r.number,
                        "client": r.client,
                        "priority": r.priority,
                        "status": r.status,
                        "assignee": r.assignee,
                        "next_due": r.next_due.isoformat() if r.next_due else None,
                        "sla": r.sla,
                        "created_at": r.created_at.isoformat(),
                        "requester": r.requester,
                        "subject": r.subject,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        typer.echo("no tickets")
        return
    typer.echo(_line(COLUMNS))
    for r in rows:
        due = _local(r.next_due, zone)
        if r.sla in ("breached", "warning"):
            due += "!" if r.sla == "breached" else "~"
        typer.echo(
            _line(
                (
                    r.number,
                    r.client or "-",
                    r.priority,
                    r.status,
                    r.assignee or "-",
                    due,
                    _age(r.created_at, now),
                    r.subject,
                )
            )
        )


def _line(cells: tuple[str, ...]) -> str:
    parts = [f"{cell:<{width}}" for cell, width in zip(cells, WIDTHS, strict=False)]
    return " ".join([*parts, cells[-1]]).rstrip()


@app.command("show")
def tickets_show(
    number: Annotated[str, typer.Argument(help="The ticket number, e.g. 2026-000042.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one ticket: its SLA state and due times (local), messages and events."""
    from sqlalchemy import select

    from maildesk.core.clock import SystemClock
    from maildesk.sla.queue import sla_state
    from maildesk.store.models import Client, Event, Message, Ticket

    settings = load_config(config)
    zone = settings.service.timezone
    now = SystemClock().now()
    db = database(settings)
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            fail(f"no ticket {number}", 1)
        data = _ticket_row(ticket)
        client = session.get(Client, ticket.client_id) if ticket.client_id else None
        data["client"] = client.key if client else None
        data["assignee"] = ticket.assignee
        data["sla"] = {
            "state": sla_state(ticket, settings, now),
            "response_due": _iso(ticket.response_due_at, zone),
            "resolution_due": _iso(ticket.resolution_due_at, zone),
            "responded_at": _iso(ticket.responded_at, zone),
            "resolved_at": _iso(ticket.resolved_at, zone),
            "paused_since": _iso(ticket.paused_at, zone),
            "timezone": zone,
        }
        data["messages"] = [
            {
                "direction": m.direction,
                "message_id": m.message_id,
                "from": m.sender,
                "to": m.recipients,
                "subject": m.subject,
                "at": _iso(m.created_at, zone),
                "kind": m.disposition,
                "text": m.text,
            }
            for m in session.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            )
        ]
        data["events"] = [
            {"at": _iso(e.at, zone), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in session.scalars(
                select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)
            )
        ]
    db.dispose()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    sla = data["sla"]
    typer.echo(f"ticket {data['number']}: {data['subject']}")
    typer.echo(
        f"  client {data['client'] or '-'}, status {data['status']}, priority {data['priority']}, "
        f"assignee {data['assignee'] or '-'}"
    )
    typer.echo(f"  from {data['requester']}, opened {_local(ticket.created_at, zone)} ({zone})")
    typer.echo(f"  SLA {sla['state']}", nl=False)
    for label, key in (
        ("response due", "response_due"),
        ("resolution due", "resolution_due"),
        ("responded", "responded_at"),
        ("resolved", "resolved_at"),
        ("paused since", "paused_since"),
    ):
        if sla[key]:
            typer.echo(f"; {label} {sla[key][:16].replace('T', ' ')}", nl=False)
    typer.echo("")
    for m in data["messages"]:
        arrow = "<-" if m["direction"] == "in" else "->"
        typer.echo(f"\n{arrow} {m['at'][:16]} {m['from']} ({m['kind']}): {m['subject']}")
        for line in m["text"].strip().splitlines()[:20]:
            typer.echo(f"   | {line}")
    typer.echo("\nevents:")
    for e in data["events"]:
        typer.echo(f"  {e['at'][:16]} {e['kind']} by {e['actor']}")


def _iso(at: datetime | None, zone: str) -> str | None:
    """An instant in the service's local time, ISO 8601 with its offset."""
    return at.astimezone(ZoneInfo(zone)).isoformat() if at else None


# The commands that change a ticket live in their own module and join this group.
from maildesk.cli import ticket_actions  # noqa: E402  (it needs this module's helpers)

ticket_actions.register(app)
