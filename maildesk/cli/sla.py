"""`maildesk sla`: when is a report due, and how was a ticket's deadline reached.

Deadlines are what support contracts are disputed over, so both commands answer from
the same code the daemon uses (the policy's business calendar and ``sla.timers``), in the
policy's local time:

- ``sla due`` answers the phone question "if a client reports this now, when must we
  answer and solve it?" for any priority, client and instant;
- ``sla explain`` replays a ticket's events as a timeline: received, clock start, each
  pause and resume with the business minutes counted in between, due times, warnings,
  breaches, pages and acks.

A ``--at`` time without an offset is read as wall-clock time in the policy's time zone.
"""

from __future__ import annotations

import enum
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from maildesk.cli.common import (
    ConfigOption,
    JsonOption,
    database,
    fail,
    load_config,
    with_database_clients,
)
from maildesk.core.clock import SystemClock
from maildesk.core.config import Settings
from maildesk.core.durations import format_minutes
from maildesk.core.localtime import format_local
from maildesk.core.policy import WEEKDAYS, Policy
from maildesk.sla import timers
from maildesk.sla.calendar import BusinessCalendar
from maildesk.sla.clock import calendar_for, targets_for
from maildesk.sla.paging import ticket_policy
from maildesk.store.models import Client, Event, Ticket

F = TypeVar("F", bound=Callable[..., None])

app = typer.Typer(
    help="SLA deadlines: when a report is due, and how a ticket's deadline was reached.",
    no_args_is_help=True,
)


def flowed(doc: str | None) -> str:
    """A docstring as ``--help`` text: paragraphs kept, line breaks inside them joined.

    Typer's rich help keeps every line break of a docstring, which shows as ragged lines.
    """
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def command(typer_app: typer.Typer, name: str) -> Callable[[F], F]:
    """Register ``func`` as command ``name`` of ``typer_app``, its docstring as flowed help."""

    def register(func: F) -> F:
        typer_app.command(name, help=flowed(func.__doc__))(func)
        return func

    return register


class PriorityChoice(enum.StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="An ISO 8601 time, e.g. 2026-11-20T17:30 or 2026-11-20T16:30Z. Without an "
        "offset it is local time in the policy's zone. Default: now.",
        show_default=False,
    ),
]
ClientOption = Annotated[
    str | None,
    typer.Option(
        "--client",
        help="A client id from the config: use that client's policy. Default: the default policy.",
        show_default=False,
    ),
]


def parse_at(text: str | None, tz: str) -> datetime:
    """``--at`` as an aware UTC instant (naive text is wall time in ``tz``); now if None."""
    if text is None:
        return SystemClock().now()
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--at {text!r} is not an ISO 8601 time such as 2026-11-20T17:30", 2)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(ZoneInfo("UTC"))


def _with_database_clients(settings: Settings) -> Settings:
    """The clients kept in the database too, when there is a database to read (else the file's)."""
    from maildesk.store.db import Database, SchemaError

    db = Database(settings.database_url)
    try:
        db.check_schema()
        return with_database_clients(settings, db)
    except (SchemaError, OSError, SQLAlchemyError):
        return settings  # a calculation: the file's clients are enough to answer
    finally:
        db.dispose()


def client_policy(settings: Settings, client: str | None) -> tuple[str, Policy]:
    """The policy name and rules for ``--client`` (exit 2 naming the known ids if unknown)."""
    if client is not None and settings.client(client) is None:
        known = ", ".join(c.id for c in settings.clients) or "none configured"
        fail(f"no client {client!r} in {settings.source} or the database (known: {known})", 2)
    return settings.policy_for(client)


def describe_calendar(policy: Policy) -> str:
    """A one-line summary of a policy's business hours, for people."""
    cal = policy.calendar
    hours = ", ".join(f"{day} {cal.hours[day]}" for day in WEEKDAYS if cal.hours.get(day))
    parts = [cal.timezone, hours or "never open"]
    if cal.holidays:
        region = f"{cal.holidays}-{cal.holiday_subdivision}" if cal.holiday_subdivision else ""
        kinds = " and ".join(cal.holiday_categories)
        parts.append(f"closed on {region or cal.holidays} {kinds} holidays")
    closures = len(cal.closed_dates) + len(cal.closed_ranges)
    if closures:
        parts.append(f"{closures} closure(s)")
    if cal.yearly_closures:
        parts.append(f"closed every year {', '.join(cal.yearly_closures)}")
    return "; ".join(parts)


# -- sla due -------------------------------------------------------------------------------------


@command(app, "due")
def due(
    priority: Annotated[
        PriorityChoice,
        typer.Option("--priority", "-p", help="The report's priority.", show_default=False),
    ],
    client: ClientOption = None,
    at: AtOption = None,
    config: ConfigOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print only {"response_due": ..., "resolution_due": ...}, ISO 8601 in the '
            "calendar's zone.",
        ),
    ] = False,
) -> None:
    """When the response and the resolution are due for a report received at --at.

    Uses the client's policy (or the default policy): its targets for the priority, counted
    in business time over its calendar from the moment the report arrives complete. For
    example a Normal report on Friday 17:30 in an 08:30-18:00 calendar with a 4-hour
    response target is due on Monday at 12:00.
    """
    settings = load_config(config)
    if client is not None and settings.client(client) is None:
        settings = _with_database_clients(settings)
    name, policy = client_policy(settings, client)
    tz = policy.calendar.timezone
    received = parse_at(at, tz)
    cal = calendar_for(policy)
    targets = targets_for(policy, priority.value)
    state = timers.start(cal, targets, received)
    assert state.response_due_at is not None and state.resolution_due_at is not None
    zone = ZoneInfo(tz)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "response_due": state.response_due_at.astimezone(zone).isoformat(),
                    "resolution_due": state.resolution_due_at.astimezone(zone).isoformat(),
                }
            )
        )
        return
    lang = "en"  # the command line speaks English, like its labels
    note = timers.describe_due(cal, received, state.response_due_at)
    typer.echo(f"policy {name}: {describe_calendar(policy)}")
    received_text = format_local(received, tz, lang)
    if note.received_in_hours:
        typer.echo(f"received:       {received_text}, in business hours")
    else:
        why = f" ({note.closed_reason})" if note.closed_reason else ""
        typer.echo(f"received:       {received_text}, outside business hours{why}")
        typer.echo(f"clock starts:   {format_local(note.opens_local, tz, lang)}")
    response, resolution = targets
    typer.echo(
        f"response due:   {format_local(state.response_due_at, tz, lang)} "
        f"({format_minutes(response)} of business time, {priority.value} priority)"
    )
    typer.echo(
        f"resolution due: {format_local(state.resolution_due_at, tz, lang)} "
        f"({format_minutes(resolution)} of business time)"
    )


# -- sla explain ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of a ticket's SLA timeline."""

    at: datetime
    kind: str
    text: str


_TARGETS = ("response", "resolution")


def _when(value: object, zone: ZoneInfo) -> str:
    """An ISO time from an event's detail, as local time for people."""
    if not isinstance(value, str) or not value:
        return "-"
    return local_time(datetime.fromisoformat(value), zone)


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """``Fri 2026-11-20 17:30 CET``: short, unambiguous across DST."""
    return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _dues(detail: dict[str, Any], zone: ZoneInfo) -> str:
    parts = []
    for target in _TARGETS:
        if detail.get(f"{target}_due"):
            parts.append(f"{target} due {_when(detail[f'{target}_due'], zone)}")
        elif detail.get(f"{target}_left") is not None:
            parts.append(f"{target} {format_minutes(int(detail[f'{target}_left']))} left")
    return "; ".join(parts) or "no target running"


def timeline(
    ticket: Ticket, events: list[Event], cal: BusinessCalendar, now: datetime
) -> tuple[list[Step], int]:
    """The SLA steps of ``ticket`` and the business minutes its clock has run until ``now``.

    Every running stretch (start or resume to pause or resolution) is counted over the
    calendar, so the sum shows how the due times were reached.
    """
    zone = ZoneInfo(cal.timezone)
    steps: list[Step] = []
    running_since: datetime | None = None
    counted = 0

    def stop(at: datetime) -> str:
        nonlocal running_since, counted
        if running_since is None:
            return ""
        minutes = cal.business_between(running_since, at)
        counted += minutes
        since = local_time(running_since, zone)
        running_since = None
        return f"; {format_minutes(minutes)} of business time counted since {since}"

    for event in events:
        d = event.detail or {}
        at = event.at
        text: str | None = None
        if event.kind == "ticket_created":
            missing = d.get("missing") or []
            text = f"received from {event.actor}, priority {d.get('priority', '?')}"
            if d.get("priority_rule"):
                text += f" ({d['priority_rule']})"
            if missing:
                text += f"; incomplete, missing {', '.join(missing)}: the clock waits"
            if not cal.is_open(at):
                text += (
                    f"; outside business hours (next opening {local_time(cal.next_open(at), zone)})"
                )
        elif event.kind == "info_complete":
            text = "report complete"
        elif event.kind == "sla_started":
            text = f"clock started: {_dues(d, zone)}"
            if not cal.is_open(at):
                text += f" (counting from {local_time(cal.next_open(at), zone)})"
            running_since = at
        elif event.kind == "sla_paused":
            text = f"clock paused (waiting on the client): {_dues(d, zone)}{stop(at)}"
        elif event.kind == "sla_resumed":
            text = f"clock resumed: {_dues(d, zone)}"
            running_since = at
        elif event.kind == "sla_responded":
            text = "first staff response: the response clock stops"
        elif event.kind == "sla_resolved":
            text = f"resolved: the clock stops{stop(at)}"
        elif event.kind == "sla_reprioritised":
            text = f"due times recomputed for the new priority: {_dues(d, zone)}"
        elif event.kind == "command_priority":
            text = f"priority {d.get('old')} -> {d.get('new')} by {event.actor}"
        elif event.kind == "command_status":
            text = f"status {d.get('old')} -> {d.get('new')} by {event.actor}"
        elif event.kind in ("client_answered", "reopened"):
            text = f"{event.kind.replace('_', ' ')} ({event.actor})"
        elif event.kind == "sla_warning":
            text = (
                f"warning: {d.get('target')} time almost up (due {_when(d.get('due'), zone)}); "
                f"mailed to {', '.join(d.get('to') or []) or 'nobody'}"
            )
        elif event.kind == "sla_breach":
            text = (
                f"BREACH: {d.get('target')} target missed (was due {_when(d.get('due'), zone)}); "
                f"escalation level {d.get('escalation_level')}; "
                f"mailed to {', '.join(d.get('to') or []) or 'nobody'}"
            )
        elif event.kind in ("page", "page_escalated"):
            text = (
                f"paged {d.get('name')} <{d.get('to')}> (level {d.get('level')}, {d.get('reason')})"
            )
        elif event.kind == "page_acked":
            text = f"page acknowledged by {event.actor} ({d.get('how')})"
        elif event.kind == "page_chain_exhausted":
            text = "nobody in the on-call chain acknowledged"
        elif event.kind == "page_nobody":
            text = "should have paged, but nobody is on call"
        elif event.kind == "page_unroutable":
            text = f"on-call entries that name no staff member: {', '.join(d.get('names') or [])}"
        if text is not None:
            steps.append(Step(at, event.kind, text))
    if running_since is not None and now >= running_since:
        since = local_time(running_since, zone)
        minutes = cal.business_between(running_since, now)
        counted += minutes
        steps.append(
            Step(
                now,
                "now",
                f"clock running: {format_minutes(minutes)} of business time counted since {since}",
            )
        )
    return steps, counted


def _stopped(state: timers.SlaState, target: str, zone: ZoneInfo) -> str:
    """Why a target has no minutes left to count."""
    if not state.started:
        return "not started (the report is not complete yet)"
    if target == "response" and state.responded_at is not None:
        return f"stopped: first response {local_time(state.responded_at, zone)}"
    if state.resolved_at is not None:
        return f"stopped: resolved {local_time(state.resolved_at, zone)}"
    return "stopped"


@command(app, "explain")
def explain(
    number: Annotated[str, typer.Argument(help="The ticket number, e.g. 2026-000042.")],
    at: AtOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a ticket's SLA clock as a timeline, in the local time of its policy.

    Received, clock start, each pause and resume with the business time counted in
    between, due times, warnings, breaches, pages and acks; then the targets' state at
    --at (default now). Exit status 1 when there is no such ticket.
    """
    settings = load_config(config)
    db = database(settings)
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            fail(f"no ticket {number}", 1)
        policy = ticket_policy(settings, ticket)
        client = session.get(Client, ticket.client_id) if ticket.client_id else None
        events = list(
            session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))
        )
    cal = calendar_for(policy)
    zone = ZoneInfo(cal.timezone)
    now = parse_at(at, cal.timezone)
    steps, counted = timeline(ticket, events, cal, now)
    state = timers.SlaState.from_record(ticket)
    left = timers.minutes_left(state, cal, now) if state.started else (None, None)
    response_target, resolution_target = targets_for(policy, ticket.priority)
    targets: dict[str, dict[str, Any]] = {}
    for name, due_at, minutes, target in (
        ("response", state.response_due_at, left[0], response_target),
        ("resolution", state.resolution_due_at, left[1], resolution_target),
    ):
        targets[name] = {
            "target_minutes": target,
            "due": due_at.astimezone(zone).isoformat() if due_at else None,
            "left_minutes": minutes,
        }
    if as_json:
        data = {
            "number": ticket.number,
            "subject": ticket.subject,
            "client": client.key if client else None,
            "priority": ticket.priority,
            "status": ticket.status,
            "policy": ticket.policy,
            "timezone": cal.timezone,
            "at": now.astimezone(zone).isoformat(),
            "business_minutes_counted": counted,
            "targets": targets,
            "timeline": [
                {"at": s.at.astimezone(zone).isoformat(), "event": s.kind, "text": s.text}
                for s in steps
            ],
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(f"ticket {ticket.number}: {ticket.subject}")
    typer.echo(
        f"  client {client.name if client else '(none)'}, priority {ticket.priority}, "
        f"status {ticket.status}, policy {ticket.policy}"
    )
    typer.echo(f"  calendar: {describe_calendar(policy)}")
    typer.echo(
        f"  targets: response {format_minutes(response_target)}, resolution "
        f"{format_minutes(resolution_target)} of business time; warning at "
        f"{policy.sla.warn_at_percent} %"
    )
    typer.echo("")
    for step in steps:
        typer.echo(f"  {local_time(step.at, zone)}  {step.text}")
    typer.echo("")
    typer.echo(f"at {local_time(now, zone)}: {format_minutes(counted)} of business time counted")
    for name, info in targets.items():
        minutes = info["left_minutes"]
        if minutes is None:
            status = _stopped(state, name, zone)
        elif minutes < 0:
            status = f"overdue by {format_minutes(-minutes)}"
        else:
            status = f"{format_minutes(minutes)} left"
        due_text = (
            f", due {local_time(datetime.fromisoformat(info['due']), zone)}" if info["due"] else ""
        )
        typer.echo(f"  {name}: {status}{due_text}")


# `sla report` has its own module (the monthly service figures); it joins the group here.
from maildesk.cli.sla_report import report  # noqa: E402

command(app, "report")(report)
