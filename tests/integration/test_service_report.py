"""The monthly service report: figures from the SLA events, sent once per client and month.

A month (November 2026, Brussels office hours, Belgian holidays) of tickets is driven
through the SLA clock functions the pipeline uses; the report's percentages are then
recomputed here from the tickets' ``sla_*`` events by this file's own reading of the rule
(a target is met when decided before the due time in force just before), and checked
against verdicts worked out by hand from the contract.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.clock import FakeClock
from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from maildesk.report.figures import Month, client_figures
from maildesk.report.monthly import report_key
from maildesk.sla.clock import (
    calendar_for,
    mark_resolved,
    mark_responded,
    pause_clock,
    resume_clock,
    start_clock,
)
from maildesk.store.models import Client, Event, LedgerEntry, OutboxMail, Satisfaction, Ticket
from maildesk.store.once import claimed
from tests.integration.helpers import settings_for
from tests.integration.sla_scenario import POLICY, bxl

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")

CLIENTS = """
[policies.default.service_report]
enabled = true

[[clients]]
id = "acme"
name = "Acme"
contacts = [
  { email = "boss@acme.example", name = "Boss", authorised = true },
  { email = "user@acme.example", name = "User" },
]

[[clients]]
id = "beta"
name = "Beta"
language = "nl"
contacts = [{ email = "it@beta.example", name = "IT", authorised = true }]

[[clients]]
id = "gamma"
name = "Gamma"
contacts = [{ email = "user@gamma.example", name = "User" }]
"""


@dataclass(frozen=True)
class Spec:
    """One ticket's life: (what, when) steps after the clock starts at ``started``."""

    number: str
    client: str
    priority: str
    started: datetime
    steps: tuple[tuple[str, datetime], ...] = ()


SPECS = (
    # High 1 h / 4 h: answered 09:30 (due 10:00), solved 12:00 (due 13:00): both met.
    Spec(
        "A",
        "acme",
        "high",
        bxl(2026, 11, 2, 9),
        (("reply", bxl(2026, 11, 2, 9, 30)), ("resolve", bxl(2026, 11, 2, 12))),
    ),
    # High: answered 10:30 (due 10:00), solved 14:00 (due 13:00): both missed.
    Spec(
        "B",
        "acme",
        "high",
        bxl(2026, 11, 2, 9),
        (("reply", bxl(2026, 11, 2, 10, 30)), ("resolve", bxl(2026, 11, 2, 14))),
    ),
    # Normal 4 h / 2 d: waits on the client 10:00 Tue to 09:00 Thu, so the reply is due
    # Thu 12:00 (met at 11:30) and the resolution Fri 6 Nov 14:30 (missed on Mon 9 Nov).
    Spec(
        "C",
        "acme",
        "normal",
        bxl(2026, 11, 3, 9),
        (
            ("pause", bxl(2026, 11, 3, 10)),
            ("resume", bxl(2026, 11, 5, 9)),
            ("reply", bxl(2026, 11, 5, 11, 30)),
            ("resolve", bxl(2026, 11, 9, 10)),
        ),
    ),
    # Low 8 h / 5 d: answered in time; the resolution, due Thu 26 Nov 11:00, is still open
    # at the month's end: not counted, but listed once the sweep found it breached.
    Spec("D", "acme", "low", bxl(2026, 11, 20, 9), (("reply", bxl(2026, 11, 20, 10)),)),
    # Opened in October (reply decided then); resolution due Mon 2 Nov 15:30, done 3 Nov.
    Spec(
        "E",
        "acme",
        "normal",
        bxl(2026, 10, 30, 9),
        (("reply", bxl(2026, 10, 30, 10)), ("resolve", bxl(2026, 11, 3, 9))),
    ),
    # Normal: the reply was due Thu 12 Nov 13:00; support waits on the client from 15:00
    # (120 business minutes overdue, kept) and answers while waiting: missed.
    Spec(
        "H",
        "acme",
        "normal",
        bxl(2026, 11, 12, 9),
        (("pause", bxl(2026, 11, 12, 15)), ("reply", bxl(2026, 11, 13, 9))),
    ),
    # Beta: a normal ticket answered and solved the same morning.
    Spec(
        "G",
        "beta",
        "normal",
        bxl(2026, 11, 10, 9),
        (("reply", bxl(2026, 11, 10, 9, 15)), ("resolve", bxl(2026, 11, 10, 12))),
    ),
)
# Verdicts by hand from the contract (see the comments above): (ticket, target) -> met.
BY_HAND = {
    ("A", "response"): True,
    ("A", "resolution"): True,
    ("B", "response"): False,
    ("B", "resolution"): False,
    ("C", "response"): True,
    ("C", "resolution"): False,
    ("D", "response"): True,
    ("E", "resolution"): False,
    ("H", "response"): False,
    ("G", "response"): True,
    ("G", "resolution"): True,
}
# Ledger: (client, when, kind, minutes, worked).
LEDGER = (
    ("acme", bxl(2026, 10, 1, 9), "purchase", 600, 0),
    ("acme", bxl(2026, 10, 30, 11), "work", -120, 110),
    ("acme", bxl(2026, 11, 2, 12), "work", -60, 50),
    ("acme", bxl(2026, 11, 9, 10), "work", -30, 20),
    ("acme", bxl(2026, 12, 1, 9), "work", -15, 15),
)

# Answers to the "resolved" mail's links: (ticket, answer, when).
ANSWERS = (
    ("A", "satisfied", bxl(2026, 11, 2, 13)),
    ("B", "unsatisfied", bxl(2026, 11, 3, 9)),
    ("C", "satisfied", bxl(2026, 11, 9, 11)),
    ("E", "satisfied", bxl(2026, 10, 31, 10)),  # October's: not in November's report
)


def fill(session: Session, settings: Settings) -> None:
    ids = {c.key: c.id for c in session.scalars(select(Client))}
    policy = settings.policies["default"]
    cal = calendar_for(policy)
    for spec in SPECS:
        ticket = Ticket(
            number=spec.number,
            subject=f"Subject {spec.number}",
            client_id=ids[spec.client],
            requester=f"boss@{spec.client}.example",
            priority=spec.priority,
            created_at=spec.started,
            updated_at=spec.started,
        )
        session.add(ticket)
        session.flush()
        start_clock(ticket, cal, policy, spec.started)
        for step, at in spec.steps:
            if step == "reply":
                mark_responded(ticket, at)
            elif step == "pause":
                pause_clock(ticket, cal, at)
            elif step == "resume":
                resume_clock(ticket, cal, at)
            else:
                mark_resolved(ticket, cal, at)
    by_number = {t.number: t for t in session.scalars(select(Ticket))}
    for number, answer, at in ANSWERS:
        ticket = by_number[number]
        session.add(
            Satisfaction(
                ticket_id=ticket.id,
                client_id=ticket.client_id,
                answer=answer,
                link_issued_at=at,
                answered_at=at,
            )
        )
    for n, (client, at, kind, minutes, worked) in enumerate(LEDGER):
        session.add(
            LedgerEntry(
                client_id=ids[client],
                at=at,
                kind=kind,
                minutes=minutes,
                raw_minutes=worked,
                idempotency_key=f"test:{n}",
            )
        )


def verdicts_from_events(events: list[Event], start: datetime, end: datetime) -> dict[str, bool]:
    """This test's reading of the rule: per target, met when decided before the due in force.

    The due in force at an event is the one the last earlier ``sla_*`` event with due
    times left; while paused, the kept minutes must be above zero.
    """
    verdicts: dict[str, bool] = {}
    firsts: set[str] = set()
    for i, event in enumerate(events):
        targets = {"sla_responded": ["response"], "sla_resolved": ["response", "resolution"]}
        for target in targets.get(event.kind, []):
            if target == "response" and "response" in firsts:
                continue
            firsts.add(target) if target == "response" else None
            before = [e.detail for e in events[:i] if "response_due" in e.detail][-1]
            due, left = before[f"{target}_due"], before[f"{target}_left"]
            met = event.at < datetime.fromisoformat(due) if due else left > 0
            if start <= event.at < end:
                verdicts[target] = met
    return verdicts


@pytest.fixture
def desks(db_url: str, tmp_path: Path) -> Iterator[tuple[list[Maildesk], FakeClock, Path]]:
    settings, config = settings_for(db_url, tmp_path, extra=POLICY + CLIENTS)
    clock = FakeClock(bxl(2026, 11, 30, 12))
    pair = [Maildesk(settings, clock), Maildesk(settings, clock)]
    for desk in pair:
        desk.prepare()
    with pair[0].db.transaction() as session:
        fill(session, pair[0].settings)
    yield pair, clock, config
    for desk in pair:
        desk.db.dispose()


def test_percentages_match_the_sla_events(
    desks: tuple[list[Maildesk], FakeClock, Path],
) -> None:
    pair, clock, _ = desks
    # A high ticket opened late on the last day: the sweep finds its reply overdue.
    with pair[0].db.transaction() as session:
        acme = session.scalars(select(Client).where(Client.key == "acme")).one()
        f = Ticket(
            number="F",
            subject="Subject F",
            client_id=acme.id,
            requester="boss@acme.example",
            priority="high",
            created_at=bxl(2026, 11, 30, 16),
            updated_at=bxl(2026, 11, 30, 16),
        )
        session.add(f)
        session.flush()
        policy = pair[0].settings.policies["default"]
        start_clock(f, calendar_for(policy), policy, bxl(2026, 11, 30, 16))
    clock.set(bxl(2026, 11, 30, 17, 30))
    pair[0].sweep()

    month = Month(2026, 11)
    zone = "Europe/Brussels"
    start, end = month.start(zone), month.end(zone)
    with pair[0].db.session() as session:
        found: dict[str, dict[str, bool]] = {}
        for ticket in session.scalars(select(Ticket)):
            events = list(
                session.scalars(
                    select(Event)
                    .where(Event.ticket_id == ticket.id, Event.kind.like("sla_%"))
                    .order_by(Event.at, Event.id)
                )
            )
            found[ticket.number] = verdicts_from_events(events, start, end)
        assert {(n, t): met for n, v in found.items() for t, met in v.items()} == BY_HAND
        clients = {c.key: c for c in session.scalars(select(Client))}
        report = client_figures(session, clients["acme"], month, zone)
        beta = client_figures(session, clients["beta"], month, zone)

    acme_tickets = {s.number for s in SPECS if s.client == "acme"} | {"F"}
    for target, count in (("response", report.response), ("resolution", report.resolution)):
        verdicts = [found[n][target] for n in acme_tickets if target in found[n]]
        assert (count.met, count.total) == (sum(verdicts), len(verdicts))
        assert count.percent == round(100 * sum(verdicts) / len(verdicts), 1)
    assert (report.response.met, report.response.total) == (3, 5)
    assert (report.resolution.met, report.resolution.total) == (1, 4)
    assert beta.response.percent == 100.0 and beta.resolution.percent == 100.0

    created = [s for s in SPECS if s.client == "acme" and start <= s.started < end]
    assert report.received == {
        "high": 1 + sum(s.priority == "high" for s in created),
        "normal": sum(s.priority == "normal" for s in created),
        "low": sum(s.priority == "low" for s in created),
    }
    assert report.resolved == {"high": 2, "normal": 2, "low": 0}

    missed = {(n, t) for (n, t), met in BY_HAND.items() if not met and n != "G"}
    listed = {(b.number, b.target): b for b in report.breaches}
    assert set(listed) == missed | {("F", "response"), ("D", "resolution")}
    assert listed[("F", "response")].actual is None, "still open at the month's end"
    assert listed[("D", "resolution")].due == bxl(2026, 11, 26, 11)
    assert listed[("B", "response")].due == bxl(2026, 11, 2, 10)
    assert listed[("C", "resolution")].due == bxl(2026, 11, 6, 14, 30)
    assert [(p.start, p.end) for p in listed[("C", "resolution")].pauses] == [
        (bxl(2026, 11, 3, 10), bxl(2026, 11, 5, 9))
    ]

    november = [e for e in LEDGER if e[0] == "acme" and start <= e[1] < end]
    assert report.worked_minutes == sum(e[4] for e in november if e[2] == "work")
    assert report.billed_minutes == -sum(e[3] for e in november if e[2] == "work")
    assert report.previous_billed_minutes == 120
    in_month = [a for n, a, at in ANSWERS if start <= at < end]
    assert report.satisfaction == {
        "satisfied": in_month.count("satisfied"),
        "unsatisfied": in_month.count("unsatisfied"),
    }
    assert report.left_minutes == sum(e[3] for e in LEDGER if e[0] == "acme" and e[1] < end)


def both_at(pair: list[Maildesk], clock: FakeClock, at: datetime) -> list[int]:
    clock.set(at)
    sent = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        sent[i] = pair[i].service_reports()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sent


def test_one_report_per_client_and_month_across_two_daemons(
    desks: tuple[list[Maildesk], FakeClock, Path],
) -> None:
    pair, clock, _ = desks
    assert sum(both_at(pair, clock, bxl(2026, 11, 30, 18))) == 2, "October's, late but due"
    assert sum(both_at(pair, clock, bxl(2026, 11, 30, 18, 5))) == 0
    assert both_at(pair, clock, bxl(2026, 12, 1, 8, 29)) == [0, 0], "not before opening"
    assert sum(both_at(pair, clock, bxl(2026, 12, 1, 8, 30))) == 2, "Acme and Beta"
    assert sum(both_at(pair, clock, bxl(2026, 12, 1, 16))) == 0
    assert sum(both_at(pair, clock, bxl(2026, 12, 14, 9))) == 0, "once a month"
    with pair[0].db.session() as session:
        rows = session.scalars(select(OutboxMail).where(OutboxMail.kind == "service_report")).all()
        parsed = [(tuple(r.rcpt_to), message_from_bytes(r.data)) for r in rows]
    assert len(parsed) == 4, "October's and November's, each client once"
    mails = {to: m for to, m in parsed if "2026-11" in str(m["Subject"])}
    assert set(mails) == {("boss@acme.example",), ("it@beta.example",)}, "authorised only"
    with pair[0].db.session() as session:
        # Gamma has nobody authorised: no report, and its month stays open for a later contact
        assert not claimed(session, report_key("gamma", Month(2026, 11)))
        assert claimed(session, report_key("acme", Month(2026, 11)))
    acme = mails[("boss@acme.example",)]
    text = acme.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Service report 2026-11" in str(acme["Subject"])
    assert "first response: 3 of 5 (60 %)" in text
    assert "resolution: 1 of 4 (25 %)" in text
    assert "2 satisfied, 1 not satisfied" in text
    assert "ticket B (high)" in text and "waiting on you (not counted)" in text
    beta = mails[("it@beta.example",)]
    assert "Serviceverslag 2026-11" in str(beta["Subject"]), "in the client's language"
    assert "oplossing: 1 van 1 (100 %)" in beta.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert sum(both_at(pair, clock, bxl(2027, 1, 4, 8, 30))) == 2, "January 1 closed: Monday 4"


def test_sla_report_command_lists_the_worst_first(
    desks: tuple[list[Maildesk], FakeClock, Path],
) -> None:
    _, _, config = desks
    env = {**os.environ, "MAILDESK_CONFIG": str(config)}
    run = subprocess.run(
        [MAILDESK, "sla", "report", "--period", "2026-11", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data: list[dict[str, Any]] = json.loads(run.stdout)
    assert [d["client"] for d in data] == ["acme", "beta", "gamma"], "nothing decided: last"
    assert data[0]["targets"] == {"met": 4, "total": 9, "percent": 44.4}
    assert data[0]["satisfaction"] == {"satisfied": 2, "unsatisfied": 1}
    one = subprocess.run(
        [
            MAILDESK,
            "sla",
            "report",
            "--period",
            "2026-11",
            "--client",
            "beta",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert one.returncode == 0 and one.stdout.startswith("beta (Beta) 2026-11"), one.stderr
    bad = subprocess.run(
        [MAILDESK, "sla", "report", "--period", "2026-13", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2 and "2026-13" in bad.stderr
    nobody = subprocess.run(
        [
            MAILDESK,
            "sla",
            "report",
            "--period",
            "2026-11",
            "--client",
            "zeta",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert nobody.returncode == 1 and "zeta" in nobody.stderr
