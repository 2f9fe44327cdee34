"""`maildesk sla report`: the monthly service figures of every client, the worst first.

The same figures the clients are mailed (``report/figures.py``), so staff see before
a client does which contracts were not kept. Worst first: the lowest share of targets
met, then the most breaches; clients with no target decided in the month come last.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import select

from maildesk.cli.common import ConfigOption, JsonOption, database, fail, load_config
from maildesk.core.durations import format_minutes
from maildesk.report.figures import ClientFigures, Month, TargetCount, client_figures
from maildesk.store.models import Client

__all__ = ["as_json", "report", "worst_first"]


def worst_first(rows: list[ClientFigures]) -> list[ClientFigures]:
    """Lowest share of targets met first, then the most breaches, then by client id."""

    def rank(f: ClientFigures) -> tuple[bool, float, int, str]:
        percent = f.targets.percent
        return (percent is None, percent or 0.0, -len(f.breaches), f.client_key)

    return sorted(rows, key=rank)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _count(count: TargetCount) -> dict[str, Any]:
    return {"met": count.met, "total": count.total, "percent": count.percent}


def as_json(f: ClientFigures) -> dict[str, Any]:
    """One client's figures as plain data (times in UTC, ISO 8601; durations in minutes)."""
    return {
        "client": f.client_key,
        "name": f.client_name,
        "period": f.month.label,
        "received": f.received,
        "resolved": f.resolved,
        "response": _count(f.response),
        "resolution": _count(f.resolution),
        "targets": _count(f.targets),
        "breaches": [
            {
                "ticket": b.number,
                "priority": b.priority,
                "target": b.target,
                "due": _iso(b.due),
                "actual": _iso(b.actual),
                "pauses": [{"start": _iso(p.start), "end": _iso(p.end)} for p in b.pauses],
            }
            for b in f.breaches
        ],
        "worked_minutes": f.worked_minutes,
        "billed_minutes": f.billed_minutes,
        "previous_billed_minutes": f.previous_billed_minutes,
        "left_minutes": f.left_minutes,
        "months_left": f.months_left,
        "satisfaction": f.satisfaction,
    }


def _percent(count: TargetCount) -> str:
    return f"{count.met}/{count.total} ({count.percent:g} %)" if count.percent is not None else "–"


def report(
    period: Annotated[str, typer.Option("--period", help="The month, e.g. 2026-11.")],
    client: Annotated[
        str | None, typer.Option("--client", help="Only this client id.", show_default=False)
    ] = None,
    config: ConfigOption = None,
    as_json_: JsonOption = False,
) -> None:
    """The service figures of each client for one month, the worst first.

    Tickets received and resolved by priority, response and resolution targets met, every
    breach with its due and actual time, time worked and billed, hours left. Exit status 2
    for a bad --period, 1 for an unknown --client.
    """
    try:
        month = Month.parse(period)
    except ValueError as exc:
        fail(f"--period: {exc}", 2)
    settings = load_config(config)
    db = database(settings)
    zone = settings.service.timezone
    with db.session() as session:
        query = select(Client).where(Client.removed_at.is_(None)).order_by(Client.key)
        if client is not None:
            query = query.where(Client.key == client)
        clients = list(session.scalars(query))
        if client is not None and not clients:
            fail(f"no client {client!r}", 1)
        rows = worst_first([client_figures(session, c, month, zone) for c in clients])
    db.dispose()
    if as_json_:
        typer.echo(json.dumps([as_json(f) for f in rows], indent=2, ensure_ascii=False))
        return
    for f in rows:
        typer.echo(f"{f.client_key} ({f.client_name}) {f.month.label}")
        received = ", ".join(f"{p} {n}" for p, n in f.received.items())
        resolved = ", ".join(f"{p} {n}" for p, n in f.resolved.items())
        typer.echo(f"  received: {received}; resolved: {resolved}")
        typer.echo(
            f"  targets met: response {_percent(f.response)}, "
            f"resolution {_percent(f.resolution)}, together {_percent(f.targets)}"
        )
        for b in f.breaches:
            actual = _iso(b.actual) or "still open at the month's end"
            waits = "; ".join(f"waited {_iso(p.start)} – {_iso(p.end) or 'now'}" for p in b.pauses)
            typer.echo(
                f"  breach: {b.number} {b.target} ({b.priority}) due {_iso(b.due) or '–'}, "
                f"actual {actual}" + (f" [{waits}]" if waits else "")
            )
        typer.echo(
            f"  satisfaction: {f.satisfaction.get('satisfied', 0)} satisfied, "
            f"{f.satisfaction.get('unsatisfied', 0)} not satisfied"
        )
        typer.echo(
            f"  worked {format_minutes(f.worked_minutes)}, billed "
            f"{format_minutes(f.billed_minutes)} (month before "
            f"{format_minutes(f.previous_billed_minutes)}), left "
            f"{format_minutes(f.left_minutes)}"
        )
