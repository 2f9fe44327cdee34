"""Weekly statements at scale: ``send_weekly_statements`` for many clients.

A fresh, migrated database and a config with ``clients`` clients (each with an
authorised contact, mirrored into the database by maildesk's own
``sync_clients``), one ticket each and 20 ledger entries each: a purchase of
10 hours the week before and 19 ``#time`` bookings drawn from it during the
statement week. Then maildesk's own ``send_weekly_statements`` runs once at
the moment the statements are due and is timed: each client's statement is
built, rendered, given its CSV and .xlsx timesheets and queued in the outbox,
one transaction per client. Statements are not delivered here (the outbox is
the end of the measured work).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select

from bench.servers import database
from maildesk.store.db import Database

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Brussels: statements due
WEEK_START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
ENTRIES = 20


def _config(clients: int) -> str:
    parts = [
        """
[service]
support_address = "support@helpdesk.example"
support_name = "Helpdesk"
timezone = "Europe/Brussels"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"
"""
    ]
    for i in range(clients):
        parts.append(
            f"""
[[clients]]
id = "c{i:05d}"
name = "Client {i}"
contacts = [{{ email = "boss@c{i:05d}.example", name = "Boss", authorised = true }}]
"""
        )
    return "".join(parts)


def _load(db: Database, settings: Any) -> dict[str, float]:
    """Mirror the clients, then insert a ticket and 20 ledger entries per client."""
    from maildesk.store.directory import sync_clients
    from maildesk.store.models import Client, LedgerEntry, Ticket

    started = time.perf_counter()
    with db.transaction() as session:
        sync_clients(session, settings.clients)
    synced = time.perf_counter() - started
    with db.engine.connect() as conn:
        clients = conn.execute(select(Client.id, Client.key).order_by(Client.id)).all()
    tickets = cast(Table, Ticket.__table__)
    ledger = cast(Table, LedgerEntry.__table__)
    with db.engine.begin() as conn:
        conn.execute(
            insert(tickets),
            [
                {
                    "number": f"2026-{n + 1:06d}",
                    "subject": "Quiz grades not saved",
                    "client_id": cid,
                    "requester": f"boss@{key}.example",
                    "requester_role": "authorised",
                    "status": "open",
                    "missing": [],
                    "created_at": WEEK_START,
                    "updated_at": WEEK_START,
                }
                for n, (cid, key) in enumerate(clients)
            ],
        )
        ticket_of = dict(conn.execute(select(Ticket.client_id, Ticket.id)).all())
        conn.execute(
            insert(ledger),
            [
                {
                    "client_id": cid,
                    "at": WEEK_START - timedelta(days=10),
                    "kind": "purchase",
                    "minutes": 600,
                    "actor": "ann@helpdesk.example",
                    "reference": "10h card",
                    "idempotency_key": f"bench:purchase:{key}",
                }
                for cid, key in clients
            ],
        )
        bundle_of = dict(
            conn.execute(
                select(LedgerEntry.client_id, func.min(LedgerEntry.id)).group_by(
                    LedgerEntry.client_id
                )
            ).all()
        )
        rows = [
            {
                "client_id": cid,
                "at": WEEK_START + timedelta(hours=3 * j),
                "kind": "work",
                "minutes": -15,
                "raw_minutes": 12,
                "bundle_id": bundle_of[cid],
                "ticket_id": ticket_of[cid],
                "actor": "ann@helpdesk.example",
                "reference": "",
                "note": "Checked the gradebook settings",
                "idempotency_key": f"bench:work:{key}:{j}",
            }
            for cid, key in clients
            for j in range(ENTRIES - 1)
        ]
        for start in range(0, len(rows), 20_000):
            conn.execute(insert(ledger), rows[start : start + 20_000])
    return {"sync_clients_s": round(synced, 2), "load_s": round(time.perf_counter() - started, 2)}


def statements_run(db_kind: str, workdir: Path, *, clients: int) -> dict[str, Any]:
    """Time one ``send_weekly_statements`` over ``clients`` clients on ``db_kind``."""
    try:
        from maildesk.billing.weekly import send_weekly_statements
    except ImportError as exc:
        return {"db": db_kind, "available": False, "note": f"no weekly statements ({exc})"}
    from maildesk.core.clock import FakeClock
    from maildesk.core.config import settings_from_toml
    from maildesk.notify.context import MailContext
    from maildesk.notify.render import Renderer
    from maildesk.store.models import OutboxMail

    started = time.perf_counter()
    settings = settings_from_toml(_config(clients), "bench/statements.py")
    config_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "db": db_kind,
        "available": True,
        "clients": clients,
        "entries_per_client": ENTRIES,
        "config_validation_s": round(config_s, 2),
    }
    with database(db_kind, workdir, "stmt") as url:
        db = Database(url)
        try:
            db.upgrade()
            out |= _load(db, settings)
            ctx = MailContext.create(settings, FakeClock(NOW), Renderer(default_language="en"))
            started = time.perf_counter()
            sent = send_weekly_statements(db, ctx, NOW)
            elapsed = time.perf_counter() - started
            with db.session() as session:
                queued = session.scalar(
                    select(func.count(OutboxMail.id)).where(OutboxMail.kind == "weekly_statement")
                )
                size = session.scalar(
                    select(func.avg(func.length(OutboxMail.data))).where(
                        OutboxMail.kind == "weekly_statement"
                    )
                )
        finally:
            db.dispose()
    out |= {
        "sent": sent,
        "queued": int(queued or 0),
        "avg_mail_kb": round(float(size or 0) / 1024, 1),
        "s": round(elapsed, 2),
        "ms_per_client": round(elapsed / clients * 1000, 2),
        "extrapolated_10k_s": round(elapsed / clients * 10_000, 1),
    }
    return out
