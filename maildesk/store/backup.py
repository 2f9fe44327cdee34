"""A consistent copy of the SQLite database, taken while maildesk keeps running.

SQLite's online backup API copies the database page by page under a read
transaction, so writers (the daemon taking in mail) are never blocked for long and
the copy holds each transaction entirely or not at all. The copy is written to a
temporary file beside the target and renamed when complete and checked, so a
failed backup never leaves a half file under the name asked for. PostgreSQL is
backed up with its own tools (``pg_dump``), described in the README.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from maildesk.store.db import Database, sqlite_file


class BackupError(Exception):
    """The backup cannot be made; the message says why."""


@dataclass(frozen=True)
class Backup:
    """What was written."""

    path: Path
    size_bytes: int
    revision: str | None


def backup_sqlite(db: Database, target: Path) -> Backup:
    """Copy ``db`` to ``target`` (which must not exist) with SQLite's online backup API."""
    if sqlite_file(db.url) is None:
        raise BackupError(
            f"{db.safe_url} is not a SQLite file: back up PostgreSQL with pg_dump "
            "(see 'Backups' in the README)"
        )
    target = target.absolute()
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with db.engine.connect() as conn:
            source = conn.connection.driver_connection
            assert isinstance(source, sqlite3.Connection)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                (result,) = copy.execute("PRAGMA quick_check").fetchone()
                if result != "ok":
                    raise BackupError(f"the copy failed its integrity check: {result}")
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                copy.close()
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"cannot write the backup {target}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, db.current_revision())
