"""Intake from an IMAP mailbox; the only module that imports imapclient.

Each poll reads every undeleted mail in the watched folders with
``BODY.PEEK[]`` (so nothing is marked seen by reading), in batches. Every mail
goes through ``Receiver.receive`` — its own database transaction — and only
after that commit is it moved out of the folder: to ``Processed``, or to
``Quarantine`` when it was set aside. A crash between commit and move leaves
the mail in place; the next poll recognises it (source key or Message-ID) and
only moves it. The folder therefore only ever holds mail not yet done.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from maildesk.core.clock import Clock
from maildesk.ingest.context import Outcome, Receipt
from maildesk.store.db import Database
from maildesk.store.mailboxes import record_poll

log = logging.getLogger(__name__)


class MailboxUnavailable(Exception):
    """The IMAP server cannot be reached or refused us; try again later."""


@dataclass(frozen=True)
class ImapAccount:
    """Where to connect and which folders to watch (the password already resolved)."""

    name: str
    host: str
    port: int
    security: str
    username: str
    password: str
    folders: tuple[str, ...] = ("INBOX",)
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: int = 50
    timeout: float = 30.0

    @property
    def label(self) -> str:
        return f"imap://{self.username}@{self.host}:{self.port}"


@dataclass
class PollStats:
    """What one poll did, per outcome."""

    fetched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1


def _batches(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ImapIntake:
    """Polls one IMAP account and hands every mail to ``receive``."""

    def __init__(
        self,
        account: ImapAccount,
        receive: Callable[[bytes, str], Receipt],
        db: Database,
        clock: Clock,
    ) -> None:
        self.account = account
        self.receive = receive
        self.db = db
        self.clock = clock
        self._client: IMAPClient | None = None

    # connection -----------------------------------------------------------

    def _connect(self) -> IMAPClient:
        a = self.account
        try:
            client = IMAPClient(
                a.host,
                port=a.port,
                ssl=a.security == "tls",
                ssl_context=ssl.create_default_context() if a.security != "plain" else None,
                timeout=a.timeout,
            )
            if a.security == "starttls":
                client.starttls(ssl.create_default_context())
            client.login(a.username, a.password)
            for folder in (a.processed_folder, a.quarantine_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                    log.info("%s: created folder %s", a.label, folder)
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"{a.label}: {type(exc).__name__}: {exc}") from exc
        return client

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def close(self) -> None:
        """Log out (best effort); the next poll connects again."""
        if self._client is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                self._client.logout()
            self._client = None

    def has_capability(self, name: str) -> bool:
        return bool(self.client.has_capability(name))

    # polling --------------------------------------------------------------

    def poll(self) -> PollStats:
        """Process everything waiting in the watched folders; raise MailboxUnavailable on errors."""
        stats = PollStats()
        try:
            for folder in self.account.folders:
                self._poll_folder(folder, stats)
        except (IMAPClientError, OSError) as exc:
            self.close()
            raise MailboxUnavailable(f"{self.account.label}: {type(exc).__name__}: {exc}") from exc
        return stats

    def _poll_folder(self, folder: str, stats: PollStats) -> None:
        client = self.client
        info = client.select_folder(folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        uids = sorted(client.search(["UNDELETED"]))
        for batch in _batches(uids, self.account.batch_size):
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            done: dict[str, list[int]] = {}
            try:
                for uid in batch:
                    data = fetched.get(uid)
                    if data is None or b"BODY[]" not in data:
                        continue  # expunged meanwhile by someone else
                    key = f"imap:{self.account.name}:{folder}:{uidvalidity}:{uid}"
                    receipt = self.receive(bytes(data[b"BODY[]"]), key)
                    stats.fetched += 1
                    stats.count(receipt.outcome)
                    log.info(
                        "mail %s from %s/%s uid %d: %s%s",
                        receipt.message_id or "-",
                        self.account.name,
                        folder,
                        uid,
                        receipt.outcome.value,
                        f" ticket {receipt.ticket_number}" if receipt.ticket_number else "",
                    )
                    dest = (
                        self.account.quarantine_folder
                        if receipt.outcome is Outcome.QUARANTINED
                        else self.account.processed_folder
                    )
                    done.setdefault(dest, []).append(uid)
            finally:
                self._move_done(done)
            with self.db.transaction() as session:
                if record_poll(
                    session, self.account.label, folder, uidvalidity, max(batch), self.clock.now()
                ):
                    log.warning(
                        "%s/%s: UIDVALIDITY changed; mail is recognised by Message-ID",
                        self.account.label,
                        folder,
                    )
        if not uids:
            with self.db.transaction() as session:
                record_poll(session, self.account.label, folder, uidvalidity, 0, self.clock.now())

    def _move_done(self, done: dict[str, list[int]]) -> None:
        """Move committed mail out of the folder (MOVE, else COPY + \\Deleted + EXPUNGE)."""
        client = self.client
        for dest, uids in done.items():
            if not uids:
                continue
            if client.has_capability("MOVE"):
                client.move(uids, dest)
            else:
                client.copy(uids, dest)
                client.add_flags(uids, [b"\\Deleted"])
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
                else:
                    client.expunge()
