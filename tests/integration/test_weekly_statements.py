"""The weekly statements of many clients: chunks, the fallback one by one, and who gets one.

``send_weekly_statements`` builds and queues :data:`~maildesk.billing.weekly.CHUNK`
clients per transaction; a chunk that fails is rolled back and redone one client
per transaction. ``CHUNK`` is set to 2 here so that five clients make three
chunks (the last one a single client). Runs on SQLite and, when configured,
PostgreSQL (``db_url``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from maildesk.billing import weekly
from maildesk.billing.ledger import topup
from maildesk.billing.lines import WorkLine
from maildesk.billing.statements import (
    Statement,
    build_statement,
    build_statements,
    render_statement,
)
from maildesk.billing.weekly import send_weekly_statements
from maildesk.billing.work import record_work
from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import MailAttachment
from maildesk.notify.render import Rendered, Renderer
from maildesk.store.db import Database
from maildesk.store.directory import client_info_by_key, sync_clients
from maildesk.store.models import Client, Event, LedgerEntry, Once, OutboxMail, Ticket
from tests.integration.helpers import settings_for

pytestmark = pytest.mark.integration

WEEK = date(2026, 11, 16)  # 2026-W47, Monday 16 to Sunday 22 November (Europe/Brussels)
LABEL = "2026-W47"
BEFORE = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # the week before
IN_WEEK = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Brussels: the statements are due
EXPIRES = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # Wednesday of the week
WEEKLY_LOG = "maildesk.billing.weekly"
STAFF = "ann@helpdesk.example"

POLICIES = f"""
[[staff]]
name = "Ann"
email = "{STAFF}"

[policies.default]

[policies.prepaid.billing]
kind = "prepaid"
unit_minutes = 15

[policies.hourly.billing]
kind = "hourly"
unit_minutes = 30
hourly_rate = 60
"""

FIVE = ("c1", "c2", "c3", "c4", "c5")


def _client(
    key: str,
    *,
    weekly_statement: str = "activity",
    authorised: bool = True,
    manager: str | None = None,
    policy: str = "default",
) -> str:
    """A ``[[clients]]`` block; its contact is ``it@KEY.example``."""
    lines = [
        "[[clients]]",
        f'id = "{key}"',
        f'name = "Client {key.upper()}"',
        f'policy = "{policy}"',
        f'weekly_statement = "{weekly_statement}"',
        f'contacts = [{{ email = "it@{key}.example", authorised = {str(authorised).lower()} }}]',
    ]
    if manager:
        lines.append(f'account_manager = "{manager}"')
    return "\n".join(lines) + "\n"


class Queued(NamedTuple):
    """A queued weekly statement as its recipients will read it."""

    to: list[str]
    subject: str
    body: str


class Desk:
    """A database with the configured clients, a fake clock and a mail context."""

    def __init__(self, db_url: str, tmp_path: Path, clients: str) -> None:
        self.db_url, self.tmp_path = db_url, tmp_path
        self.clock = FakeClock(BEFORE)
        self.db = Database(db_url)
        self.db.upgrade()
        self.configure(clients)

    def configure(self, clients: str) -> None:
        """(Re)start with this client list: settings, mail context, clients mirrored."""
        settings, _ = settings_for(self.db_url, self.tmp_path, extra=POLICIES + clients)
        self.settings: Settings = settings
        self.ctx = MailContext.create(settings, self.clock, Renderer())
        with self.db.transaction() as session:
            sync_clients(session, settings.clients)

    def topup(
        self, key: str, minutes: int, ref: str, at: datetime, expires: datetime | None = None
    ) -> None:
        self.clock.set(at)
        with self.db.transaction() as session:
            topup(session, key, minutes, ref, expires, at)

    def ticket(self, key: str, number: int) -> int:
        now = self.clock.now()
        with self.db.transaction() as session:
            client_id = session.scalar(select(Client.id).where(Client.key == key))
            ticket = Ticket(
                number=f"2026-{number:06d}",
                subject=f"Problem {number} of {key}",
                client_id=client_id,
                requester=f"it@{key}.example",
                created_at=now,
                updated_at=now,
            )
            session.add(ticket)
            session.flush()
            return ticket.id

    def work(self, ticket_id: int, raw: int, key: str, at: datetime) -> None:
        self.clock.set(at)
        with self.db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            booking = record_work(session, self.ctx, ticket, raw, STAFF, key)
            assert booking.status == "booked", booking

    def send(self, now: datetime = DUE) -> int:
        self.clock.set(now)
        return send_weekly_statements(self.db, self.ctx, now)

    def queued(self) -> dict[str, list[Queued]]:
        """The queued weekly statements by client (the domain of their first recipient)."""
        with self.db.session() as session:
            rows = session.execute(
                select(OutboxMail.rcpt_to, OutboxMail.data)
                .where(OutboxMail.kind == "weekly_statement")
                .order_by(OutboxMail.id)
            ).all()
        found: dict[str, list[Queued]] = {}
        for rcpt_to, data in rows:
            message = message_from_bytes(data, policy=default_policy)
            body = message.get_body(("plain",))
            assert body is not None
            text = " ".join(body.get_content().split())
            key = rcpt_to[0].split("@", 1)[1].removesuffix(".example")
            found.setdefault(key, []).append(Queued(rcpt_to, str(message["Subject"]), text))
        return found

    def claimed(self) -> dict[str, datetime]:
        """The week's statement markers (``once`` rows) by client."""
        with self.db.session() as session:
            rows = session.execute(
                select(Once.key, Once.at).where(Once.key.like(f"statement:%:{LABEL}"))
            ).all()
        return {key.split(":")[1]: at for key, at in rows}

    def events(self) -> list[str]:
        """The clients of the ``statement_sent`` events, in order."""
        with self.db.session() as session:
            details = session.scalars(
                select(Event.detail).where(Event.kind == "statement_sent").order_by(Event.id)
            ).all()
        return [detail["client"] for detail in details]

    def expiries(self, key: str) -> list[tuple[int, datetime]]:
        """The client's expiry rows: (minutes, at)."""
        with self.db.session() as session:
            rows = session.execute(
                select(LedgerEntry.minutes, LedgerEntry.at)
                .join(Client, Client.id == LedgerEntry.client_id)
                .where(Client.key == key, LedgerEntry.kind == "expiry")
            ).all()
        return [(minutes, at) for minutes, at in rows]

    def dispose(self) -> None:
        self.db.dispose()


@pytest.fixture
def five(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """Five clients c1..c5, each with a purchase in the week; chunks of two clients.

    c4 also has a card bought the week before that expires inside the week: the
    first statement that looks at it writes its expiry.
    """
    monkeypatch.setattr(weekly, "CHUNK", 2)
    desk = Desk(db_url, tmp_path, "".join(_client(key) for key in FIVE))
    desk.topup("c4", 30, "INV-c4-old", BEFORE, expires=EXPIRES)
    for i, key in enumerate(FIVE, start=1):
        desk.topup(key, 60 * i, f"INV-{key}", IN_WEEK)
    yield desk
    desk.dispose()


def _progress(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [m for m in caplog.messages if m.startswith(f"weekly statements {LABEL}:")]


def _logged(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """The weekly module's records at ``level`` or above (psycopg may warn too, on a conflict)."""
    return [r for r in caplog.records if r.name == WEEKLY_LOG and r.levelno >= level]


def _assert_one_each(desk: Desk, keys: tuple[str, ...]) -> None:
    """Exactly one statement per client in ``keys``, none for anyone else, each its own."""
    queued = desk.queued()
    assert {key: len(mails) for key, mails in queued.items()} == dict.fromkeys(keys, 1)
    for key in keys:
        [mail] = queued[key]
        assert mail.to == [f"it@{key}.example"]
        assert mail.subject.endswith(f"– Client {key.upper()}")
        # The statement is this client's own, not a neighbour's in the chunk: c1
        # bought 1 h, c2 2 h, and so on.
        assert f"Purchase INV-{key} {FIVE.index(key) + 1} h" in mail.body, mail.body
    assert sorted(desk.claimed()) == sorted(keys)
    assert sorted(desk.events()) == sorted(keys)


# --- 1. chunks ----------------------------------------------------------------------


def test_chunks_queue_one_statement_per_active_client_and_log_progress(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    monkeypatch.setattr(weekly, "CHUNK", 2)
    # Five active clients and a quiet one in the middle: six to look at, three chunks.
    clients = [*FIVE[:3], "quiet", *FIVE[3:]]
    desk = Desk(db_url, tmp_path, "".join(_client(key) for key in clients))
    for i, key in enumerate(FIVE, start=1):
        desk.topup(key, 60 * i, f"INV-{key}", IN_WEEK)

    not_yet = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)  # 07:59 in Brussels
    assert desk.send(not_yet) == 0
    assert desk.queued() == {}
    assert desk.send() == 5
    _assert_one_each(desk, FIVE)
    assert _progress(caplog) == [
        f"weekly statements {LABEL}: 2 of 6 clients",
        f"weekly statements {LABEL}: 4 of 6 clients",
        f"weekly statements {LABEL}: 6 of 6 clients",
    ]
    assert not _logged(caplog, logging.WARNING)
    assert not [m for m in caplog.messages if "redone one by one" in m]

    caplog.clear()
    assert desk.send() == 0
    assert desk.send(datetime(2026, 11, 27, 12, 0, tzinfo=UTC)) == 0  # later that week
    _assert_one_each(desk, FIVE)
    assert _progress(caplog) == []  # nothing left to do: no chunks at all
    desk.dispose()


def test_progress_log_reaches_n_of_n_when_the_last_chunk_is_one_client(
    five: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    assert five.send() == 5
    _assert_one_each(five, FIVE)
    assert _progress(caplog)[-1] == f"weekly statements {LABEL}: 5 of 5 clients"


def test_a_lost_database_stops_the_run_with_one_error_and_the_rest_goes_next_time(
    five: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    real = weekly._send_chunk
    calls: list[int] = []

    def gone_after_the_first_chunk(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) > 1:
            raise OperationalError(
                "INSERT …",
                {},
                Exception("server closed the connection"),
                connection_invalidated=True,
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(weekly, "_send_chunk", gone_after_the_first_chunk)
    assert five.send() == 2  # the first chunk: c1 and c2
    assert len(calls) == 2, "no client is tried alone while the database is gone"
    [error] = _logged(caplog, logging.ERROR)
    assert "stopped after 2 queued" in error.getMessage()
    assert "server closed the connection" in error.getMessage()

    monkeypatch.setattr(weekly, "_send_chunk", real)
    assert five.send() == 3
    _assert_one_each(five, FIVE)


def test_one_clients_deadlock_on_postgresql_holds_up_nobody(
    five: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A deadlock or timeout belongs to one transaction on PostgreSQL: the others go on.
    On SQLite every operational error (a lock held past the busy timeout) stops the run."""
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    real = weekly._send_chunk

    def c3_deadlocks(db: Database, ctx: MailContext, chunk: Any, *args: Any) -> int:
        if any(cfg.id == "c3" for cfg in chunk):
            raise OperationalError("SELECT …", {}, Exception("deadlock detected"))
        return real(db, ctx, chunk, *args)

    monkeypatch.setattr(weekly, "_send_chunk", c3_deadlocks)
    if five.db.dialect == "sqlite":
        assert five.send() == 2  # c1 and c2; the chunk of c3 and c4 stops the run
        [error] = _logged(caplog, logging.ERROR)
        assert "stopped after 2 queued" in error.getMessage()
        monkeypatch.setattr(weekly, "_send_chunk", real)
        assert five.send() == 3
    else:
        assert five.send() == 4  # c3 alone failed; c4 went alone, c5 in its own chunk
        [error] = _logged(caplog, logging.ERROR)
        assert "weekly statement for c3 failed" in error.getMessage()
        assert "c3" not in five.claimed()
        monkeypatch.setattr(weekly, "_send_chunk", real)
        assert five.send() == 1
    _assert_one_each(five, FIVE)


# --- 2. one client's statement fails ------------------------------------------------


def test_a_failing_client_holds_up_nobody_and_is_sent_at_the_next_run(
    five: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    real = render_statement

    def broken_for_c3(
        ctx: MailContext, statement: Statement, portal_url: str | None = None
    ) -> tuple[Rendered, tuple[MailAttachment, ...]]:
        if statement.client_key == "c3":
            raise RuntimeError("template broke for c3")
        return real(ctx, statement, portal_url)

    monkeypatch.setattr("maildesk.billing.weekly.render_statement", broken_for_c3)
    # c3 shares its chunk with c4; c5 is a chunk of its own.
    assert five.send() == 4
    _assert_one_each(five, ("c1", "c2", "c4", "c5"))
    assert "c3" not in five.claimed()  # its week is not marked: retried next run
    failed = _logged(caplog, logging.ERROR)
    assert [r.getMessage() for r in failed] == [
        "weekly statement for c3 failed; retried at the next run"
    ]
    assert failed[0].exc_info is not None
    assert "template broke for c3" in str(failed[0].exc_info[1])
    [redone] = [m for m in caplog.messages if "redone one by one" in m]
    assert redone.startswith("weekly statements for 2 clients from c3 on redone one by one")
    # c4's expiry, written in the chunk that was rolled back, is written once, in the week.
    assert five.expiries("c4") == [(-30, EXPIRES)]
    assert "2026-11-18 Expired: INV-c4-old -30 min" in five.queued()["c4"][0].body

    monkeypatch.setattr("maildesk.billing.weekly.render_statement", real)
    caplog.clear()
    later = datetime(2026, 11, 23, 7, 10, tzinfo=UTC)
    assert five.send(later) == 1
    _assert_one_each(five, FIVE)
    assert five.claimed()["c3"] == later
    assert not _logged(caplog, logging.WARNING)
    assert five.send(later) == 0


# --- 3. another process claimed a client's week meanwhile ---------------------------

CLAIMED_AT = datetime(2026, 11, 23, 7, 0, 30, tzinfo=UTC)


def test_a_week_claimed_meanwhile_fails_only_that_client(
    five: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    real_read = weekly._Run.read

    def read_then_claimed_elsewhere(db: Database, monday: date) -> weekly._Run:
        run = real_read(db, monday)
        assert f"statement:c3:{LABEL}" not in run.sent
        # Another daemon queues c3's statement right after this run read the markers.
        with db.transaction() as session:
            session.add(Once(key=f"statement:c3:{LABEL}", at=CLAIMED_AT))
        return run

    monkeypatch.setattr(weekly._Run, "read", read_then_claimed_elsewhere)
    assert five.send() == 4
    queued = five.queued()
    assert "c3" not in queued  # the other daemon queued c3's; this one queues no second
    assert sorted(queued) == ["c1", "c2", "c4", "c5"]
    assert all(len(mails) == 1 for mails in queued.values())
    assert sorted(five.events()) == ["c1", "c2", "c4", "c5"]
    claimed = five.claimed()
    assert sorted(claimed) == list(FIVE)
    assert claimed["c3"] == CLAIMED_AT  # the other daemon's marker, untouched
    warnings = [r.getMessage() for r in _logged(caplog, logging.WARNING)]
    assert len(warnings) == 1
    assert warnings[0].startswith("weekly statement for c3 not queued:")
    assert not _logged(caplog, logging.ERROR)

    monkeypatch.setattr(weekly._Run, "read", real_read)
    assert five.send() == 0
    assert "c3" not in five.queued()


# --- 4. who gets one ----------------------------------------------------------------

WHO = "".join(
    [
        _client("busy"),  # activity: a purchase Monday 00:30 in Brussels, inside the week
        _client("never", weekly_statement="never"),  # activity, but never a statement
        _client("always", weekly_statement="always", manager="sales@helpdesk.example"),
        _client("idle"),  # activity only the week before
        _client("later"),  # activity only from the next Monday 00:30 in Brussels on
        _client("nobody", authorised=False),  # activity, but no one may receive it
    ]
)


def test_who_gets_a_statement(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WEEKLY_LOG)
    desk = Desk(db_url, tmp_path, WHO)
    desk.topup("idle", 60, "INV-idle", BEFORE)
    desk.topup("busy", 60, "INV-busy", datetime(2026, 11, 15, 23, 30, tzinfo=UTC))
    desk.topup("never", 60, "INV-never", IN_WEEK)
    desk.topup("nobody", 60, "INV-nobody", IN_WEEK)
    desk.topup("later", 60, "INV-later", datetime(2026, 11, 22, 23, 30, tzinfo=UTC))

    assert desk.send() == 2
    queued = desk.queued()
    assert sorted(queued) == ["always", "busy"]
    [busy] = queued["busy"]
    assert "Purchase INV-busy 1 h" in busy.body
    [always] = queued["always"]
    assert always.to == ["it@always.example", "sales@helpdesk.example"]
    assert "Opening balance: 0 min" in always.body
    assert "Purchases: none Work: none" in always.body
    assert sorted(desk.claimed()) == ["always", "busy"]  # nobody's week is not marked
    warnings = [r.getMessage() for r in _logged(caplog, logging.WARNING)]
    assert warnings == [f"no statement for nobody {LABEL}: no authorised contact"]

    # The contact is made authorised (a restart with the new config): its week goes out.
    desk.configure(WHO.replace("authorised = false", "authorised = true"))
    later = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert desk.send(later) == 1
    queued = desk.queued()
    assert {key: len(mails) for key, mails in queued.items()} == {
        "always": 1,
        "busy": 1,
        "nobody": 1,
    }
    assert "Purchase INV-nobody 1 h" in queued["nobody"][0].body
    assert desk.claimed()["nobody"] == later
    assert desk.send(later) == 0
    desk.dispose()


# --- 5. many statements at once say what one at a time says ------------------------

MANY = "".join(
    [
        _client("busy", policy="prepaid"),
        _client("rate", policy="hourly"),
        _client("empty"),
        _client("expiring", policy="prepaid"),
        _client("before"),
    ]
)


class View(NamedTuple):
    """What a statement says, comparable across sessions."""

    key: str
    opening: int
    closing: int
    remaining: int
    movements: tuple[tuple[str, int, datetime], ...]
    lines: tuple[WorkLine, ...]


def _view(statement: Statement) -> View:
    return View(
        statement.client_key,
        statement.opening,
        statement.closing,
        statement.remaining,
        tuple((m.kind, m.minutes, m.at) for m in statement.movements),
        statement.lines,
    )


def test_build_statements_says_what_build_statement_says_per_client(
    db_url: str, tmp_path: Path
) -> None:
    desk = Desk(db_url, tmp_path, MANY)
    desk.topup("busy", 300, "INV-B1", BEFORE)
    desk.topup("expiring", 120, "INV-E1", BEFORE, expires=EXPIRES)
    desk.topup("before", 90, "INV-P1", BEFORE)
    busy, rate, expiring = (
        desk.ticket("busy", 1),
        desk.ticket("rate", 2),
        desk.ticket("expiring", 3),
    )
    desk.work(busy, 50, "w1", datetime(2026, 11, 16, 10, 0, tzinfo=UTC))  # 60 billed
    desk.work(expiring, 20, "w2", datetime(2026, 11, 16, 11, 0, tzinfo=UTC))  # 30 billed
    desk.topup("busy", 600, "INV-B2", datetime(2026, 11, 17, 8, 0, tzinfo=UTC))
    desk.work(rate, 40, "w3", datetime(2026, 11, 19, 9, 0, tzinfo=UTC))  # 60 at the rate
    # One intervention: 50 + 130 is 180 in all, so 120 more.
    desk.work(busy, 130, "w4", datetime(2026, 11, 19, 14, 0, tzinfo=UTC))
    desk.work(busy, 30, "w5", datetime(2026, 11, 23, 6, 0, tzinfo=UTC))  # next week
    assert desk.expiries("expiring") == []  # nothing has looked at the expired card yet

    order = ("rate", "empty", "expiring", "busy", "before")  # not the order of the ids
    settings = desk.settings
    with desk.db.session() as session:  # one at a time, then rolled back
        clients = [client_info_by_key(session, key) for key in order]
        known = [c for c in clients if c is not None]
        assert len(known) == len(order)
        one_views = [
            _view(build_statement(session, settings, client, WEEK, DUE)) for client in known
        ]
        session.rollback()
    assert desk.expiries("expiring") == []
    with desk.db.transaction() as session:  # all at once, from the same ledger
        many = build_statements(session, settings, known, WEEK, DUE)
        many_views = [_view(s) for s in many]
    assert [s.client_key for s in many] == list(order)
    assert many_views == one_views
    # The expiry was written by the balances, before the movements were read, and
    # once: building them again (the expiry now read from the ledger) says the same.
    assert desk.expiries("expiring") == [(-90, EXPIRES)]
    with desk.db.transaction() as session:
        again = [_view(s) for s in build_statements(session, settings, known, WEEK, DUE)]
    assert again == many_views
    assert desk.expiries("expiring") == [(-90, EXPIRES)]

    by_key = {view.key: view for view in many_views}
    _, opening, closing, remaining, movements, lines = by_key["expiring"]
    assert (opening, closing, remaining) == (120, 0, 0)
    assert movements == (("expiry", -90, EXPIRES),)
    assert [(line.billed, line.drawn) for line in lines] == [(30, 30)]
    _, opening, closing, remaining, movements, lines = by_key["busy"]
    second = -(-(50 + 130) // 15) * 15 - 60
    assert (opening, closing, remaining) == (
        300,
        300 + 600 - 60 - second,
        300 + 600 - 60 - second - 30,
    )
    assert movements == (("purchase", 600, datetime(2026, 11, 17, 8, 0, tzinfo=UTC)),)
    assert [(line.raw, line.billed) for line in lines] == [(50, 60), (130, second)]
    _, opening, closing, remaining, movements, lines = by_key["rate"]
    assert (opening, closing, remaining, movements) == (0, 0, 0, ())  # rate adjustment not listed
    assert [(line.billed, line.at_rate) for line in lines] == [(60, 60)]
    assert by_key["empty"][1:] == (0, 0, 0, (), ())
    assert by_key["before"][1:] == (90, 90, 90, (), ())
    desk.dispose()
