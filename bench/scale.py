"""Scale: the SLA due-time query over many open tickets, look-ups among a million messages.

A fresh database gets maildesk's schema through its own migrations
(``Database.upgrade``), then:

- ``tickets`` open tickets are inserted with SQLAlchemy Core (60 % already
  answered; due times from a few hours overdue to weeks ahead, about 0.5 % of
  each target overdue, as in a helpdesk whose sweep runs every minute; where
  the schema has the warn columns, their warning points computed with
  maildesk's own ``timers.warning_at`` under the sweep's policy, as
  ``sla.clock`` stores them), and the queries a sweep needs are timed (several
  times; the rows are fetched) and shown with the database's query plan, to
  prove the indexes on ``response_due_at`` / ``resolution_due_at`` (and
  ``*_warn_at``) are used;
- where maildesk has its SLA sweep (``maildesk.sla.escalation.sweep``), the
  real sweep is timed too, in steady state: the notices already due are marked
  sent (their ``Once`` keys, and the warn columns cleared), as earlier sweeps
  would have left them, so the timed sweep has nothing new to send; the rows
  it reads (``read``) are reported with its time;
- ``messages`` messages (half in, half out, spread over those tickets) are
  bulk-loaded through the driver (executemany on SQLite, COPY on PostgreSQL),
  and maildesk's own look-ups are timed: the ticket of a Message-ID
  (``ticket_by_message_ids``, used for every reply), a ticket by number
  (``ticket_by_number``, for subject tags) and the "seen before?" check every
  inbound mail starts with (``already_seen``, here for new mail: a miss).

The plans are the SQL maildesk itself sends, captured while it runs. On
PostgreSQL the tables are ANALYZEd after loading, as autovacuum would; SQLite
is left as maildesk leaves it (no ANALYZE).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Engine, Table, event, insert, or_, select, update
from sqlalchemy.orm import Session

from bench.servers import database
from maildesk.ingest.context import already_seen
from maildesk.store.db import Database
from maildesk.store.models import Client, Ticket
from maildesk.store.tickets import ticket_by_message_ids, ticket_by_number

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
_CHUNK = 10_000
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect every (statement, parameters) the engine sends meanwhile."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def explain(engine: Engine, statement: str, params: Any) -> list[str]:
    """The query plan of ``statement`` (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)."""
    prefix = (
        "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, COSTS) "
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, params).all()
    if engine.dialect.name == "sqlite":
        return [str(row[-1]) for row in rows]
    return [str(row[0]) for row in rows]


def uses_index(plan: list[str], index: str) -> bool:
    """Whether a plan names ``index``."""
    return any(index in line for line in plan)


def _timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _warn_points() -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The warn columns ``sla.clock`` would store for a row, if this maildesk has them."""
    if "response_warn_at" not in Ticket.__table__.c:
        return None
    from maildesk.core.config import settings_from_toml
    from maildesk.sla import timers
    from maildesk.sla.clock import calendar_for, targets_for

    policy = settings_from_toml(SWEEP_SETTINGS, "bench/scale.py").policies["default"]
    cal = calendar_for(policy)

    def columns(row: dict[str, Any]) -> dict[str, Any]:
        sla = {name: row.get(name) for name in timers.SlaState().columns()}
        state = timers.SlaState.from_record(SimpleNamespace(**sla))
        points = timers.warning_at(
            state, cal, targets_for(policy, row["priority"]), policy.sla.warn_at_percent
        )
        return {"response_warn_at": points.response, "resolution_warn_at": points.resolution}

    return columns


def load_tickets(db: Database, count: int, rng: random.Random) -> tuple[int, list[str]]:
    """Insert ``count`` open tickets; returns the client id and a sample of numbers."""
    warn_points = _warn_points()
    with db.transaction() as session:
        client = Client(key="bench", name="Bench Learning")
        session.add(client)
        session.flush()
        client_id = client.id
    sample: list[str] = []
    table = cast(Table, Ticket.__table__)
    with db.engine.begin() as conn:
        for start in range(0, count, _CHUNK):
            rows = []
            for i in range(start, min(start + _CHUNK, count)):
                created = NOW - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
                responded = rng.random() < 0.6
                number = f"2026-{i + 1:06d}"
                if i % max(count // 1000, 1) == 0:
                    sample.append(number)
                rows.append(
                    {
                        "number": number,
                        "subject": f"Problem {i} with the quiz",
                        "client_id": client_id,
                        "requester": f"user{i % 5000}@bench.example",
                        "requester_role": "domain",
                        "status": "open",
                        "priority": rng.choice(("high", "normal", "normal", "low")),
                        "priority_rule": "policy default",
                        "language": "en",
                        "policy": "default",
                        "missing": [],
                        "approval": "none",
                        "billable": False,
                        "created_at": created,
                        "updated_at": created,
                        "clock_started_at": created,
                        "responded_at": created + timedelta(hours=1) if responded else None,
                        "response_due_at": None if responded else _due(rng),
                        "resolution_due_at": _due(rng),
                        "escalation_level": 0,
                    }
                )
                if warn_points is not None:
                    rows[-1].update(warn_points(rows[-1]))
            conn.execute(insert(table), rows)
    return client_id, sample


def _due(rng: random.Random) -> datetime:
    """About 0.5 % a few hours overdue, the rest 3 to 30 days ahead."""
    if rng.random() < 0.005:
        return NOW - timedelta(minutes=rng.randint(1, 12 * 60))
    return NOW + timedelta(minutes=rng.randint(3 * 24 * 60, 30 * 24 * 60))


def load_messages(
    db: Database, count: int, tickets: int, rng: random.Random
) -> tuple[list[str], float]:
    """Bulk-load ``count`` messages through the driver; returns a Message-ID sample and the time."""
    columns = (
        'ticket_id, direction, message_id, in_reply_to, "references", sender, recipients,'
        " subject, text, raw_sha256, source_key, disposition, created_at"
    )
    sample: list[str] = []
    every = max(count // 1000, 1)
    sqlite = db.dialect == "sqlite"
    created: object = NOW.strftime(_SQLITE_TIME) if sqlite else NOW

    def rows(start: int, stop: int) -> Iterator[tuple[object, ...]]:
        for i in range(start, stop):
            mid = f"{rng.getrandbits(64):016x}.{i}@mail.bench.example"
            if i % every == 0:
                sample.append(mid)
            inbound = i % 2 == 0
            yield (
                i % tickets + 1,
                "in" if inbound else "out",
                mid,
                None,
                "",
                "user@bench.example" if inbound else "support@helpdesk.example",
                "support@helpdesk.example",
                "Re: [#2026-000001] Problem with the quiz",
                "",
                None,
                f"imap:bench:INBOX:1:{i}" if inbound else None,
                "follow_up" if inbound else "ack",
                created,
            )

    started = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        if sqlite:
            marks = ", ".join("?" * 13)
            for start in range(0, count, 50_000):
                driver.execute("BEGIN")
                driver.executemany(
                    f"INSERT INTO messages ({columns}) VALUES ({marks})",
                    rows(start, min(start + 50_000, count)),
                )
                driver.execute("COMMIT")
        else:
            with driver.cursor() as cur, cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:
                for row in rows(0, count):
                    copy.write_row(row)
            driver.commit()
    finally:
        raw.close()
    return sample, time.perf_counter() - started


_DUE_INDEXES = ("ix_tickets_response_due_at", "ix_tickets_resolution_due_at")
_WARN_INDEXES = ("ix_tickets_response_warn_at", "ix_tickets_resolution_warn_at")


def _sweep_queries(dialect: str) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """The queries to time, with the indexes each must use."""
    cols = (Ticket.id, Ticket.number, Ticket.priority, Ticket.response_due_at)
    queries: dict[str, tuple[Any, tuple[str, ...]]] = {
        "response_due": (
            select(*cols).where(Ticket.response_due_at <= NOW).order_by(Ticket.response_due_at),
            _DUE_INDEXES[:1],
        ),
        "response_or_resolution_due": (
            select(*cols, Ticket.resolution_due_at).where(
                or_(Ticket.response_due_at <= NOW, Ticket.resolution_due_at <= NOW)
            ),
            _DUE_INDEXES,
        ),
    }
    try:
        from maildesk.sla.escalation import sweep_selection
    except ImportError:
        return queries
    queries["warn_or_due"] = (
        select(*cols, Ticket.resolution_due_at).where(sweep_selection(NOW, dialect)),
        _DUE_INDEXES + _WARN_INDEXES,
    )
    return queries


def scale_run(
    db_kind: str, workdir: Path, *, tickets: int, messages: int, lookups: int = 1000
) -> dict[str, Any]:
    """The scale measurements on a fresh database of ``db_kind``."""
    rng = random.Random(f"maildesk-bench-scale:{tickets}:{messages}")
    out: dict[str, Any] = {"db": db_kind, "tickets": tickets, "messages": messages}
    with database(db_kind, workdir, "scale") as url:
        db = Database(url)
        try:
            db.upgrade()
            started = time.perf_counter()
            _client, numbers = load_tickets(db, tickets, rng)
            out["load_tickets_s"] = round(time.perf_counter() - started, 2)
            if db.dialect == "postgresql":
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE tickets")
            out["sweep"] = _sweep(db)
            out["real_sweep"] = _real_sweep(db)
            mids, load_s = load_messages(db, messages, tickets, rng)
            out["load_messages_s"] = round(load_s, 2)
            if db.dialect == "postgresql":
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE messages")
            out["lookups"] = _lookups(db, mids, numbers, lookups, rng)
        finally:
            db.dispose()
    return out


def _fetch_all(session: Session, stmt: Any) -> list[Any]:
    return list(session.execute(stmt).all())


def _sweep(db: Database) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, (stmt, indexes) in _sweep_queries(db.dialect).items():
        with db.session() as session:
            with captured(db.engine) as sql:
                session.execute(stmt).all()
            times, rows = _timed(partial(_fetch_all, session, stmt), 5)
        statement, params = sql[-1]
        plan = explain(db.engine, statement, params)
        result[name] = {
            "rows": len(rows),  # type: ignore[arg-type]
            "first_ms": round(times[0] * 1000, 2),
            "median_ms": round(statistics.median(times) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2),
            "sql": " ".join(statement.split()),
            "plan": plan,
            "uses_index": all(uses_index(plan, index) for index in indexes),
        }
    return result


SWEEP_SETTINGS = """
[service]
support_address = "support@helpdesk.example"
timezone = "Europe/Brussels"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[clients]]
id = "bench"
name = "Bench Learning"
domains = ["bench.example"]
match_domain = true
"""


def _real_sweep(db: Database) -> dict[str, Any]:
    """Time maildesk's own SLA sweep, if this maildesk has one, in steady state.

    Steady state is what a sweep every ``sweep_interval`` mostly meets: the
    notices already due were sent by earlier sweeps. Their ``Once`` keys are
    therefore claimed first (``notice_key``, the sweep's own key format), and
    warn columns already reached are cleared as the sweep clears them once a
    warning is sent, so the timed sweep finds nothing new to send.
    """
    try:
        from maildesk.sla.escalation import notice_key, sweep
    except ImportError as exc:
        return {"available": False, "note": f"no SLA sweep in this maildesk ({exc})"}
    from maildesk.core.clock import FakeClock
    from maildesk.core.config import settings_from_toml
    from maildesk.notify.context import MailContext
    from maildesk.notify.render import Renderer
    from maildesk.store.models import Once

    claimed = 0
    table = cast(Table, Ticket.__table__)
    with db.transaction() as session:
        overdue = session.execute(
            select(Ticket.id, Ticket.response_due_at, Ticket.resolution_due_at).where(
                or_(Ticket.response_due_at <= NOW, Ticket.resolution_due_at <= NOW)
            )
        ).all()
        keys = [
            notice_key(ticket_id, target, level)
            for ticket_id, response, resolution in overdue
            for target, due in (("response", response), ("resolution", resolution))
            if due is not None and due <= NOW
            for level in ("warning", "breach")
        ]
        warn_cols = [c for c in ("response_warn_at", "resolution_warn_at") if c in table.c]
        for column in warn_cols:
            target = column.removesuffix("_warn_at")
            reached = select(Ticket.id).where(table.c[column] <= NOW)
            warned = session.scalars(reached).all()
            keys.extend(notice_key(ticket_id, target, "warning") for ticket_id in warned)
            session.execute(update(table).where(table.c[column] <= NOW).values({column: None}))
        keys = sorted(set(keys))
        if keys:
            session.execute(insert(Once), [{"key": key, "at": NOW} for key in keys])
        claimed = len(keys)
    settings = settings_from_toml(SWEEP_SETTINGS, "bench/scale.py")
    ctx = MailContext.create(settings, FakeClock(NOW), Renderer(default_language="en"))
    runs: list[dict[str, Any]] = []
    # The first sweep of a process is "cold" (as every ``run --once`` is: compiled SQL,
    # calendars); the second is warm, as a long-running daemon's are.
    for label in ("cold", "warm"):
        if runs and runs[-1]["s"] > 10:
            break  # a slow cold sweep says enough; keep the run short
        started = time.perf_counter()
        result = sweep(db, ctx, NOW)
        elapsed = time.perf_counter() - started
        runs.append(
            {"run": label, "s": round(elapsed, 3)}
            | {k: v for k, v in vars(result).items() if isinstance(v, int)}
        )
    return {
        "available": True,
        "pre_claimed_keys": claimed,
        "runs": runs,
        "steady_s": runs[-1]["s"],  # warm if it ran, else cold
    }


def _lookups(
    db: Database, mids: list[str], numbers: list[str], count: int, rng: random.Random
) -> dict[str, Any]:
    probes: dict[str, Callable[[Session, int], object]] = {
        "ticket_by_message_id": lambda s, i: ticket_by_message_ids(s, [mids[i % len(mids)]]),
        "ticket_by_number": lambda s, i: ticket_by_number(s, numbers[i % len(numbers)]),
        "already_seen_new_mail": lambda s, i: already_seen(
            s, f"new{i}.{rng.getrandbits(32):08x}@mail.bench.example", f"imap:bench:INBOX:2:{i}"
        ),
    }
    indexes = {
        "ticket_by_message_id": ("uq_messages_message_id",),
        "ticket_by_number": ("uq_tickets_number",),
        "already_seen_new_mail": ("uq_messages_message_id", "uq_messages_source_key"),
    }
    out: dict[str, Any] = {}
    for name, probe in probes.items():
        with db.session() as session:
            with captured(db.engine) as sql:
                found = probe(session, 0)
            times = []
            for i in range(count):
                started = time.perf_counter()
                probe(session, i)
                times.append(time.perf_counter() - started)
                if i % 200 == 0:
                    session.expunge_all()
        plans = [explain(db.engine, st, params) for st, params in sql]
        flat = [line for plan in plans for line in plan]
        out[name] = _ms(times) | {
            "n": count,
            "found": found is not None,
            "plan": flat,
            "uses_index": all(uses_index(flat, ix) for ix in indexes[name])
            or (db.dialect == "sqlite" and _sqlite_autoindex(flat, name)),
        }
    return out


def _sqlite_autoindex(plan: list[str], name: str) -> bool:
    """SQLite names a UNIQUE constraint's index ``sqlite_autoindex_<table>_N``."""
    table = "tickets" if name == "ticket_by_number" else "messages"
    hits = [line for line in plan if f"sqlite_autoindex_{table}" in line]
    return len(hits) >= (2 if name == "already_seen_new_mail" else 1)
