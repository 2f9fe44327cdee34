"""What every maildesk command shares: options, config loading, failing with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from maildesk.configfile import load_settings, portal_links
from maildesk.core.config import ConfigError, Settings
from maildesk.logs import LogLevel
from maildesk.notify.links import PortalLinks
from maildesk.store.db import Database, SchemaError

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="MAILDESK_CONFIG",
        help="The TOML config file (see config/maildesk.example.toml). "
        "Without one, maildesk runs on embedded defaults.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LogFormat = Annotated[
    str,
    typer.Option(
        "--log-format",
        help="Log lines as 'text' (for people) or 'json' (one object "
        "per line, for log collectors).",
    ),
]
LogLevelOption = Annotated[
    LogLevel | None,
    typer.Option(
        "--log-level",
        envvar="MAILDESK_LOG_LEVEL",
        case_sensitive=False,
        help="Least important log lines shown (default info).",
        show_default=False,
    ),
]


def fail(message: str, code: int) -> NoReturn:
    """Print ``maildesk: message`` on stderr and exit with ``code``."""
    typer.echo(f"maildesk: {message}", err=True)
    raise typer.Exit(code)


def load_config(config: Path | None) -> Settings:
    """The settings, or exit 2 with the config problem."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc), 2)


def open_database(settings: Settings) -> Database:
    """The database, or exit 2 when it cannot be opened (a read-only data folder)."""
    try:
        return Database(settings.database_url)
    except ConfigError as exc:
        fail(str(exc), 2)


def database(settings: Settings) -> Database:
    """The database, or exit 1 when its schema is not this version's (2: cannot open it)."""
    db = open_database(settings)
    try:
        db.check_schema()
    except SchemaError as exc:
        fail(str(exc), 1)
    return db


def with_database_clients(settings: Settings, db: Database) -> Settings:
    """The config's settings plus the clients kept in the database (as the daemon sees them)."""
    from maildesk.store.client_data import all_settings

    with db.session() as session:
        return all_settings(session, settings)


def links(settings: Settings) -> PortalLinks | None:
    """The portal link signer (None when the portal is off), or exit 2 without its secret."""
    try:
        return portal_links(settings)
    except ConfigError as exc:
        fail(str(exc), 2)
