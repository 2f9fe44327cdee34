"""/healthz and /metrics over real HTTP, from a real database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from maildesk.core.clock import FakeClock
from maildesk.notify.outbox import Draft, Identity, enqueue
from maildesk.store.db import Database
from maildesk.web.ops import OpsServer

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _get(server: OpsServer, path: str) -> tuple[int, str]:
    host, port = server.address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_and_metrics_reflect_the_database(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade()
    clock = FakeClock(NOW)
    identity = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "t")
    with db.transaction() as session:
        enqueue(
            session,
            Draft(kind="ack", to=("a@acme.example",), subject="s", body="b"),
            identity,
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        )
    server = OpsServer("127.0.0.1", 0, db, clock)
    server.start()
    try:
        status, body = _get(server, "/healthz")
        assert status == 200
        assert json.loads(body)["database"] == "ok"
        status, metrics = _get(server, "/metrics")
        assert status == 200
        assert 'maildesk_outbox_mails{status="pending"} 1' in metrics
        assert "maildesk_outbox_oldest_pending_seconds 3600" in metrics
        assert "maildesk_tickets_opened_total 0" in metrics
        assert _get(server, "/nope")[0] == 404
    finally:
        server.stop()
        db.dispose()


def test_health_is_503_when_the_database_is_gone(tmp_path: object) -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    server = OpsServer("127.0.0.1", 0, db, FakeClock(NOW))
    server.start()
    try:
        status, body = _get(server, "/healthz")
        assert status == 503
        assert "unavailable" in json.loads(body)["database"]
    finally:
        server.stop()
