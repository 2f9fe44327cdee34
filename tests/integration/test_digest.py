"""The daily queue digest: once per person and business day, across two daemons, per language."""

from __future__ import annotations

import threading
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.store.models import OutboxMail
from tests.integration.helpers import settings_for
from tests.integration.sla_scenario import POLICY, bxl
from tests.integration.test_ticket_queue import BETA, SPECS, expected_state, fill

pytestmark = pytest.mark.integration

DIGEST = """
[digest]
enabled = true
staff = ["ann@helpdesk.example", "bob@helpdesk.example"]
"""
# Ann reads Dutch: the staff list of POLICY with her language.
NL_ANN = POLICY.replace('name = "Ann"\n', 'name = "Ann"\nlanguage = "nl"\n', 1)
OPENS = bxl(2026, 11, 25, 8, 30)  # Wednesday: business hours start


def digests(desk: Maildesk) -> dict[str, list[Message]]:
    with desk.db.session() as session:
        rows = session.scalars(select(OutboxMail).where(OutboxMail.kind == "queue_digest")).all()
    out: dict[str, list[Message]] = {}
    for row in rows:
        out.setdefault(row.rcpt_to[0], []).append(message_from_bytes(row.data))
    return out


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def both_at(desks: list[Maildesk], clock: FakeClock, at: datetime) -> list[int]:
    clock.set(at)
    sent = [0, 0]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        sent[i] = desks[i].digests()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sent


def test_one_digest_per_person_per_day_across_two_daemons(db_url: str, tmp_path: Path) -> None:
    settings, _ = settings_for(db_url, tmp_path, extra=NL_ANN + BETA + DIGEST)
    clock = FakeClock(bxl(2026, 11, 24, 8, 0))
    desks = [Maildesk(settings, clock), Maildesk(settings, clock)]
    for desk in desks:
        desk.prepare()
    with desks[0].db.transaction() as session:
        fill(session, desks[0].settings)

    assert both_at(desks, clock, OPENS.replace(hour=8, minute=29)) == [0, 0], "not before opening"
    assert sum(both_at(desks, clock, OPENS)) == 2, "Ann and Bob, not Cas"
    assert sum(both_at(desks, clock, bxl(2026, 11, 25, 16, 0))) == 0, "once a day"
    sent = digests(desks[0])
    assert {k: len(v) for k, v in sent.items()} == {
        "ann@helpdesk.example": 1,
        "bob@helpdesk.example": 1,
    }

    states = {s.number: expected_state(s, settings, OPENS) for s in SPECS}
    rank = {"breached": 0, "warning": 1, "running": 2}
    open_specs = [s for s in SPECS if states[s.number][0] in rank]
    by_due = sorted(open_specs, key=lambda s: (rank[states[s.number][0]], states[s.number][1]))
    unassigned = [s.number for s in by_due if s.assignee is None]
    waiting = [s.number for s in SPECS if s.paused]
    bobs = [s.number for s in by_due if s.assignee == "bob@helpdesk.example"]
    assert unassigned and waiting and bobs

    ann = body(sent["ann@helpdesk.example"][0])
    assert "Aan u toegewezen (0)" in ann and "Wachten op de klant" in ann, "in Dutch"
    listed = [n for n in (s.number for s in SPECS) if n in ann]
    assert sorted(listed, key=ann.index) == unassigned + waiting
    bob = body(sent["bob@helpdesk.example"][0])
    assert "Assigned to you (1)" in bob, "in English"
    assert sorted([n for n in states if n in bob], key=bob.index) == bobs + unassigned + waiting

    assert sum(both_at(desks, clock, bxl(2026, 11, 28, 9, 0))) == 0, "Saturday: closed"
    assert sum(both_at(desks, clock, bxl(2026, 11, 30, 8, 30))) == 2, "Monday: the next one"
    for desk in desks:
        desk.db.dispose()
