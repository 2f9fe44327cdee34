"""`maildesk quarantine`: the mail maildesk set aside, and what staff can do with it.

Nothing is ever deleted silently: ``drop`` marks a mail dropped (its raw copy
stays until the blob is purged), ``release`` processes it as if it had just
arrived — for instance once its sender has been registered as a contact.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from sqlalchemy import select

from maildesk.cli.common import (
    ConfigOption,
    JsonOption,
    database,
    fail,
    links,
    load_config,
    with_database_clients,
)
from maildesk.core.clock import SystemClock
from maildesk.ingest.context import PipelineContext
from maildesk.ingest.receive import IntakeUnavailable, Receiver
from maildesk.notify.render import renderer_for
from maildesk.store.blobs import get_blob
from maildesk.store.models import QuarantinedMail

app = typer.Typer(help="Mail set aside: list, show, release or drop it.", no_args_is_help=True)

IdArgument = Annotated[int, typer.Argument(help="The quarantine id shown by `list`.")]


@app.command("list")
def list_held(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    every: Annotated[bool, typer.Option("--all", help="Also released and dropped mail.")] = False,
) -> None:
    """List quarantined mail, newest first (only mail still held unless --all)."""
    db = database(load_config(config))
    with db.session() as session:
        query = select(QuarantinedMail).order_by(QuarantinedMail.id.desc())
        if not every:
            query = query.where(QuarantinedMail.status == "held")
        rows = [
            {
                "id": q.id,
                "status": q.status,
                "reason": q.reason,
                "detail": q.detail,
                "sender": q.sender,
                "subject": q.subject,
                "received_at": q.received_at.isoformat(),
            }
            for q in session.scalars(query)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("quarantine is empty")
    for r in rows:
        typer.echo(
            f"{r['id']:>5}  {r['status']:<8} {r['reason']:<16} {r['sender'] or '-':<30} "
            f"{r['subject']}"
        )


@app.command()
def show(
    qid: IdArgument,
    config: ConfigOption = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the raw mail bytes.")] = False,
) -> None:
    """Show why a mail was set aside (or, with --raw, the mail exactly as it arrived)."""
    db = database(load_config(config))
    with db.session() as session:
        row = session.get(QuarantinedMail, qid)
        if row is None:
            fail(f"no quarantined mail {qid}", 1)
        data = get_blob(session, row.raw_sha256) or b""
        if raw:
            sys.stdout.buffer.write(data)
            return
        typer.echo(f"quarantined mail {row.id} ({row.status})")
        typer.echo(f"  reason:   {row.reason}: {row.detail}")
        typer.echo(f"  from:     {row.sender or '-'}")
        typer.echo(f"  subject:  {row.subject or '-'}")
        typer.echo(f"  received: {row.received_at.isoformat()}")
        typer.echo(f"  size:     {len(data)} bytes (maildesk quarantine show {row.id} --raw)")


@app.command()
def release(qid: IdArgument, config: ConfigOption = None) -> None:
    """Process a held mail as if it had just arrived."""
    settings = load_config(config)
    db = database(settings)
    with db.session() as session:
        row = session.get(QuarantinedMail, qid)
        if row is None:
            fail(f"no quarantined mail {qid}", 1)
        if row.status != "held":
            fail(f"mail {qid} is {row.status}, not held", 1)
        data = get_blob(session, row.raw_sha256)
    if data is None:
        fail(f"the raw copy of mail {qid} is missing", 1)
    settings = with_database_clients(settings, db)
    ctx = PipelineContext.build(
        settings,
        SystemClock(),
        renderer_for(settings.service),
        links(settings),
    )
    try:
        receipt = Receiver(db, ctx).receive(data, f"release:{qid}")
    except IntakeUnavailable as exc:
        fail(str(exc), 1)
    with db.transaction() as session:
        held = session.get(QuarantinedMail, qid)
        assert held is not None
        held.status = "released"
    typer.echo(
        f"released {qid}: {receipt.outcome.value}"
        + (f" ticket {receipt.ticket_number}" if receipt.ticket_number else "")
        + (f" ({receipt.detail})" if receipt.detail else "")
    )


@app.command()
def drop(qid: IdArgument, config: ConfigOption = None) -> None:
    """Mark a held mail as dropped: it stays on record but is no longer listed."""
    db = database(load_config(config))
    with db.transaction() as session:
        row = session.get(QuarantinedMail, qid)
        if row is None:
            fail(f"no quarantined mail {qid}", 1)
        row.status = "dropped"
    typer.echo(f"dropped {qid}")
