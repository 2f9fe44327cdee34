"""The staff queue: `maildesk tickets list` filters and order, and the ticket commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.sla import timers
from maildesk.sla.clock import calendar_for, mark_resolved, pause_clock, start_clock, targets_for
from maildesk.sla.queue import QueueFilter, queue
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, Event, Ticket
from tests.integration.helpers import settings_for
from tests.integration.sla_scenario import POLICY, bxl

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")
BETA = """
[[clients]]
id = "acme"
name = "Acme"

[[clients]]
id = "beta"
name = "Beta"
"""
NOW = bxl(2026, 11, 24, 15, 0)  # a Tuesday, in business hours


@dataclass(frozen=True)
class Spec:
    number: str
    priority: str
    started: datetime
    client: str = "acme"
    assignee: str | None = None
    paused: datetime | None = None
    closed: datetime | None = None


SPECS = (
    Spec("T-A", "high", bxl(2026, 11, 24, 13, 0)),  # response due 14:00: breached
    Spec("T-B", "normal", bxl(2026, 11, 24, 11, 30)),  # due 15:30, warns at 75 %: 14:30
    Spec("T-C", "low", bxl(2026, 11, 24, 14, 0)),
    Spec("T-D", "normal", bxl(2026, 11, 24, 14, 30), paused=bxl(2026, 11, 24, 14, 45)),
    Spec("T-E", "normal", bxl(2026, 11, 24, 10, 0), closed=bxl(2026, 11, 24, 12, 0)),
    Spec(
        "T-F", "normal", bxl(2026, 11, 24, 14, 50), client="beta", assignee="bob@helpdesk.example"
    ),
)


def fill(session: Session, settings: Settings) -> None:
    sync_clients(session, settings.clients)
    ids = {c.key: c.id for c in session.scalars(select(Client))}
    policy = settings.policies["default"]
    cal = calendar_for(policy)
    for spec in SPECS:
        ticket = Ticket(
            number=spec.number,
            subject=f"Subject {spec.number}",
            client_id=ids[spec.client],
            requester=f"someone@{spec.client}.example",
            status="open",
            priority=spec.priority,
            language="en",
            policy="default",
            assignee=spec.assignee,
            created_at=spec.started,
            updated_at=spec.started,
        )
        session.add(ticket)
        session.flush()
        start_clock(ticket, cal, policy, spec.started)
        if spec.paused:
            pause_clock(ticket, cal, spec.paused)
            ticket.status = "waiting"
        if spec.closed:
            mark_resolved(ticket, cal, spec.closed)
            ticket.status, ticket.closed_at = "closed", spec.closed


def expected_state(
    spec: Spec, settings: Settings, now: datetime = NOW
) -> tuple[str, datetime | None]:
    """The state and next due time by the rule, from the SLA functions alone."""
    policy = settings.policies["default"]
    cal = calendar_for(policy)
    state = timers.start(cal, targets_for(policy, spec.priority), spec.started)
    if spec.closed:
        return "stopped", None
    if spec.paused:
        return "paused", None
    due = min(d for d in (state.response_due_at, state.resolution_due_at) if d)
    if due <= now:
        return "breached", due
    warn = timers.warning_at(
        state, cal, targets_for(policy, spec.priority), policy.sla.warn_at_percent
    )
    if any(w is not None and w <= now for w in warn):
        return "warning", due
    return "running", due


@pytest.fixture
def filled(db_url: str, tmp_path: Path) -> tuple[Settings, Path, Database]:
    settings, config = settings_for(db_url, tmp_path, extra=POLICY + BETA)
    db = Database(db_url)
    db.upgrade()
    with db.transaction() as session:
        fill(session, settings)
    return settings, config, db


def numbers(settings: Settings, db: Database, wanted: QueueFilter, sort: str = "due") -> list[str]:
    with db.session() as session:
        return [r.number for r in queue(session, settings, NOW, wanted, sort)]  # type: ignore[arg-type]


def test_the_queue_orders_breaches_then_warnings_then_by_due_time(
    filled: tuple[Settings, Path, Database],
) -> None:
    settings, _, db = filled
    states = {s.number: expected_state(s, settings) for s in SPECS}
    assert states["T-A"][0] == "breached" and states["T-B"][0] == "warning"
    rank = {"breached": 0, "warning": 1, "running": 2}
    by_rule = sorted(
        SPECS,
        key=lambda s: (
            rank.get(states[s.number][0], 3),
            states[s.number][1] or datetime.max.replace(tzinfo=NOW.tzinfo),
            -s.started.timestamp(),
        ),
    )
    with db.session() as session:
        rows = queue(session, settings, NOW, QueueFilter(), "due")
    assert [r.number for r in rows] == [s.number for s in by_rule]
    assert {r.number: (r.sla, r.next_due) for r in rows} == states
    db.dispose()


def test_each_filter_keeps_exactly_the_tickets_it_names(
    filled: tuple[Settings, Path, Database],
) -> None:
    settings, _, db = filled
    states = {s.number: expected_state(s, settings) for s in SPECS}
    wednesday_10 = bxl(2026, 11, 25, 10, 0)
    policy = settings.policies["default"]
    cal = calendar_for(policy)

    def due_before(spec: Spec, limit: datetime) -> bool:
        if spec.paused or spec.closed:
            return False
        state = timers.start(cal, targets_for(policy, spec.priority), spec.started)
        return any(
            d is not None and d < limit for d in (state.response_due_at, state.resolution_due_at)
        )

    cases = {
        QueueFilter(statuses=("waiting",)): {s.number for s in SPECS if s.paused},
        QueueFilter(client="beta"): {s.number for s in SPECS if s.client == "beta"},
        QueueFilter(priorities=("high", "low")): {
            s.number for s in SPECS if s.priority in ("high", "low")
        },
        QueueFilter(assignee="none"): {s.number for s in SPECS if s.assignee is None},
        QueueFilter(assignee="bob@helpdesk.example"): {
            s.number for s in SPECS if s.assignee == "bob@helpdesk.example"
        },
        QueueFilter(overdue=True): {n for n, (state, _) in states.items() if state == "breached"},
        QueueFilter(due_before=wednesday_10): {
            s.number for s in SPECS if due_before(s, wednesday_10)
        },
        QueueFilter(client="beta", priorities=("high",)): set(),
    }
    for wanted, expected in cases.items():
        assert set(numbers(settings, db, wanted)) == expected, wanted
    assert numbers(settings, db, QueueFilter(limit=2), "newest") == ["T-F", "T-E"]
    db.dispose()


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILDESK_CONFIG"}
    return subprocess.run(
        [MAILDESK, "tickets", *args, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_list_has_a_header_and_the_commands_act_as_staff_mail_does(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings, config = settings_for(sqlite_url, tmp_path, extra=POLICY + BETA)
    db = Database(sqlite_url)
    db.upgrade()
    with db.transaction() as session:
        fill(session, settings)
    listed = cli(config, "list", "--client", "beta")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == [
        "NUMBER",
        "CLIENT",
        "PRIORITY",
        "STATUS",
        "ASSIGNEE",
        "NEXT",
        "DUE",
        "AGE",
        "SUBJECT",
    ]
    assert [line.split()[0] for line in lines] == ["T-F"]
    as_json = json.loads(cli(config, "list", "--status", "waiting", "--json").stdout)
    assert [r["number"] for r in as_json] == ["T-D"]
    assert cli(config, "list", "--status", "sleeping").returncode == 2
    assert cli(config, "list", "--due-before", "tomorrow").returncode == 2

    done = cli(config, "priority", "T-C", "high", "--by", "Ann")
    assert done.returncode == 0, done.stderr
    done = cli(config, "assign", "T-C", "cas")
    assert done.returncode == 0, done.stderr
    done = cli(config, "close", "T-B", "--by", "bob")
    assert done.returncode == 0, done.stderr
    assert cli(config, "priority", "T-C", "urgent").returncode == 2
    assert cli(config, "close", "T-404").returncode == 1
    with db.session() as session:
        c = session.scalars(select(Ticket).where(Ticket.number == "T-C")).one()
        b = session.scalars(select(Ticket).where(Ticket.number == "T-B")).one()
        events = session.execute(
            select(Ticket.number, Event.kind, Event.actor, Event.detail)
            .join(Ticket, Ticket.id == Event.ticket_id)
            .order_by(Event.id)
        ).all()
    db.dispose()
    assert (c.priority, c.priority_rule, c.assignee) == (
        "high",
        "changed by ann@helpdesk.example",
        "cas@helpdesk.example",
    )
    assert (b.status, b.closed_at is not None, b.resolved_at is not None) == ("closed", True, True)
    kinds = [(n, k, a, d.get("via")) for n, k, a, d in events if k.startswith("command_")]
    assert kinds == [
        ("T-C", "command_priority", "ann@helpdesk.example", "cli"),
        ("T-C", "command_assign", kinds[1][2], "cli"),
        ("T-B", "command_status", "bob@helpdesk.example", "cli"),
    ]
    assert kinds[1][2].startswith("cli:"), "without --by: the OS user"
