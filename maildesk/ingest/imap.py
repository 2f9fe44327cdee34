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
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from maildesk.core.clock import Clock
from maildesk.core.login_words import refused_words
from maildesk.ingest.context import Outcome, Receipt
from maildesk.ingest.folders import Namespace, create_failed_hint, place
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.source import TokenSource
from maildesk.store.db import Database
from maildesk.store.mailboxes import record_poll

log = logging.getLogger(__name__)

# Servers drop an IDLE after 30 minutes (RFC 2177); re-issue it well before.
IDLE_RENEW_SECONDS = 25 * 60
# How often a waiting IDLE looks at the stop flag, so shutdown is prompt.
IDLE_CHECK_SECONDS = 1.0


class MailboxUnavailable(Exception):
    """The IMAP server cannot be reached or refused us; try again later.

    ``hint`` says in words what an operator can do about it; it goes into the
    health record, ``maildesk status`` and the alert mail.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def _unavailable(account: ImapAccount, exc: BaseException) -> MailboxUnavailable:
    """The outage as maildesk reports it: what happened, and what to do about it."""
    where = f"{account.host}:{account.port}"
    if isinstance(exc, LoginError):
        hint = (
            f"the server refused the login of {account.username!r}: check the username and "
            f"the password of mailbox {account.name!r} (its password_env variable); a "
            "provider that switched off password login needs OAuth2"
        )
    elif isinstance(exc, ssl.SSLError):
        hint = (
            f"the TLS handshake with {where} failed: check security ('tls' for port 993, "
            "'starttls' for 143) and that the server's certificate is valid for this host name"
        )
    elif isinstance(exc, ConnectionRefusedError):
        hint = f"nothing answers on {where}: check host and port, and that the server is up"
    elif isinstance(exc, TimeoutError):  # socket.timeout too
        hint = f"{where} did not answer in time: check the network path and firewall"
    elif isinstance(exc, OSError):
        hint = f"the connection to {where} failed: check the network and the host name"
    else:
        hint = "the server refused a command; its answer is in the error above"
    return MailboxUnavailable(f"{account.label}: {type(exc).__name__}: {exc}", hint)


class LoginRefused(MailboxUnavailable):
    """The server or the token provider refused the credentials: a person must act."""


@dataclass(frozen=True)
class ImapAccount:
    """Where to connect and which folders to watch (the password already resolved).

    With ``token`` set the login is OAuth2 (XOAUTH2 or OAUTHBEARER) and
    ``password`` is unused.
    """

    name: str
    host: str
    port: int
    security: str
    username: str
    password: str | None
    folders: tuple[str, ...] = ("INBOX",)
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: int = 50
    timeout: float = 30.0
    token: TokenSource | None = None
    password_env: str | None = None

    @property
    def label(self) -> str:
        return f"imap://{self.username}@{self.host}:{self.port}"


def open_session(a: ImapAccount) -> IMAPClient:
    """A connection, secured as configured and logged in; closed again if the login fails."""
    client = IMAPClient(
        a.host,
        port=a.port,
        ssl=a.security == "tls",
        ssl_context=ssl.create_default_context() if a.security != "plain" else None,
        timeout=a.timeout,
    )
    try:
        if a.security == "starttls":
            client.starttls(ssl.create_default_context())
        _login(a, client)
    except BaseException:
        with contextlib.suppress(IMAPClientError, OSError):
            client.shutdown()
        raise
    return client


def _login(a: ImapAccount, client: IMAPClient) -> None:
    """Log in with the password, or with an access token over XOAUTH2 / OAUTHBEARER.

    A refused token is forgotten, so the next attempt asks the provider for a
    new one instead of presenting the same again.
    """
    try:
        if a.token is None:
            client.login(a.username, a.password or "")
            return
        mechanism = a.token.mechanism.upper()
        if not client.has_capability(f"AUTH={mechanism}"):
            offered = sorted(
                c.decode()[5:] for c in client.capabilities() if c.startswith(b"AUTH=")
            )
            raise LoginRefused(
                f"{a.label}: the server does not offer {mechanism} (it offers: "
                f"{', '.join(offered) or 'no SASL mechanism'}); set mechanism in the "
                "oauth2 block to one it offers, or check the host",
                f"set mechanism in the oauth2 block of mailbox {a.name!r} to one the server "
                "offers, or check the host",
            )
        try:
            token = a.token.access_token()
        except OAuthError as exc:
            raise LoginRefused(f"{a.label}: {exc}", str(exc)) from exc
        if a.token.mechanism == "oauthbearer":
            client.oauthbearer_login(a.username, token)
        else:
            client.oauth2_login(a.username, token)
    except LoginError as exc:
        if a.token is not None:
            a.token.invalidate()
        how = a.token.mechanism if a.token else "password"
        words = refused_words(a.host, a.username, how, a.password_env, str(exc))
        raise LoginRefused(f"{a.label}: {words}", words) from exc


def check_mailbox(a: ImapAccount) -> list[tuple[str, bool]]:
    """Connect and log in, then say which of the folders it will use exist.

    For ``maildesk mailbox check``: nothing is created, moved or fetched.
    """
    try:
        client = open_session(a)
        try:
            names = [*a.folders, a.processed_folder, a.quarantine_folder]
            return [(f, bool(client.folder_exists(f))) for f in names]
        finally:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()
    except (IMAPClientError, OSError) as exc:
        raise MailboxUnavailable(f"{a.label}: {type(exc).__name__}: {exc}") from exc


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
        # The folders' names on this server, once known (see ``_place_folders``).
        self.folders = account.folders
        self.processed_folder = account.processed_folder
        self.quarantine_folder = account.quarantine_folder
        # Per folder, how many mails the last poll left there (moves that failed).
        self._left_in: dict[str, int] = {}

    # connection -----------------------------------------------------------

    def _connect(self) -> IMAPClient:
        a = self.account
        try:
            client = open_session(self.account)
            self._place_folders(client)
        except (IMAPClientError, OSError) as exc:
            raise _unavailable(a, exc) from exc
        return client

    def _place_folders(self, client: IMAPClient) -> None:
        """Find ``Processed`` and ``Quarantine`` in the server's namespace; create them."""
        a = self.account
        namespace = _personal_namespace(client)
        self.folders = tuple(place(folder, namespace) for folder in a.folders)
        self.processed_folder = place(a.processed_folder, namespace)
        self.quarantine_folder = place(a.quarantine_folder, namespace)
        for folder in (self.processed_folder, self.quarantine_folder):
            if client.folder_exists(folder):
                continue
            try:
                client.create_folder(folder)
            except IMAPClientError as exc:
                with contextlib.suppress(IMAPClientError, OSError):
                    client.logout()
                raise MailboxUnavailable(
                    f"{a.label}: cannot create folder {folder!r}: the server answered: {exc}",
                    create_failed_hint(folder, namespace),
                ) from exc
            log.info("%s: created folder %s", a.label, folder)

    def watched_folders(self) -> tuple[str, ...]:
        """The watched folders' names on this server (connecting first to learn them)."""
        _ = self.client
        return self.folders

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

    def wait_for_mail(self, stop: threading.Event, timeout: float) -> None:
        """Return when new mail may be there, after ``timeout`` seconds, or on ``stop``."""
        try:
            folders = self.watched_folders()
            if len(folders) != 1 or not self.client.has_capability("IDLE"):
                stop.wait(timeout)
                return
            client = self.client
            info = client.select_folder(folders[0])
            if int(info.get(b"EXISTS", 0)) > self._left_in.get(folders[0], 0):
                return  # mail arrived between the poll and now: IDLE would not report it
            client.idle()
            try:
                deadline = time.monotonic() + min(timeout, IDLE_RENEW_SECONDS)
                while not stop.is_set() and time.monotonic() < deadline:
                    asked = time.monotonic()
                    responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                    if _server_gone(responses, time.monotonic() - asked):
                        raise OSError("the server closed the connection during IDLE")
                    if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                        return
            finally:
                client.idle_done()
        except (IMAPClientError, OSError) as exc:
            self.close()
            raise _unavailable(self.account, exc) from exc

    def has_capability(self, name: str) -> bool:
        return bool(self.client.has_capability(name))

    # polling --------------------------------------------------------------

    def poll(self) -> PollStats:
        """Process everything waiting in the watched folders; raise MailboxUnavailable on errors."""
        stats = PollStats()
        try:
            for folder in self.watched_folders():
                self._poll_folder(folder, stats)
        except (IMAPClientError, OSError) as exc:
            self.close()
            raise _unavailable(self.account, exc) from exc
        return stats

    def _poll_folder(self, folder: str, stats: PollStats) -> None:
        client = self.client
        info = client.select_folder(folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        uids = sorted(client.search(["UNDELETED"]))
        moved = 0
        for batch in _batches(uids, self.account.batch_size):
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            done: dict[str, list[int]] = {}
            try:
                for uid in batch:
                    body = fetched.get(uid, {}).get(b"BODY[]")
                    if body is None:
                        # Moved away meanwhile by another process: Dovecot leaves it
                        # out of the answer, or answers BODY[] NIL while it expunges.
                        continue
                    key = f"imap:{self.account.name}:{folder}:{uidvalidity}:{uid}"
                    receipt = self.receive(bytes(body), key)
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
                        self.quarantine_folder
                        if receipt.outcome is Outcome.QUARANTINED
                        else self.processed_folder
                    )
                    done.setdefault(dest, []).append(uid)
            finally:
                self._move_done(done)
                moved += sum(len(v) for v in done.values())
            with self.db.transaction() as session:
                if record_poll(
                    session, self.account.label, folder, uidvalidity, max(batch), self.clock.now()
                ):
                    log.warning(
                        "%s/%s: UIDVALIDITY changed; mail is recognised by Message-ID",
                        self.account.label,
                        folder,
                    )
        self._left_in[folder] = len(uids) - moved
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
                try:
                    client.move(uids, dest)
                except IMAPClientError as exc:
                    if "EXPUNGEISSUED" not in str(exc):
                        raise
                    # Another maildesk process moved some of them first (it recorded
                    # the same mail): move the rest one by one, skipping the gone.
                    for uid in uids:
                        with contextlib.suppress(IMAPClientError):
                            client.move([uid], dest)
            else:
                client.copy(uids, dest)
                client.add_flags(uids, [b"\\Deleted"])
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge(uids)
                else:
                    client.expunge()


def _personal_namespace(client: IMAPClient) -> Namespace:
    """The first personal namespace (RFC 2342), else the delimiter LIST reports."""
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0]
            return Namespace(str(prefix), str(delimiter) if delimiter else None)
    listed = client.list_folders("", "")
    delimiter = listed[0][1] if listed else None
    text = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
    return Namespace("", text or None)


def _server_gone(responses: list[tuple[object, ...]], waited: float) -> bool:
    """Whether an IDLE check saw the server leave.

    imapclient's ``idle_check`` swallows end-of-file and returns nothing, so a
    closed connection looks like silence, except that it comes back at once:
    the socket is readable but empty. A ``BYE`` says it outright.
    """
    if any(r and r[0] == b"BYE" for r in responses):
        return True
    return not responses and waited < IDLE_CHECK_SECONDS / 2
