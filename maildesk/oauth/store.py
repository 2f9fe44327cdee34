"""Refresh tokens and cached access tokens, one file per mailbox, readable by us alone.

Files rather than the database: a token cache is what msal and Authlib hand us
as one serialised document, written whenever it changes; owner-only files in an
owner-only folder (0600 in 0700) need no key to manage, and a lost encryption
key would lock every mailbox out just the same as a lost file. The folder is
``<data_dir>/oauth``; each file is ``<mailbox name>.json``. A file written with
wider permissions by hand is refused rather than used.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maildesk.oauth.errors import OAuthError

FOLDER_MODE = 0o700
FILE_MODE = 0o600


class TokenStore:
    """Reads and writes the token files of the mailboxes under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(self.folder.stat().st_mode)
        if mode != FOLDER_MODE:
            self.folder.chmod(FOLDER_MODE)

    def load(self, name: str) -> dict[str, Any]:
        """What was saved for ``name``; empty when nothing was."""
        path = self.path(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            return {}
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise OAuthError(
                f"{path} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"it holds tokens: run `chmod 600 {path}`"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OAuthError(f"{path}: cannot read the saved tokens: {exc}") from None
        return data if isinstance(data, dict) else {}

    def save(self, name: str, data: dict[str, Any]) -> None:
        """Replace what is saved for ``name`` atomically; the file is created 0600."""
        self._ensure_folder()
        path = self.path(name)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Hold ``name``'s lock (``flock``) while its tokens are read, refreshed and saved.

        A rotating refresh token is spent by its first use: two processes (or two
        sources in one) refreshing at once would otherwise both present it, and one
        would be told to log in again.
        """
        self._ensure_folder()
        fd = os.open(self.folder / f".{name}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
