"""`maildesk contacts add|edit|remove`: the people of a client kept in the database.

A contact is recognised by its address in the next mail every running daemon
takes in (within a second or two); only authorised contacts draw on prepaid
hours, accept quotes and approve work. Each change is in the client's history.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from maildesk.cli.client_edits import ByOption, KeyArg, actor, editing
from maildesk.cli.common import ConfigOption, JsonOption

app = typer.Typer(help="A client's contacts: who may write in and draw on its hours.")

EmailArg = Annotated[str, typer.Argument(help="The contact's e-mail address.")]
NameOption = Annotated[str | None, typer.Option(help="The person's name.")]
LanguageOption = Annotated[
    str | None, typer.Option(help="en, nl or fr for mail to them ('' for the client's).")
]


@app.command("add")
def contact_add(
    client: KeyArg,
    email: EmailArg,
    name: NameOption = None,
    authorised: Annotated[
        bool,
        typer.Option(
            "--authorised/--not-authorised", help="May draw on the client's hours, accept quotes."
        ),
    ] = False,
    language: LanguageOption = None,
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a contact to a client."""
    from maildesk.store.client_edits import add_contact

    fields = {"email": email, "name": name or "", "authorised": authorised}
    if language:
        fields["language"] = language
    with editing(config) as (session, settings, now):
        contact = add_contact(session, settings, client, fields, actor(by), now)
        address = contact.email
    if as_json:
        typer.echo(json.dumps({"client": client, **fields, "email": address}, indent=2))
        return
    flag = "authorised" if authorised else "not authorised"
    typer.echo(f"added contact {address} to client {client} ({flag})")


@app.command("edit")
def contact_edit(
    email: EmailArg,
    name: NameOption = None,
    authorised: Annotated[
        bool | None, typer.Option("--authorised/--not-authorised", show_default=False)
    ] = None,
    language: LanguageOption = None,
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a contact's name, authorisation or language; prints what changed."""
    from maildesk.store.client_edits import edit_contact

    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if authorised is not None:
        changes["authorised"] = authorised
    if language is not None:
        changes["language"] = language or None
    with editing(config) as (session, settings, now):
        changed = edit_contact(session, settings, email, changes, actor(by), now)
    if as_json:
        typer.echo(json.dumps(changed, indent=2))
        return
    if not changed:
        typer.echo(f"{email}: nothing changed")
    for field, (old, new) in changed.items():
        typer.echo(f"{email}: {field} {old!r} -> {new!r}")


@app.command("remove")
def contact_remove(
    email: EmailArg, by: ByOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Remove a contact: mail from them is a stranger's again (or the domain's)."""
    from maildesk.store.client_edits import remove_contact

    with editing(config) as (session, settings, now):
        key = remove_contact(session, settings, email, actor(by), now)
    if as_json:
        typer.echo(json.dumps({"client": key, "removed": email.strip().lower()}, indent=2))
        return
    typer.echo(f"removed contact {email.strip().lower()} from client {key}")
