"""The database connection, and the schema check that guards start-up.

SQLite is the embedded default (WAL, a busy timeout, foreign keys on);
PostgreSQL is used by URL. Alembic owns the schema: start-up refuses an older
schema and says which command brings it up to date.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from maildesk.store.sqlite_file import FileWatch, check_writable

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "maildesk_write"


_VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:None|[\"']([\w-]+)[\"'])\s*$", re.M
)


@lru_cache(maxsize=1)
def _listed_head() -> str | None:
    """The newest revision, read from the ``revision``/``down_revision`` lines of the files.

    Every command checks the schema, and importing Alembic to read its scripts
    costs half a second of CPU. A plain chain of migrations is read here instead;
    anything else (branches, merges, an unusual file) gives None, and Alembic
    answers. ``tests/unit/test_cli_lazy.py`` checks the two agree.
    """
    parents: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(
            (m.group(1), m.group(2)) for m in _REVISION_LINE.finditer(path.read_text("utf-8"))
        )
        if "revision" not in found:
            continue
        if "down_revision" not in found or found["revision"] is None:
            return None
        parents[found["revision"]] = found["down_revision"]
    heads = set(parents) - set(parents.values())
    return heads.pop() if len(heads) == 1 else None


class SchemaError(Exception):
    """The database schema does not match this maildesk; the message says what to run."""


def _sqlite_pragmas(busy_timeout_ms: int, watch: FileWatch | None) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling starts a transaction only at the
        # first write, so a SAVEPOINT before it would commit on its own; maildesk
        # issues BEGIN itself (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
        if watch is not None:
            watch.connected()

    return on_connect


def _sqlite_begin(watch: FileWatch | None) -> Any:
    def on_begin(conn: Any) -> None:
        if watch is not None:
            watch.check()
        # A write transaction takes the write lock up front (IMMEDIATE), so one that
        # reads and then writes never fails halfway on a lock upgrade while another
        # thread writes; reads stay DEFERRED and never block anyone.
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return on_begin


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for another database or ``:memory:``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).absolute()


def make_engine(url: str, busy_timeout_ms: int = 30_000, watch: FileWatch | None = None) -> Engine:
    """An engine for ``url``; for SQLite the folder is created and WAL switched on.

    ``busy_timeout_ms`` is how long SQLite waits for another writer before the
    operation fails (and intake answers "try again later"). ``watch``, for a
    SQLite file, is told of every connection and asked before every transaction.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db_file = sqlite_file(url)
        if db_file is not None:
            check_writable(db_file)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms, watch))
        event.listen(engine, "begin", _sqlite_begin(watch))
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement on the server after its fifth run, and
        # PostgreSQL may then keep one generic plan made while the tables were
        # small: on a new database taking in a backlog, the Message-ID check went
        # on scanning `messages`, and intake slowed from 76 to 36 mails/s over
        # 10,000 mails. Unprepared, each run is planned for its values and the
        # table as it is now (a fraction of a millisecond); this needs no server
        # setting and works behind a transaction-pooling proxy.
        connect_args["prepare_threshold"] = None
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at maildesk's migrations and ``url``."""
    from alembic.config import Config  # Alembic costs 0.1 s to import: only when used

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """An engine plus the session factory; one per process."""

    def __init__(self, url: str, busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        db_file = sqlite_file(url)
        self.file_watch = FileWatch(db_file) if db_file is not None else None
        self.engine = make_engine(url, busy_timeout_ms, self.file_watch)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            session.connection(execution_options={_WRITE: True})
            yield session

    def session(self) -> Session:
        """A plain session for reads (the caller closes it)."""
        return self._sessions()

    def after_commit(self, hook: Callable[[Session], None]) -> Callable[[], None]:
        """Call ``hook(session)`` after each commit of this database's sessions.

        It runs in the committing thread, so it must be quick (set an event);
        releasing a savepoint counts as a commit too. Returns the function that
        removes the hook.
        """
        event.listen(self._sessions, "after_commit", hook)
        return lambda: event.remove(self._sessions, "after_commit", hook)

    def head_revision(self) -> str:
        head = _listed_head()
        if head is not None:
            return head
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config(self.url))
        head = script.get_current_head()
        assert head is not None
        return head

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None: no maildesk schema)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(_VERSION_TABLE):
                return None
            rows = conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).all()
            if len(rows) <= 1:
                return rows[0][0] if rows else None
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()  # raises: branches

    def is_empty(self) -> bool:
        """True when the database has no tables at all (a brand-new database)."""
        return not inspect(self.engine).get_table_names()

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; returns (before, after)."""
        from alembic import command

        before = self.current_revision()
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, self.head_revision()

    def check_schema(self) -> None:
        """Raise ``SchemaError`` unless the schema is exactly the one this code expects."""
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        if current is None:
            raise SchemaError(
                f"the database at {self.safe_url} has no maildesk schema; "
                "run `maildesk db upgrade` to create it"
            )
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config(self.url))
        known = {rev.revision for rev in script.walk_revisions()}
        if current in known:
            raise SchemaError(
                f"the database schema is at revision {current}, this maildesk needs {head}; "
                "run `maildesk db upgrade` (back up the database first)"
            )
        raise SchemaError(
            f"the database schema is at revision {current}, which this maildesk does not know "
            "(was it written by a newer version?); run the matching maildesk version"
        )

    def prepare(self) -> None:
        """Create the schema on a brand-new database; otherwise insist it is current."""
        if self.is_empty():
            log.info("new database at %s: creating the schema", self.safe_url)
            self.upgrade()
            return
        self.check_schema()

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for logs and messages."""
        return self.describe(self.url)

    @staticmethod
    def describe(url: str) -> str:
        """``url`` with any password hidden, without opening anything."""
        return make_url(url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
