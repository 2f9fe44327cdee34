"""The SQLite database file: can maildesk write where it lives, and is it still the same file?

Two ways an operator loses mail without a word, caught here. A data folder maildesk
may not write into ends in a driver error deep in SQLAlchemy; it is checked before
the first connection and reported as a configuration problem. A database file
deleted or replaced while maildesk runs (a restore over it, a clean-up script) goes
unnoticed by SQLite itself: open connections keep writing into the old, unlinked
file, so every mail is acknowledged and then lost at the next start. The file's
identity (device and inode) is remembered at the first connection and compared
before every transaction, a ``stat`` call costing microseconds.
"""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Callable
from pathlib import Path

from maildesk.core.config import ConfigError


class DataDirError(ConfigError):
    """maildesk cannot write its database where the configuration puts it."""


class DatabaseFileLost(Exception):
    """The database file was deleted or replaced under a running maildesk."""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"


def check_writable(db_file: Path) -> None:
    """Create the database's folder if needed; raise ``DataDirError`` if it cannot be written.

    SQLite needs to write in the folder itself (its ``-wal`` and ``-shm`` files), not
    only in the database file.
    """
    folder = db_file.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(
            f"cannot create the data folder {folder}: {exc.strerror}; create it and "
            f"let the user maildesk runs as ({_user()}) write in it, or set "
            "service.data_dir (or database.url) to another folder"
        ) from None
    for path, what in ((folder, "data folder"), (db_file, "database file")):
        if path.exists() and not os.access(path, os.W_OK):
            raise DataDirError(
                f"the {what} {path} is not writable by {_user()}: maildesk keeps its SQLite "
                "database there (with its -wal and -shm files); give that user write "
                "access, or set service.data_dir (or database.url) to another folder"
            )


class FileWatch:
    """Remembers which file the database is and notices when it is no longer that file."""

    def __init__(self, db_file: Path) -> None:
        self.path = db_file
        self._identity: tuple[int, int] | None = None
        self._lost: str | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` once, when the file is found gone or replaced."""
        self._listeners.append(callback)

    def _current(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def connected(self) -> None:
        """A connection was opened: remember the file the first time, check it after."""
        with self._lock:
            if self._identity is None and self._lost is None:
                self._identity = self._current()
                return
        self.check()

    def check(self) -> None:
        """Raise ``DatabaseFileLost`` unless the file is still the one first opened."""
        if self._lost is None:
            if self._identity is None:
                return
            current = self._current()
            if current == self._identity:
                return
            how = "deleted" if current is None else "replaced by another file"
            with self._lock:
                first = self._lost is None
                self._lost = (
                    f"the database file {self.path} was {how} while maildesk was running; "
                    "nothing more is taken in. Restore it (or put the right file back) and "
                    "restart maildesk"
                )
            if first:
                for callback in self._listeners:
                    callback(self._lost)
        raise DatabaseFileLost(self._lost)
