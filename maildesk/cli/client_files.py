"""`maildesk clients import FILE.csv` and `maildesk clients export`: clients as a spreadsheet.

The columns are those of ``store/client_import.py: COLUMNS``; an export can be
edited and imported back (its config-managed rows are skipped). An import is
all or nothing: a bad row exits 1 naming its line, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer

from maildesk.cli.client_edits import ByOption, actor, editing
from maildesk.cli.common import ConfigOption, JsonOption, database, fail, load_config


def client_import(
    path: Annotated[Path, typer.Argument(help="A CSV file with a header row.")],
    by: ByOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add and change clients and contacts from a CSV file (one row per contact)."""
    from maildesk.billing.ledger import grant_starter_hours
    from maildesk.store.client_data import all_settings
    from maildesk.store.client_import import COLUMNS, import_rows

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it as UTF-8 text ({exc})", 2)
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("client",) if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problem = f"missing column {missing[0]!r}" if missing else f"unknown column {unknown[0]!r}"
        fail(f"{path}: {problem} (columns: {', '.join(COLUMNS)})", 2)
    rows = [(reader.line_num, dict(row)) for row in reader]
    with editing(config) as (session, settings, now):
        result = import_rows(session, settings, rows, actor(by), now)
        grant_starter_hours(session, all_settings(session, settings), now)
    if as_json:
        typer.echo(json.dumps(result.__dict__, indent=2))
        return
    typer.echo(
        f"{path}: {len(result.clients_added)} client(s) added, "
        f"{len(result.clients_changed)} changed; {len(result.contacts_added)} contact(s) added, "
        f"{len(result.contacts_changed)} changed"
    )
    if result.skipped_config:
        typer.echo(f"  skipped (in the config file): {', '.join(result.skipped_config)}")


def client_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every client (config and database) and its contacts, as CSV (or JSON)."""
    from maildesk.store.client_data import all_settings
    from maildesk.store.client_import import COLUMNS, export_rows

    settings = load_config(config)
    db = database(settings)
    try:
        with db.session() as session:
            rows = export_rows(session, all_settings(session, settings))
    finally:
        db.dispose()
    if as_json:
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(rows)} row(s) to {output}")


def register(app: typer.Typer) -> None:
    """Add these commands to ``maildesk clients``."""
    app.command("import")(client_import)
    app.command("export")(client_export)
