"""``maildesk db``: the database's schema and its backups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maildesk.cli.common import ConfigOption, fail, load_config, open_database
from maildesk.store.backup import BackupError, backup_sqlite

app = typer.Typer(help="The database: schema upgrades and backups.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create the schema or bring it up to this version of maildesk (back up first)."""
    settings = load_config(config)
    db = open_database(settings)
    before, after = db.upgrade()
    if before == after:
        typer.echo(f"{db.safe_url}: schema already at {after}")
    else:
        typer.echo(f"{db.safe_url}: schema upgraded from {before or 'empty'} to {after}")


@app.command("backup")
def db_backup(
    path: Annotated[
        Path, typer.Argument(help="The file to write the copy to (must not exist yet).")
    ],
    config: ConfigOption = None,
) -> None:
    """Copy the SQLite database to PATH, consistently, while maildesk keeps running.

    Uses SQLite's online backup API, so mail taken in meanwhile is either in the
    copy or not, never half. For PostgreSQL use pg_dump (see the README). Works on
    any schema version: back up before ``maildesk db upgrade``.
    """
    db = open_database(load_config(config))
    try:
        copied = backup_sqlite(db, path)
    except BackupError as exc:
        fail(str(exc), 2)
    finally:
        db.dispose()
    typer.echo(
        f"{db.safe_url}: copied to {copied.path} ({copied.size_bytes} bytes, "
        f"schema {copied.revision or 'none'})"
    )
