"""`maildesk status`: is the helpdesk keeping up? Outbox, quarantine, mailboxes."""

from __future__ import annotations

import json

import typer
from sqlalchemy import func, select

from maildesk.cli.common import ConfigOption, JsonOption, database, load_config
from maildesk.core.clock import SystemClock
from maildesk.notify.delivery import outbox_status
from maildesk.store.health import health_rows
from maildesk.store.mailboxes import mailbox_states
from maildesk.store.models import QuarantinedMail, Ticket


def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show the outbox depth and its oldest unsent mail, quarantine, open tickets, mailboxes."""
    db = database(load_config(config))
    clock = SystemClock()
    out = outbox_status(db, clock)
    with db.session() as session:
        held = (
            session.scalar(
                select(func.count(QuarantinedMail.id)).where(QuarantinedMail.status == "held")
            )
            or 0
        )
        open_tickets = (
            session.scalar(
                select(func.count(Ticket.id)).where(Ticket.status.not_in(("resolved", "closed")))
            )
            or 0
        )
        boxes = [
            {
                "source": s.source,
                "folder": s.folder,
                "uidvalidity": s.uidvalidity,
                "last_uid": s.last_uid,
                "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            }
            for s in mailbox_states(session)
        ]
        sources = [
            {
                "source": h.source,
                "label": h.label,
                "state": h.state,
                "failing_since": h.failing_since.isoformat() if h.failing_since else None,
                "last_success_at": h.last_success_at.isoformat() if h.last_success_at else None,
                "last_error_at": h.last_error_at.isoformat() if h.last_error_at else None,
                "last_error": h.last_error,
                "what_to_do": h.hint,
            }
            for h in health_rows(session)
        ]
    age = out.oldest_pending_age.total_seconds() if out.oldest_pending_age else None
    data = {
        "outbox_pending": out.pending,
        "outbox_failed": out.failed,
        "outbox_oldest_pending_seconds": age,
        "quarantine_held": held,
        "open_tickets": open_tickets,
        "mailboxes": boxes,
        "sources": sources,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(
        f"outbox:     {out.pending} pending"
        + (f", oldest {age:.0f} s" if age is not None else "")
        + f", {out.failed} failed"
    )
    typer.echo(f"quarantine: {held} held (maildesk quarantine list)")
    typer.echo(f"tickets:    {open_tickets} open")
    for box in boxes:
        typer.echo(
            f"mailbox:    {box['source']}/{box['folder']}: last good poll "
            f"{box['last_success_at'] or 'never'}"
        )
    for src in sources:
        typer.echo(
            f"source:     {src['source']} ({src['label']}): {src['state']}, last success "
            f"{src['last_success_at'] or 'never'}"
        )
        if src["state"] != "ok":
            typer.echo(f"            failing since {src['failing_since']}: {src['last_error']}")
            if src["what_to_do"]:
                typer.echo(f"            what to do: {src['what_to_do']}")
