"""Operator endpoints on a loopback address: ``/healthz`` and ``/metrics`` (Prometheus).

Both read the database rather than counters in memory, so they say the same
thing whichever of several maildesk processes answers, and survive restarts.
A tiny standard-library HTTP server is enough for two read-only endpoints;
the client portal is a separate concern.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from maildesk.core.clock import Clock, ensure_utc
from maildesk.store.db import Database
from maildesk.store.health import FAILING, health_rows
from maildesk.store.models import (
    Event,
    MailboxState,
    Message,
    OutboxMail,
    Page,
    QuarantinedMail,
    Ticket,
)

log = logging.getLogger(__name__)

EVENT_COUNTERS = {
    "sla_warning_sent": "maildesk_sla_warnings_total",
    "sla_breach_sent": "maildesk_sla_breaches_total",
}


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inner}}} {value:g}"
    return f"{name} {value:g}"


def metrics_text(db: Database, now: datetime) -> str:
    """The metrics in the Prometheus text format."""
    out: list[str] = []
    with db.session() as session:
        out.append("# HELP maildesk_mails_in_total Mails taken in, by what became of them.")
        out.append("# TYPE maildesk_mails_in_total counter")
        for disposition, count in session.execute(
            select(Message.disposition, func.count(Message.id))
            .where(Message.direction == "in")
            .group_by(Message.disposition)
        ):
            out.append(_line("maildesk_mails_in_total", count, {"outcome": disposition}))
        held = session.scalar(select(func.count(QuarantinedMail.id))) or 0
        out.append(_line("maildesk_mails_in_total", held, {"outcome": "quarantined"}))

        out.append("# HELP maildesk_tickets_opened_total Tickets opened.")
        out.append("# TYPE maildesk_tickets_opened_total counter")
        out.append(
            _line(
                "maildesk_tickets_opened_total", session.scalar(select(func.count(Ticket.id))) or 0
            )
        )

        out.append("# HELP maildesk_outbox_mails Mails in the outbox, by status.")
        out.append("# TYPE maildesk_outbox_mails gauge")
        for status, count in session.execute(
            select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status)
        ):
            out.append(_line("maildesk_outbox_mails", count, {"status": status}))
        oldest = session.scalar(
            select(func.min(OutboxMail.created_at)).where(OutboxMail.status == "pending")
        )
        age = 0.0 if oldest is None else (now - ensure_utc(oldest)).total_seconds()
        out.append("# HELP maildesk_outbox_oldest_pending_seconds Age of the oldest unsent mail.")
        out.append("# TYPE maildesk_outbox_oldest_pending_seconds gauge")
        out.append(_line("maildesk_outbox_oldest_pending_seconds", max(age, 0.0)))

        out.append("# HELP maildesk_deliveries_total Outgoing mails delivered or given up.")
        out.append("# TYPE maildesk_deliveries_total counter")
        sent = (
            session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == "sent"))
            or 0
        )
        failed = (
            session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == "failed"))
            or 0
        )
        out.append(_line("maildesk_deliveries_total", sent, {"result": "sent"}))
        out.append(_line("maildesk_deliveries_total", failed, {"result": "failed"}))

        counts = dict(
            session.execute(
                select(Event.kind, func.count(Event.id))
                .where(Event.kind.in_(list(EVENT_COUNTERS)))
                .group_by(Event.kind)
            ).all()
        )
        for kind, name in EVENT_COUNTERS.items():
            out.append(f"# TYPE {name} counter")
            out.append(_line(name, counts.get(kind, 0)))
        out.append("# TYPE maildesk_pages_total counter")
        out.append(_line("maildesk_pages_total", session.scalar(select(func.count(Page.id))) or 0))

        out.append("# HELP maildesk_mailbox_last_success_timestamp_seconds Last good poll.")
        out.append("# TYPE maildesk_mailbox_last_success_timestamp_seconds gauge")
        for state in session.scalars(select(MailboxState)):
            if state.last_success_at is not None:
                out.append(
                    _line(
                        "maildesk_mailbox_last_success_timestamp_seconds",
                        state.last_success_at.timestamp(),
                        {"source": state.source, "folder": state.folder},
                    )
                )

        rows = health_rows(session)
        out.append(
            "# HELP maildesk_source_up A mailbox or outgoing delivery works (1) or fails (0)."
        )
        out.append("# TYPE maildesk_source_up gauge")
        for row in rows:
            out.append(
                _line("maildesk_source_up", int(row.state != FAILING), {"source": row.source})
            )
        out.append("# HELP maildesk_source_last_success_timestamp_seconds Its last success.")
        out.append("# TYPE maildesk_source_last_success_timestamp_seconds gauge")
        for row in rows:
            if row.last_success_at is not None:
                out.append(
                    _line(
                        "maildesk_source_last_success_timestamp_seconds",
                        row.last_success_at.timestamp(),
                        {"source": row.source},
                    )
                )
        out.append("# HELP maildesk_source_failing_since_timestamp_seconds Start of its outage.")
        out.append("# TYPE maildesk_source_failing_since_timestamp_seconds gauge")
        for row in rows:
            if row.failing_since is not None:
                out.append(
                    _line(
                        "maildesk_source_failing_since_timestamp_seconds",
                        row.failing_since.timestamp(),
                        {"source": row.source},
                    )
                )
    return "\n".join(out) + "\n"


def _iso(value: datetime | None) -> str | None:
    return ensure_utc(value).isoformat() if value is not None else None


def health(db: Database, now: datetime) -> tuple[bool, dict[str, object]]:
    """Whether the database answers; each mailbox's last good poll; each source's state.

    A failing mailbox or relay makes the report ``"status": "degraded"`` and
    lists it under ``failing``, but the answer stays 200: the process works,
    and restarting it does not fix a refused password. Only an unreachable
    database makes it 503.
    """
    report: dict[str, object] = {"time": now.isoformat()}
    try:
        with db.session() as session:
            session.execute(text("SELECT 1"))
            report["mailboxes"] = {
                f"{s.source}/{s.folder}": s.last_success_at.isoformat()
                if s.last_success_at
                else None
                for s in session.scalars(select(MailboxState))
            }
            rows = health_rows(session)
            report["sources"] = {
                row.source: {
                    "label": row.label,
                    "state": row.state,
                    "failing_since": _iso(row.failing_since),
                    "last_success_at": _iso(row.last_success_at),
                    "last_error_at": _iso(row.last_error_at),
                    "last_error": row.last_error,
                    "what_to_do": row.hint,
                }
                for row in rows
            }
            failing = [row.source for row in rows if row.state == FAILING]
    except SQLAlchemyError as exc:
        report["database"] = f"unavailable: {type(exc).__name__}"
        report["status"] = "down"
        return False, report
    report["database"] = "ok"
    report["failing"] = failing
    report["status"] = "degraded" if failing else "ok"
    return True, report


def _handler(db: Database, clock: Clock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            now = clock.now()
            if self.path == "/healthz":
                ok, report = health(db, now)
                self._send(200 if ok else 503, "application/json", json.dumps(report))
            elif self.path == "/metrics":
                try:
                    body = metrics_text(db, now)
                except SQLAlchemyError as exc:
                    self._send(503, "text/plain", f"database unavailable: {exc}\n")
                    return
                self._send(200, "text/plain; version=0.0.4", body)
            else:
                self._send(404, "text/plain", "not found: try /healthz or /metrics\n")

        def _send(self, status: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("ops %s", format % args)

    return Handler


class OpsServer:
    """Serves /healthz and /metrics in a background thread."""

    def __init__(self, host: str, port: int, db: Database, clock: Clock) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(db, clock))
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ops-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
