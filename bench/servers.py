"""The benchmark's surroundings: Dovecot, the SMTP sink, databases, the config file.

Dovecot and the SMTP sink are the test suite's own helpers
(``tests/servers/``); this module adds what a benchmark needs on top: filling a
mailbox fast (MULTIAPPEND in one session), a sink that stamps arrival times,
throw-away PostgreSQL databases, and the config file ``maildesk run`` reads.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.corpus import CLIENT_DOMAIN, HIGH_KEYWORDS, SUPPORT_ADDRESS, SUPPORT_NAME
from tests.servers.dovecot import DovecotServer, find_dovecot
from tests.servers.smtp_sink import Received, SmtpSink

__all__ = [
    "IMAP_PASSWORD_ENV",
    "STAFF_ADDRESS",
    "DovecotServer",
    "TimedSink",
    "append_all",
    "find_dovecot",
    "postgres_admin_url",
    "postgres_database",
    "write_config",
]

IMAP_PASSWORD_ENV = "MAILDESK_BENCH_IMAP_PASSWORD"
POSTGRES_ENV = "MAILDESK_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STAFF_ADDRESS = "ann@helpdesk.example"
_APPEND_CHUNK_BYTES = 8 * 1024 * 1024


def append_all(server: DovecotServer, raws: Iterable[bytes], folder: str = "INBOX") -> int:
    """APPEND every mail to ``folder`` in one session (MULTIAPPEND in chunks); returns count."""
    count = 0
    with server.client() as imap:
        multi = imap.has_capability("MULTIAPPEND")
        chunk: list[bytes] = []
        size = 0
        for raw in raws:
            if not multi:
                imap.append(folder, raw)
                count += 1
                continue
            chunk.append(raw)
            size += len(raw)
            if size >= _APPEND_CHUNK_BYTES or len(chunk) >= 500:
                imap.multiappend(folder, chunk)
                count += len(chunk)
                chunk, size = [], 0
        if chunk:
            imap.multiappend(folder, chunk)
            count += len(chunk)
    return count


@dataclass(frozen=True)
class Arrival:
    """A mail the sink accepted, with the monotonic time it arrived."""

    at: float
    mail: Received


class TimedSink(SmtpSink):
    """The test suite's SMTP sink, keeping the arrival time of every mail."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[Arrival] = []
        self._arrivals_lock = threading.Lock()

    def _record(self, item: Received) -> None:
        with self._arrivals_lock:
            self.arrivals.append(Arrival(time.monotonic(), item))
        super()._record(item)

    def __enter__(self) -> TimedSink:
        self.start()
        return self

    def arrived(self) -> list[Arrival]:
        with self._arrivals_lock:
            return list(self.arrivals)


# -- PostgreSQL ---------------------------------------------------------------------


def postgres_admin_url() -> str:
    """The PostgreSQL server to use (``MAILDESK_TEST_POSTGRES_URL`` or the local default)."""
    return os.environ.get(POSTGRES_ENV, "").strip() or DEFAULT_POSTGRES


def _libpq(url: str, dbname: str | None = None) -> str:
    parts = urlsplit(url)
    path = parts.path if dbname is None else f"/{dbname}"
    return urlunsplit(("postgresql", parts.netloc, path, parts.query, parts.fragment))


def postgres_reachable(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def postgres_version(url: str) -> str:
    """The server's version string."""
    import psycopg

    with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextlib.contextmanager
def postgres_database(admin_url: str, label: str) -> Iterator[str]:
    """A new, empty database on the server; yields its SQLAlchemy URL; dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"maildesk_bench_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(admin_url), connect_timeout=3, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        with psycopg.connect(_libpq(admin_url), connect_timeout=3, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def database(kind: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh database of ``kind`` (sqlite or postgresql); yields its URL."""
    if kind == "sqlite":
        folder = workdir / f"db-{label}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        try:
            yield f"sqlite:///{folder / 'maildesk.db'}"
        finally:
            for path in folder.glob("*"):
                path.unlink()
            folder.rmdir()
    else:
        with postgres_database(postgres_admin_url(), label) as url:
            yield url


# -- the config ---------------------------------------------------------------------


def write_config(
    path: Path,
    *,
    db_url: str,
    data_dir: Path,
    dovecot: DovecotServer,
    sink: SmtpSink,
    batch_size: int = 50,
    poll_interval: float = 60.0,
    flush_interval: float = 5.0,
) -> Path:
    """Write the bench config: one client at ``bench.example``, a policy that checks
    URL, screenshot and steps on a Belgian business calendar and pages Ann (the
    one staff member) for high priority out of hours, IMAP from ``dovecot`` and
    outgoing mail to ``sink``."""
    keywords = ", ".join(f'"{k}"' for k in HIGH_KEYWORDS)
    hours = "\n".join(f'{d} = "08:30-18:00"' for d in ("mon", "tue", "wed", "thu", "fri"))
    path.write_text(
        f"""\
# Written by bench/servers.py for one benchmark run.
[service]
support_address = "{SUPPORT_ADDRESS}"
support_name = "{SUPPORT_NAME}"
timezone = "Europe/Brussels"
data_dir = "{data_dir}"
instance_id = "maildesk-bench"

[database]
url = "{db_url}"

[intake.listener]
enabled = false

[[intake.imap]]
name = "bench"
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{dovecot.user}"
password_env = "{IMAP_PASSWORD_ENV}"
batch_size = {batch_size}
poll_interval = {poll_interval}
timeout = 30

[outgoing]
transport = "smtp"
flush_interval = {flush_interval}
retry_base_seconds = 1

[outgoing.smtp]
host = "{sink.host}"
port = {sink.port}
security = "plain"
timeout = 30

[policies.default.calendar]
timezone = "Europe/Brussels"
holidays = "BE"

[policies.default.calendar.hours]
{hours}

[policies.default.required]
url = true
screenshot = true
steps = true

[policies.default.priority.keywords]
high = [{keywords}]

[policies.default.oncall]
rota = ["Ann"]

[[staff]]
name = "Ann"
email = "{STAFF_ADDRESS}"

[[clients]]
id = "bench"
name = "Bench Learning"
domains = ["{CLIENT_DOMAIN}"]
match_domain = true
""",
        encoding="utf-8",
    )
    return path
