"""Storage on both databases: migrations, ticket numbers under concurrency, blobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from maildesk.core.numbers import NumberFormat
from maildesk.store.blobs import get_blob, put_blob
from maildesk.store.db import Database, SchemaError, alembic_config
from maildesk.store.models import Base
from maildesk.store.tickets import allocate_number

pytestmark = pytest.mark.integration


def test_new_database_gets_the_whole_schema(db_url: str) -> None:
    db = Database(db_url)
    assert db.is_empty()
    db.prepare()
    assert db.current_revision() == db.head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.check_schema()
    db.dispose()


def test_migrations_match_the_models(db_url: str) -> None:
    """Autogenerate against the migrated database finds nothing to add: models == migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url)
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    db.dispose()


def test_start_up_refuses_an_empty_or_older_schema(db_url: str) -> None:
    db = Database(db_url)
    with pytest.raises(SchemaError, match="maildesk db upgrade"):
        db.check_schema()
    db.upgrade()
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('0000_older')"))
    with pytest.raises(SchemaError, match="does not know"):
        db.check_schema()
    db.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    before, after = db.upgrade()
    assert before is None
    again_before, again_after = db.upgrade()
    assert again_before == again_after == after
    db.dispose()


def test_ticket_numbers_unique_under_concurrency(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade()
    fmt = NumberFormat()
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(15):
                with db.transaction() as session:
                    number = allocate_number(session, fmt, 2026)
                with lock:
                    numbers.append(number)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 60
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, 61)]
    with db.transaction() as session:
        assert allocate_number(session, fmt, 2027) == "2027-000001"
    db.dispose()


def test_rolled_back_number_is_not_lost_to_others(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade()
    fmt = NumberFormat()
    with pytest.raises(RuntimeError), db.transaction() as session:
        allocate_number(session, fmt, 2026)
        raise RuntimeError("processing failed after drawing a number")
    with db.transaction() as session:
        assert allocate_number(session, fmt, 2026) == "2026-000001"
    db.dispose()


def test_blobs_round_trip_and_dedupe(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade()
    data = bytes(range(256)) * 1000
    with db.transaction() as session:
        digest = put_blob(session, data)
        assert put_blob(session, data) == digest
    with db.transaction() as session:
        assert put_blob(session, data) == digest
    with db.session() as session:
        assert get_blob(session, digest) == data
        assert get_blob(session, "0" * 64) is None
    db.dispose()


def test_times_come_back_aware_utc(db_url: str) -> None:
    from maildesk.store.models import Event

    db = Database(db_url)
    db.upgrade()
    when = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    with db.transaction() as session:
        session.add(Event(ticket_id=None, at=when, kind="test", detail={"a": 1}))
    with db.session() as session:
        event = session.query(Event).one()
        assert event.at == when
        assert event.at.tzinfo is not None
        assert event.detail == {"a": 1}
    db.dispose()


def test_upgrade_from_0001_keeps_data_and_backfills(db_url: str) -> None:
    """Schema changes are tested from the previous schema, with rows in it."""
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (number, subject, requester, status, priority, language,"
                " created_at, updated_at) VALUES ('2026-000001', 'Old', 'a@x.example', 'open',"
                " 'high', 'nl', :t, :t)"
            ),
            {"t": when},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (message_id, kind, mail_from, rcpt_to, data, status,"
                " attempts, next_attempt_at, created_at) VALUES ('m1@x', 'ack', 's@x',"
                " :rcpt, :data, 'sent', 1, :t, :t)"
            ),
            {"rcpt": '["Client@X.example", "b@x.example"]', "data": b"x", "t": when},
        )
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    from maildesk.store.models import OutboxMail, Ticket

    with db.session() as session:
        ticket = session.query(Ticket).one()
        assert (ticket.number, ticket.priority, ticket.language) == ("2026-000001", "high", "nl")
        assert ticket.policy == "default" and ticket.missing == [] and ticket.approval == "none"
        assert ticket.escalation_level == 0 and ticket.scope is None and ticket.intervention == 1
        assert ticket.response_due_at is None
        row = session.query(OutboxMail).one()
        assert row.first_rcpt == "client@x.example"
        assert row.auto is True
    db.dispose()


def test_once_markers_claim_exactly_once_across_sessions(db_url: str) -> None:
    from maildesk.store.once import claim, claimed

    db = Database(db_url)
    db.upgrade()
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        assert claim(session, "sla:1:response:warning", now) is True
        assert claim(session, "sla:1:response:warning", now) is False
    with pytest.raises(RuntimeError), db.transaction() as session:
        assert claim(session, "statement:acme:2026-W47", now) is True
        raise RuntimeError("the mail could not be queued")
    with db.transaction() as session:
        assert claimed(session, "sla:1:response:warning")
        assert not claimed(session, "statement:acme:2026-W47"), "rolled back with its mail"
        assert claim(session, "statement:acme:2026-W47", now) is True
    db.dispose()


def test_sqlite_write_transactions_lock_up_front_and_reads_do_not(sqlite_url: str) -> None:
    import sqlite3

    db = Database(sqlite_url)
    db.upgrade()
    path = sqlite_url.removeprefix("sqlite:///")

    def other_writer_can_start() -> bool:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    with db.session() as session:
        session.execute(text("SELECT count(*) FROM tickets"))
        assert other_writer_can_start(), "a read session must not block writers"
    with db.transaction() as session:
        session.execute(text("SELECT count(*) FROM tickets"))
        assert not other_writer_can_start(), "a write transaction holds the lock from its start"
    db.dispose()


def test_two_processes_recording_the_first_poll_of_a_folder(db_url: str) -> None:
    """A process that lost the race to insert a folder's state updates it instead."""
    from typing import Any

    from maildesk.store.mailboxes import mailbox_states, record_poll

    class LookedTooEarly:
        """A session whose first look ran before the other process committed."""

        def __init__(self, session: Any) -> None:
            self._session, self._looked = session, False

        def scalar(self, query: Any) -> Any:
            if not self._looked:
                self._looked = True
                return None
            return self._session.scalar(query)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._session, name)

    db = Database(db_url)
    db.upgrade()
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.transaction() as other:
        record_poll(other, "imap://x", "INBOX", 7, 3, now)
    with db.transaction() as session:
        assert record_poll(LookedTooEarly(session), "imap://x", "INBOX", 7, 5, now) is False  # type: ignore[arg-type]
    with db.session() as session:
        [state] = mailbox_states(session)
    assert (state.uidvalidity, state.last_uid) == (7, 5)
    db.dispose()


def test_blobs_do_not_deflate_compressed_formats_again(sqlite_url: str) -> None:
    from maildesk.store.models import Blob

    db = Database(sqlite_url)
    db.upgrade()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400
    text = b"Subject: hello\r\n\r\n" + b"the same line again\r\n" * 2000
    with db.transaction() as session:
        png_key, text_key = put_blob(session, png), put_blob(session, text)
    with db.session() as session:
        stored_png = session.get(Blob, png_key)
        stored_text = session.get(Blob, text_key)
        assert stored_png is not None and stored_text is not None
        assert len(stored_png.data) >= len(png), "stored, not deflated"
        assert len(stored_text.data) < len(text) / 10, "mail text still compresses"
        assert get_blob(session, png_key) == png and get_blob(session, text_key) == text
    db.dispose()


def test_a_large_mail_is_stored_smaller_and_read_back_whole(sqlite_url: str) -> None:
    """Above 64 KB: a base64 attachment is Huffman-coded, long text still gets level 1;
    both are plain zlib streams that read back byte for byte."""
    import base64
    import random
    import zlib

    from maildesk.store.models import Blob

    rng = random.Random(7)
    screenshot_mail = (
        b"Subject: screenshot\r\nContent-Type: image/png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(rng.randbytes(240_000))
    )
    words = [
        rng.choice("etaoinshrdlu") * rng.randint(1, 3) + rng.choice("mnpqrs") for _ in range(900)
    ]
    log_mail = (
        b"Subject: our log\r\n\r\n" + " ".join(rng.choice(words) for _ in range(30_000)).encode()
    )
    huffman = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_HUFFMAN_ONLY)

    db = Database(sqlite_url)
    db.upgrade()
    with db.transaction() as session:
        shot_key, log_key = put_blob(session, screenshot_mail), put_blob(session, log_mail)
    with db.session() as session:
        shot, log = session.get(Blob, shot_key), session.get(Blob, log_key)
        assert shot is not None and log is not None
        assert shot.data == huffman.compress(screenshot_mail) + huffman.flush()
        assert len(shot.data) < 0.8 * len(screenshot_mail), "base64 still shrinks by its alphabet"
        assert len(log.data) == len(zlib.compress(log_mail, 1)), "text keeps level 1"
        assert get_blob(session, shot_key) == screenshot_mail
        assert get_blob(session, log_key) == log_mail
    db.dispose()


def test_postgres_plans_each_lookup_for_the_table_as_it_is_now(postgres_url: str) -> None:
    """No statement is prepared on the server, so no generic plan made while `messages`
    was empty (a sequential scan) can be kept as a backlog fills the table: psycopg
    would otherwise prepare the Message-ID check after five runs."""
    from maildesk.ingest.context import already_seen

    db = Database(postgres_url)
    db.upgrade()
    with db.engine.connect() as conn:
        session = Session(bind=conn)
        for i in range(12):
            assert already_seen(session, f"m{i}@x.example", f"key:{i}") is None
        prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).all()
        session.close()
    assert prepared == []
    db.dispose()


def test_two_processes_starting_at_once_mirror_the_clients_without_a_clash(
    postgres_url: str,
) -> None:
    """Two daemons starting together on one PostgreSQL: the second waits for the first."""
    import threading
    import time

    from maildesk.core.config import settings_from_toml
    from maildesk.store.directory import sync_clients
    from maildesk.store.models import Client, Contact

    settings = settings_from_toml(
        '[[clients]]\nid = "acme"\nname = "Acme"\n'
        'contacts = [{ email = "boss@acme.example", authorised = true }]\n',
        "test",
    )
    first, second = Database(postgres_url), Database(postgres_url)
    first.upgrade()
    synced = threading.Event()
    errors: list[BaseException] = []

    def start_second() -> None:
        synced.wait(10)
        try:
            with second.transaction() as session:
                sync_clients(session, settings.clients)
        except BaseException as exc:
            errors.append(exc)

    other = threading.Thread(target=start_second)
    other.start()
    with first.transaction() as session:
        sync_clients(session, settings.clients)  # rows written, not yet committed
        synced.set()
        time.sleep(0.5)  # the second start-up runs into this one meanwhile
    other.join(30)
    assert errors == []
    with first.session() as session:
        assert session.scalars(select(Client.key)).all() == ["acme"]
        assert session.scalars(select(Contact.email)).all() == ["boss@acme.example"]
    first.dispose()
    second.dispose()
