"""A private, throw-away Dovecot IMAP server for maildesk's integration tests.

maildesk's IMAP ingest must be tested against a real server (MOVE, IDLE, UIDs, folder
delimiters and outages all behave in ways a mock gets wrong), so ``DovecotServer`` runs
its own Dovecot master in the foreground (``dovecot -F -c CONF``) with every path -
config, ``base_dir``, ``state_dir``, log, passwd-file, maildir - inside one temp
directory.  It never reads ``/etc/dovecot`` and never touches a system Dovecot.

The server speaks plain IMAP (no TLS) on ``127.0.0.1:<free port>`` for one user from a
passwd-file (``support`` / ``secret`` by default), stores mail in maildir and has the
default Dovecot capabilities, MOVE and IDLE among them.  The hierarchy delimiter is
``/`` and folders live at the top level (see ``DovecotServer.delimiter``); pass
``namespace_prefix="INBOX.", delimiter="."`` for a server that keeps every folder under
``INBOX.`` as Courier-IMAP and Cyrus do (``CREATE Processed`` is then refused).

OAuth2: with ``oauth2_introspection_url`` the server also takes the SASL mechanisms
XOAUTH2 and OAUTHBEARER, through Dovecot's own ``oauth2`` passdb, which asks that URL
(RFC 7662 token introspection, POST) whether a bearer token is live and whose it is;
the token's ``username`` must be the user logging in.  Password login keeps working
(the passwd-file passdb serves PLAIN and LOGIN only), so the helpers below are unchanged.

Restarting: ``stop()``/``kill()`` and ``start()`` may be called any number of times on
the same instance.  The port, the passwd-file and the maildir are kept, so a test can
take the server down mid-run to simulate an outage (clients get "connection refused";
open sessions are dropped) and start it again with the mail still there.  ``stop()`` is
Dovecot's orderly shutdown and takes about a second (the master's own wait); ``kill()``
is a crash and takes milliseconds.  ``close()`` kills the server and deletes the temp
directory; after that the instance cannot be started again.

Users and ids: Dovecot refuses to run its login processes as root and refuses mail uid 0.
Run as root (as in CI), the login processes use ``dovenull`` and the internal processes
``dovecot`` (the users the Debian package creates; ``nobody`` if they are missing), and
mail is stored as ``nobody``/its group.  Run as an ordinary user, everything - login,
internal processes and mail - runs as that user, which is Dovecot's "rootless" setup.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

__all__ = ["DovecotError", "DovecotServer", "find_dovecot", "free_port"]

_DOVECOT_PATHS = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot", "/sbin/dovecot")
_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")
# Only root may chroot(); these are the services Dovecot 2.3 chroots by default.
_ROOTLESS = "".join(
    f"service {name} {{\n  chroot =\n}}\n"
    for name in ("anvil", "imap-login", "imap-urlauth-login", "ipc", "old-stats", "aggregator")
)


class DovecotError(RuntimeError):
    """Dovecot could not be started (the message carries the tail of its log)."""


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` binary, or None; ``/usr/sbin`` is often not on PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in _DOVECOT_PATHS:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (callers retry on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are not zombies (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _wait_group_gone(pgid: int, timeout: float = 5.0) -> None:
    """Wait until SIGKILLed children have really exited, so no test sees leftovers.

    Zombies are ignored: they are reaped by init, which may take a moment.
    """
    if not Path("/proc/self/stat").exists():
        return
    deadline = time.monotonic() + timeout
    while _live_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.005)


@dataclass(frozen=True)
class _Identity:
    """Which system users/groups the private Dovecot runs as (see module docstring)."""

    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int


def _user_or(name: str, fallback: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return pwd.getpwnam(fallback)


def _identity() -> _Identity:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return _Identity(me.pw_name, group, me.pw_name, me.pw_uid, os.getegid())
    internal = _user_or("dovecot", "nobody")
    login = _user_or("dovenull", "nobody")
    mail = pwd.getpwnam("nobody")
    return _Identity(
        internal_user=internal.pw_name,
        internal_group=grp.getgrgid(internal.pw_gid).gr_name,
        login_user=login.pw_name,
        mail_uid=mail.pw_uid,
        mail_gid=mail.pw_gid,
    )


class DovecotServer:
    """One private Dovecot instance on a loopback port; see the module docstring.

    Usable as a context manager (``start()`` on enter, ``close()`` on exit).  The
    ``append``/``messages``/... helpers open a short IMAP session each, so they work
    across restarts and never share state with the code under test.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        user: str = "support",
        password: str = "secret",
        binary: str | None = None,
        startup_timeout: float = 10.0,
        delimiter: str = "/",
        namespace_prefix: str = "",
        oauth2_introspection_url: str | None = None,
    ) -> None:
        found = binary or find_dovecot()
        if found is None:
            raise DovecotError("dovecot binary not found (apt-get install -y dovecot-imapd)")
        self.binary = found
        self.user = user
        self.password = password
        self.startup_timeout = startup_timeout
        self.delimiter = delimiter
        self.namespace_prefix = namespace_prefix
        self.oauth2_introspection_url = oauth2_introspection_url
        self.port = free_port(self.host)
        # Short path under /tmp: Dovecot's unix sockets live in base_dir and socket
        # paths are limited to ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="maildesk-dovecot-", dir="/tmp"))
        self.root.chmod(0o755)  # auth/login run as other users and must traverse it
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.stderr_path = self.root / "dovecot.stderr"
        self.home = self.root / "home" / user
        self._identity = _identity()
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._started_once = False
        self._prepare_tree()

    # -- lifecycle -------------------------------------------------------------------

    @property
    def maildir(self) -> Path:
        """The user's maildir on disk (INBOX; other folders are ``.Name`` inside)."""
        return self.home / "Maildir"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the master and return once the port answers with an IMAP greeting.

        On the first start a port lost to a race is replaced by a new one; on later
        starts the port is kept (that is the point of a restart) and a clash is an error.
        """
        if self._closed:
            raise DovecotError("DovecotServer was closed; create a new one")
        if self.running:
            return
        attempts = 1 if self._started_once else 3
        for attempt in range(attempts):
            try:
                self._start_once()
            except DovecotError:
                if attempt + 1 < attempts and "in use" in self.log_tail():
                    self.port = free_port(self.host)
                    continue
                raise
            self._started_once = True
            return

    def stop(self, timeout: float = 10.0) -> None:
        """Shut Dovecot down the orderly way (SIGTERM), keeping port and maildir.

        Open IMAP sessions are closed by the server and the port refuses connections
        at once, but the master itself lingers about a second (its own shutdown wait)
        before this returns.  Use ``kill()`` for a fast, crash-like outage.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        self._reap(proc)

    def kill(self) -> None:
        """SIGKILL every Dovecot process at once: a crash, in milliseconds.

        Port and maildir are kept, so ``start()`` works afterwards; mail that was
        being written at that instant may be lost, as with a real crash.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self._reap(proc)

    def close(self) -> None:
        """Kill the server and delete its temp directory (maildir included).

        Killing rather than ``stop()`` is safe because the data is thrown away, and
        it keeps per-test teardown in the millisecond range.
        """
        self.kill()
        self._closed = True
        shutil.rmtree(self.root, ignore_errors=True)

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        # The master ran in its own session, so its pid is the process group id:
        # whatever it left behind goes too.  A stale master.pid would make the next
        # start() refuse if its pid got reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        _wait_group_gone(proc.pid)
        with contextlib.suppress(FileNotFoundError):
            (self.root / "run" / "master.pid").unlink()

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of Dovecot's log and stderr, for error messages."""
        parts = []
        for path in (self.stderr_path, self.log_path):
            with contextlib.suppress(FileNotFoundError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                if text:
                    parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(Dovecot wrote no log)"

    def set_password(self, password: str) -> None:
        """Change the user's password; Dovecot sees the new passwd-file at the next login."""
        self.password = password
        self._write_passwd()

    def _prepare_tree(self) -> None:
        ident = self._identity
        for sub in ("run", "state"):
            (self.root / sub).mkdir(mode=0o755)
        self.home.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:
            os.chown(self.home, ident.mail_uid, ident.mail_gid)
        self._write_passwd()

    def _write_passwd(self) -> None:
        ident = self._identity
        passwd = self.root / "passwd"
        passwd.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{ident.mail_uid}:{ident.mail_gid}"
            f"::{self.home}::\n"
        )
        passwd.chmod(0o644)

    def _write_config(self) -> None:
        ident = self._identity
        root = self.root
        self.config_path.write_text(
            f"""\
# Private Dovecot for maildesk integration tests; nothing here reads /etc/dovecot.
base_dir = {root}/run
state_dir = {root}/state
instance_name = maildesk-test-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.oauth2_introspection_url else ""}
auth_verbose = yes
# Wrong-password tests should answer fast: no 2 s failure delay (about 0.5 s remains,
# in the login process) and no growing per-IP penalty (see service anvil below).
auth_failure_delay = 0
default_internal_user = {ident.internal_user}
default_internal_group = {ident.internal_group}
default_login_user = {ident.login_user}
first_valid_uid = {ident.mail_uid}
last_valid_uid = {ident.mail_uid}
first_valid_gid = {ident.mail_gid}
last_valid_gid = {ident.mail_gid}
mail_location = maildir:~/Maildir
# Durability across a SIGTERM does not need fsync; it only slows tests down.
mail_fsync = never
# Fall back to polling quickly where inotify is unavailable (containers).
mailbox_idle_check_interval = 1 secs
# The daemon under test plus the helpers may hold several sessions at once.
mail_max_userip_connections = 100
shutdown_clients = yes

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
  {"mechanisms = plain login" if self.oauth2_introspection_url else ""}
}}
{self._oauth2_passdb()}userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = {self.delimiter}
  prefix = {self.namespace_prefix}
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# Every test connects from 127.0.0.1; without this each failed login there would
# slow down later logins (2, 4, 8... s).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{"" if os.geteuid() == 0 else _ROOTLESS}"""
        )

    def _oauth2_passdb(self) -> str:
        if not self.oauth2_introspection_url:
            return ""
        conf = self.root / "dovecot-oauth2.conf.ext"
        conf.write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        conf.chmod(0o644)
        return (
            "passdb {\n"
            "  driver = oauth2\n"
            "  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {conf}\n"
            "}\n"
        )

    def _start_once(self) -> None:
        self._write_config()
        # Appended to across restarts, so an outage test's log tells the whole story.
        self.log_path.touch()
        with self.stderr_path.open("ab") as stderr:
            self._proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop()
                raise DovecotError(f"dovecot exited with {code} on start:\n{self.log_tail()}")
            if self._greets():
                self._check_login()
                return
            if time.monotonic() > deadline:
                self.stop()
                raise DovecotError(
                    f"dovecot did not greet on {self.host}:{self.port} within "
                    f"{self.startup_timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.01)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.settimeout(1.0)
                return sock.recv(512).startswith(b"* OK")
        except OSError:
            return False

    def _check_login(self) -> None:
        # Auth and mail storage only fail on first use; fail here, with the log,
        # rather than in the middle of some test.
        try:
            with self.client() as imap:
                imap.select_folder("INBOX", readonly=True)
        except Exception as exc:
            self.stop()
            raise DovecotError(
                f"login to the new dovecot failed: {exc}\n{self.log_tail()}"
            ) from exc

    # -- helpers for tests -----------------------------------------------------------

    @contextlib.contextmanager
    def client(self) -> Iterator[IMAPClient]:
        """A logged-in imapclient session, logged out on exit."""
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            imap.login(self.user, self.password)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, folder: str, raw: bytes, flags: Iterable[str | bytes] = ()) -> int | None:
        """APPEND ``raw`` to ``folder``; returns the new UID (from APPENDUID)."""
        with self.client() as imap:
            response = imap.append(folder, raw, flags=tuple(flags))
        match = _APPENDUID.search(response if isinstance(response, bytes) else b"")
        return int(match.group(1)) if match else None

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every mail in ``folder``, in UID order (does not set \\Seen)."""
        return [raw for _uid, _flags, raw in self._fetch(folder, with_body=True)]

    def flags(self, folder: str = "INBOX") -> list[frozenset[str]]:
        """Flags of every mail in ``folder`` in UID order, e.g. ``{"\\\\Seen"}``.

        ``\\Recent`` is left out: it depends on which session looked first.
        """
        return [flags for _uid, flags, _raw in self._fetch(folder, with_body=False)]

    def uids(self, folder: str = "INBOX") -> list[int]:
        """UIDs of the mails in ``folder``, ascending."""
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in imap.search("ALL"))

    def count(self, folder: str = "INBOX") -> int:
        """Number of mails in ``folder`` (STATUS MESSAGES)."""
        with self.client() as imap:
            return int(imap.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])

    def folder(self, name: str) -> str:
        """The full name of top-level folder ``name`` here (``INBOX.Processed`` under a prefix)."""
        return self.namespace_prefix + name

    def folders(self) -> list[str]:
        """Names of all folders, INBOX included, sorted."""
        with self.client() as imap:
            return sorted(name for _flags, _delim, name in imap.list_folders())

    def create_folder(self, name: str) -> None:
        """CREATE ``name`` (use ``delimiter`` for sub-folders)."""
        with self.client() as imap:
            imap.create_folder(name)

    def reset(self) -> None:
        """Delete every folder but INBOX and empty INBOX.

        UIDs are not reset (INBOX keeps its UIDVALIDITY and UIDNEXT); tests that need
        a pristine server should use a new ``DovecotServer``.
        """
        with self.client() as imap:
            names = [
                name
                for flags, _delim, name in imap.list_folders()
                # A \Noselect parent (e.g. "Archive" of "Archive/2024") vanishes
                # with its last child and cannot be deleted itself.
                if name.upper() != "INBOX" and not {b"\\Noselect", b"\\NonExistent"} & set(flags)
            ]
            # Deepest first, so children go before their parents.
            for name in sorted(names, key=lambda n: n.count(self.delimiter), reverse=True):
                imap.delete_folder(name)
            imap.select_folder("INBOX")
            if imap.search("ALL"):
                imap.add_flags("1:*", [b"\\Deleted"], silent=True)
                imap.expunge()
            imap.unselect_folder()

    def _fetch(self, folder: str, *, with_body: bool) -> list[tuple[int, frozenset[str], bytes]]:
        items = [b"FLAGS", b"BODY.PEEK[]"] if with_body else [b"FLAGS"]
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return []
            data = imap.fetch(uids, items)
        result = []
        for uid in sorted(data):
            flags = frozenset(
                f.decode() if isinstance(f, bytes) else str(f) for f in data[uid][b"FLAGS"]
            ) - {"\\Recent"}
            result.append((int(uid), flags, data[uid].get(b"BODY[]", b"") if with_body else b""))
        return result
