"""`maildesk inspect FILE.eml`: how maildesk reads a mail and what it would decide."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from maildesk.cli.common import ConfigOption, JsonOption, load_config
from maildesk.core.config import Settings
from maildesk.core.numbers import NumberFormat
from maildesk.ingest.explain import Decisions, decide
from maildesk.ingest.match import judged_pointers
from maildesk.ingest.roles import sender_of
from maildesk.mail.parse import InboundMail, UnparseableMail, parse
from maildesk.store.db import Database, SchemaError


def _mail_view(mail: InboundMail) -> dict[str, Any]:
    return {
        "message_id": mail.message_id,
        "message_id_synthesized": mail.message_id_synthesized,
        "from": mail.sender,
        "from_name": mail.sender_name,
        "to": list(mail.to),
        "cc": list(mail.cc),
        "subject": mail.subject,
        "date": mail.date.isoformat() if mail.date else None,
        "in_reply_to": mail.in_reply_to,
        "references": list(mail.references),
        "content_type": mail.content_type,
        "size": mail.size,
        "sha256": mail.raw_sha256,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "inline": a.inline,
                "sha256": a.sha256,
            }
            for a in mail.attachments
        ],
        "defects": list(mail.defects),
        "from_flags": list(mail.from_flags),
        "text": mail.text,
    }


def _tickets(mail: InboundMail, settings: Settings) -> list[dict[str, Any]] | None:
    """The tickets the mail points at in the config's database, each believed or refused.

    None when there is no database to ask (none yet, or not at this version's
    schema): ``inspect`` never creates or changes one.
    """
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    db = Database(url)
    try:
        db.check_schema()
        with db.session() as session:
            sender = sender_of(session, mail, settings)
            numbers = NumberFormat(settings.tickets.number_format, settings.tickets.subject_tag)
            judged = judged_pointers(session, mail, sender, numbers, settings.service.addresses)
            return [
                {"how": found.how, "ticket": found.ticket.number, "believed": believed}
                for found, believed in judged
            ]
    except (SchemaError, SQLAlchemyError):
        return None
    finally:
        db.dispose()


def inspect(
    file: Annotated[
        Path,
        typer.Argument(
            help="A mail as a .eml file (RFC 5322 bytes).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show how maildesk reads a mail and what it would decide, without storing anything.

    The decisions (classification rule by rule, the sender's role, priority and
    missing information) follow the config given, or the embedded defaults.
    When the config's database exists, each ticket the mail points at (thread
    headers, subject tag, plus-address) is named, believed or refused.

    Exit status 1 when the mail cannot be read (it would be quarantined), with the reason.
    """
    raw = file.read_bytes()
    try:
        mail = parse(raw)
    except UnparseableMail as exc:
        if as_json:
            typer.echo(json.dumps({"parsed": False, "reason": exc.reason}))
        else:
            typer.echo(f"unparseable: {exc.reason} (maildesk would quarantine it)")
        raise typer.Exit(1) from None
    view = _mail_view(mail)
    settings = load_config(config)
    tickets = _tickets(mail, settings)
    if as_json:
        view["decisions"] = asdict(decide(mail, settings))
        view["tickets"] = tickets
        typer.echo(json.dumps({"parsed": True, **view}, indent=2, ensure_ascii=False))
        return
    for key in (
        "message_id",
        "from",
        "from_name",
        "to",
        "cc",
        "subject",
        "date",
        "in_reply_to",
        "references",
        "content_type",
        "size",
    ):
        value = view[key]
        if isinstance(value, list):
            value = ", ".join(value)
        typer.echo(f"{key:>13}: {value}")
    for att in view["attachments"]:
        typer.echo(
            f"   attachment: {att['filename']} ({att['content_type']}, {att['size']} "
            f"bytes{', inline' if att['inline'] else ''})"
        )
    for defect in view["defects"]:
        typer.echo(f"       defect: {defect}")
    for flag in view["from_flags"]:
        typer.echo(f"    from flag: {flag} (may not spend hours or answer quotes)")
    _print_decisions(decide(mail, settings))
    for found in tickets or []:
        verdict = "believed" if found["believed"] else "REFUSED: the sender may not join it"
        typer.echo(f"  ticket:    {found['ticket']} by {found['how']}: {verdict}")
    typer.echo("")
    typer.echo(view["text"].rstrip())


def _print_decisions(d: Decisions) -> None:
    typer.echo("")
    typer.echo("decisions:")
    for name, fired in d.rules:
        typer.echo(f"  rule {name:<16} {'FIRES' if fired else '-'}")
    typer.echo(f"  kind:      {d.kind} (rule {d.deciding_rule}: {d.reason})")
    typer.echo(f"  sender:    {d.role}" + (f" of client {d.client}" if d.client else ""))
    if d.authentication:
        typer.echo(f"  verdict:   {d.authentication}")
    typer.echo(f"  policy:    {d.policy}")
    typer.echo(f"  priority:  {d.priority} ({d.priority_rule})")
    if d.priority_unsure:
        typer.echo(f"  unsure:    {d.priority_unsure}")
    missing = ", ".join(d.missing) if d.missing else "nothing"
    typer.echo(f"  missing:   {missing}")
    for how, value in d.pointers:
        typer.echo(f"  pointer:   {how}: {value}")
    if d.pointers:
        typer.echo(f"  joins:     {d.joins}")
    for item, evidence in d.found.items():
        typer.echo(f"  found:     {item}: {evidence}")
    if d.password_suspected:
        typer.echo("  warning:   the text seems to carry a password")
