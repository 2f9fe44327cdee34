"""On-call paging over the real pipeline: a High report out of hours pages the person on call
by mail, the page climbs the chain every 15 minutes without an ack, and an ack stops it.

The clock is a ``FakeClock``; mail comes in through Dovecot and goes out through the SMTP
sink, so every page asserted here is a mail a technician would really have received.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.store.models import Event
from tests.integration.sla_scenario import (
    ANN,
    BOB,
    CAS,
    CLIENT,
    Scenario,
    bxl,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


OUTAGE = {
    "sender": CLIENT,
    "subject": "Whole platform down",
    "body": "Since 09:50 no student can log in: the whole platform down, error 500.\n",
}


def _events(run: Scenario, *kinds: str) -> list[Event]:
    with run.desks[-1].db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind.in_(kinds)).order_by(Event.id)))


def test_saturday_high_ticket_pages_on_call_then_secondary_until_an_ack_by_reply(
    run: Scenario,
) -> None:
    run.at(bxl(2026, 11, 21, 10, 0))  # Saturday
    run.send(**OUTAGE)
    run.run()

    ticket = run.ticket()
    assert ticket.priority == "high"
    first = run.mails("[PAGE]")
    assert [m.rcpt_tos for m in first] == [[ANN]], "the person on call is paged at once"
    page = first[0].message
    assert str(page["Subject"]).startswith(f"[PAGE] [#{ticket.number}] High")
    body = page.get_content()
    assert "Out-of-hours page" in body and "error 500" in body and "Acme Learning" in body

    run.advance(14)
    run.run()
    assert len(run.mails("[PAGE]")) == 1, "no escalation before 15 minutes"

    run.advance(1)
    run.run()
    second = run.mails("[PAGE]", to=BOB)
    assert len(second) == 1, "no ack after 15 minutes: the secondary is paged"
    assert "Escalation (level 1)" in second[0].message.get_content()
    assert len(run.mails("[PAGE]")) == 2

    # Bob answers his page: that is the ack.
    run.advance(3)
    run.send(
        sender=BOB,
        subject=f"Re: {second[0].message['Subject']}",
        body="On it, looking at the database now.\n",
        in_reply_to=second[0].message["Message-ID"].strip("<>"),
    )
    run.run()
    acked = run.mails("Page acknowledged", to=BOB)
    assert len(acked) == 1
    assert "Thank you, Bob" in acked[0].message.get_content()
    pages = run.pages()
    assert [(p.level, p.person) for p in pages] == [(0, ANN), (1, BOB)]
    assert all(p.acked_by == BOB for p in pages)
    assert all(p.acked_at == bxl(2026, 11, 21, 10, 18) for p in pages)
    client_mail = [m for m in run.sink.messages if CLIENT in m.rcpt_tos]
    assert len(client_mail) == 1, "only the ack: a reply to a page is not relayed to the client"

    for _ in range(3):  # 15, 30, 45 minutes later: the chain stays stopped
        run.advance(15)
        run.run()
    assert run.mails("[PAGE]", to=CAS) == []
    assert len(run.pages()) == 2
    kinds = [e.kind for e in _events(run, "page", "page_escalated", "page_acked")]
    assert kinds == ["page", "page_escalated", "page_acked"]


def test_the_same_high_ticket_on_tuesday_at_10_pages_nobody(run: Scenario) -> None:
    run.at(bxl(2026, 11, 24, 10, 0))  # Tuesday, in office hours
    run.send(**OUTAGE)
    run.run()
    for _ in range(4):
        run.advance(15)
        run.run()
    assert run.ticket().priority == "high"
    assert run.mails("[PAGE]") == []
    assert run.pages() == []
    assert len(run.mails("Whole platform down", to=CLIENT)) == 1, "the ticket was taken in"
    assert len(run.mails("New ticket (High)", to=ANN)) == 1, "the team queue was told"
    assert len(run.mails("SLA warning", to=ANN)) == 1, "and warned at 45 of 60 minutes"


def test_a_hash_ack_from_any_staff_member_stops_the_chain(sqlite_run: Scenario) -> None:
    run = sqlite_run
    run.at(bxl(2026, 11, 22, 3, 0))  # Sunday night
    run.send(**OUTAGE)
    run.run()
    number = run.ticket().number
    assert len(run.mails("[PAGE]", to=ANN)) == 1

    run.advance(5)
    run.send(sender=CAS, subject=f"Re: [#{number}] Whole platform down", body="#ack\n")
    run.run()
    assert len(run.mails("Page acknowledged", to=CAS)) == 1
    assert [p.acked_by for p in run.pages()] == [CAS]

    run.advance(60)
    run.run()
    assert len(run.mails("[PAGE]")) == 1, "acked: nobody else is paged"
    assert [m for m in run.sink.messages if CLIENT in m.rcpt_tos and "Re:" in str(m.message)] == []


def test_a_normal_ticket_out_of_hours_waits_and_its_ack_says_until_when(
    sqlite_run: Scenario,
) -> None:
    run = sqlite_run
    run.at(bxl(2026, 11, 21, 10, 0))  # Saturday
    run.send(sender=CLIENT, subject="Quiz grades missing", body="Grades of quiz 3 are gone.\n")
    run.run()
    run.advance(30)
    run.run()
    assert run.ticket().priority == "normal"
    assert run.mails("[PAGE]") == []
    ack = run.mails("Quiz grades missing", to=CLIENT)[0].message.get_content()
    assert "outside our business hours" in ack
    assert "Monday 23 November 2026 12:30" in " ".join(ack.split())


def test_a_high_ticket_that_breaches_out_of_hours_pages_on_call(run: Scenario) -> None:
    run.at(bxl(2026, 11, 20, 17, 0))  # Friday, one business hour before closing
    run.send(**OUTAGE)
    run.run()
    assert run.mails("[PAGE]") == [], "in office hours the team queue handles it"
    ticket = run.ticket()
    assert ticket.response_due_at == bxl(2026, 11, 20, 18, 0)

    run.at(bxl(2026, 11, 20, 18, 0))  # closing time: the response target is missed
    run.run()
    breach = run.mails("SLA breached")
    assert len(breach) == 1
    assert sorted(breach[0].rcpt_tos) == [BOB, CAS], "breaches go to the escalation chain"
    pages = run.mails("[PAGE]")
    assert [m.rcpt_tos for m in pages] == [[ANN]], "an escalated High ticket out of hours pages"
    assert run.ticket().escalation_level == 1
    assert [e.detail["reason"] for e in _events(run, "page")] == ["breach"]

    run.clock.advance(timedelta(minutes=15))
    run.run()
    assert len(run.mails("[PAGE]", to=BOB)) == 1


def test_night_outage_pages_even_while_its_report_lacks_a_screenshot(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.sla_scenario import scenario_for

    required = "\n[policies.default.required]\nscreenshot = true\n"
    with scenario_for(sqlite_url, tmp_path, dovecot, smtp_sink, monkeypatch, extra=required) as run:
        run.at(bxl(2026, 11, 21, 10, 0))  # Saturday
        run.send(**OUTAGE)
        run.run()
        ticket = run.ticket()
        assert ticket.status == "awaiting_info" and ticket.missing == ["screenshot"]
        assert ticket.response_due_at is None, "the SLA clock waits for the screenshot"
        assert [m.rcpt_tos for m in run.mails("[PAGE]")] == [[ANN]], "the technician does not"
