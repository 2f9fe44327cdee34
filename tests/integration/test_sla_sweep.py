"""SLA deadlines and the sweep over the real pipeline, on a ``FakeClock``.

Deadlines of real tickets (Friday evening, Easter Monday, the DST weekends), warnings and
breaches sent exactly once across a daemon restart and with two sweeps racing on one
database, non-urgent warnings held until the office opens, and ``sla explain`` on a ticket
whose clock was paused and resumed.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app
from maildesk.daemon import Maildesk
from maildesk.sla.escalation import SweepResult
from tests.integration.sla_scenario import (
    ANN,
    BOB,
    CAS,
    CLIENT,
    Scenario,
    bxl,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("received", "response_due", "resolution_due"),
    [
        # Friday 17:30: 30 minutes on Friday, 3 h 30 on Monday from 08:30.
        (bxl(2026, 11, 20, 17, 30), bxl(2026, 11, 23, 12, 0), bxl(2026, 11, 24, 14, 30)),
        # Easter Monday is a Belgian holiday: the clock starts on Tuesday 08:30.
        (bxl(2026, 4, 6, 10, 0), bxl(2026, 4, 7, 12, 30), bxl(2026, 4, 8, 15, 0)),
        # Clocks go forward on Sunday 29 March: Monday 12:00 is still 12:00 local.
        (bxl(2026, 3, 27, 17, 30), bxl(2026, 3, 30, 12, 0), bxl(2026, 3, 31, 14, 30)),
        # Clocks go back on Sunday 25 October: no extra hour either.
        (bxl(2026, 10, 23, 17, 30), bxl(2026, 10, 26, 12, 0), bxl(2026, 10, 27, 14, 30)),
    ],
    ids=["friday-evening", "easter-monday", "dst-spring", "dst-autumn"],
)
def test_a_real_normal_tickets_due_times(
    sqlite_run: Scenario,
    received: datetime,
    response_due: datetime,
    resolution_due: datetime,
) -> None:
    run = sqlite_run
    run.at(received)
    run.send(sender=CLIENT, subject="Quiz grades missing", body="Quiz 3 grades are gone.\n")
    run.run()
    ticket = run.ticket()
    assert ticket.priority == "normal"
    assert ticket.response_due_at == response_due
    assert ticket.resolution_due_at == resolution_due


def _sla_mails(run: Scenario) -> tuple[int, int]:
    return len(run.mails("SLA warning")), len(run.mails("SLA breached"))


def test_warnings_and_breaches_are_sent_once_across_a_restart(run: Scenario) -> None:
    run.at(bxl(2026, 11, 24, 10, 0))  # Tuesday; Normal: response due 14:00, warning at 13:00
    run.send(sender=CLIENT, subject="Quiz grades missing", body="Quiz 3 grades are gone.\n")
    run.run()

    run.at(bxl(2026, 11, 24, 12, 59))
    run.run()
    assert _sla_mails(run) == (0, 0), "not yet at 75 % of the response target"

    run.at(bxl(2026, 11, 24, 13, 0))
    assert run.run().sla.warnings == 1
    warning = run.mails("SLA warning")[0]
    assert sorted(warning.rcpt_tos) == [ANN, BOB, CAS], "nobody assigned: the staff list"
    assert "response time" in str(warning.message["Subject"])
    assert "Tuesday 24 November 2026 14:00" in " ".join(warning.message.get_content().split())
    run.run()

    run.desks[-1].db.dispose()
    run.desk()  # restart
    run.advance(30)
    assert run.run().sla == SweepResult()
    assert _sla_mails(run) == (1, 0)

    run.at(bxl(2026, 11, 24, 14, 0))
    assert run.run().sla.breaches == 1
    breach = run.mails("SLA breached")[0]
    assert sorted(breach.rcpt_tos) == [BOB, CAS], "breaches go to the escalation chain"
    assert run.ticket().escalation_level == 1

    run.desk()  # a second restart, sweeping the same minute and later
    run.run()
    run.advance(60)
    run.run()
    assert _sla_mails(run) == (1, 1)
    assert (run.outbox("sla_warning"), run.outbox("sla_breach")) == (1, 1)
    assert run.ticket().escalation_level == 1


def test_two_sweeps_racing_send_each_warning_and_breach_once(run: Scenario) -> None:
    run.at(bxl(2026, 11, 24, 10, 0))
    for i in range(6):
        run.send(sender=f"user{i}@acme.example", subject=f"Problem {i}", body="It broke.\n")
    run.run()
    first, second = run.desks[-1], run.desk()

    def race() -> list[SweepResult]:
        barrier = threading.Barrier(2)
        results: list[SweepResult] = []
        errors: list[BaseException] = []

        def go(desk: Maildesk) -> None:
            try:
                barrier.wait()
                results.append(desk.sweep())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(d,)) for d in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        return results

    run.at(bxl(2026, 11, 24, 13, 0))
    results = race()
    assert sum(r.warnings for r in results) == 6
    run.at(bxl(2026, 11, 24, 14, 0))
    results = race()
    assert sum(r.breaches for r in results) == 6
    assert sum(r.warnings for r in results) == 0
    run.run(first)
    run.run(second)
    assert (run.outbox("sla_warning"), run.outbox("sla_breach")) == (6, 6)
    assert _sla_mails(run) == (6, 6)


def test_a_non_urgent_warning_waits_for_the_office_to_open(sqlite_run: Scenario) -> None:
    run = sqlite_run
    # Friday 15:00, Normal: 3 of 4 hours are used up at Friday 18:00, closing time.
    run.at(bxl(2026, 11, 20, 15, 0))
    run.send(sender=CLIENT, subject="Quiz grades missing", body="Quiz 3 grades are gone.\n")
    run.run()
    for when in (bxl(2026, 11, 20, 18, 0), bxl(2026, 11, 21, 3, 0), bxl(2026, 11, 22, 3, 0)):
        run.at(when)
        assert run.run().sla.held == 1
    assert _sla_mails(run) == (0, 0), "never at night or on a Sunday"
    run.at(bxl(2026, 11, 23, 8, 30))  # Monday opening
    assert run.run().sla.warnings == 1
    assert _sla_mails(run) == (1, 0)


def test_an_urgent_warning_goes_out_at_once_even_after_hours(sqlite_run: Scenario) -> None:
    run = sqlite_run
    # Friday 17:15, High: 45 of 60 minutes are used up at 18:00.
    run.at(bxl(2026, 11, 20, 17, 15))
    run.send(sender=CLIENT, subject="Whole platform down", body="Nobody can log in.\n")
    run.run()
    run.at(bxl(2026, 11, 20, 18, 0))
    assert run.run().sla.warnings == 1
    assert _sla_mails(run) == (1, 0)


def test_sla_explain_shows_a_paused_and_resumed_clock(sqlite_run: Scenario) -> None:
    run = sqlite_run
    run.at(bxl(2026, 11, 24, 10, 0))  # Tuesday
    run.send(sender=CLIENT, subject="Quiz grades missing", body="Quiz 3 grades are gone.\n")
    run.run()
    number = run.ticket().number

    run.at(bxl(2026, 11, 24, 11, 0))
    run.send(
        sender=ANN,
        subject=f"Re: [#{number}] Quiz grades missing",
        body="#status waiting\nWhich course is it?\n",
    )
    run.run()
    run.at(bxl(2026, 11, 24, 15, 0))
    run.send(sender=CLIENT, subject=f"Re: [#{number}] Quiz grades missing", body="Maths 101.\n")
    run.run()
    ticket = run.ticket()
    assert ticket.status == "open"
    # 16 h of resolution: 1 h used before the pause, so 15 h left from Tuesday 15:00:
    # 3 h on Tuesday, 9 h 30 on Wednesday, 2 h 30 on Thursday from 08:30.
    assert ticket.resolution_due_at == bxl(2026, 11, 26, 11, 0)

    result = CliRunner().invoke(
        app,
        ["sla", "explain", number, "--config", str(run.config), "--at", "2026-11-24T16:00"],
    )
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    timeline = [line for line in lines if line.startswith(("Tue", "Wed", "Thu"))]
    assert timeline[0].startswith("Tue 2026-11-24 10:00 CET  received from jane@acme.example")
    assert timeline[1].startswith("Tue 2026-11-24 10:00 CET  clock started: response due Tue")
    assert "resolution due Wed 2026-11-25 16:30 CET" in timeline[1]
    paused = next(line for line in timeline if "clock paused" in line)
    assert paused.startswith("Tue 2026-11-24 11:00 CET")
    assert "resolution 15 h left" in paused
    assert "1 h of business time counted since Tue 2026-11-24 10:00 CET" in paused
    resumed = next(line for line in timeline if "clock resumed" in line)
    assert resumed.startswith("Tue 2026-11-24 15:00 CET")
    assert "resolution due Thu 2026-11-26 11:00 CET" in resumed
    assert timeline[-1].startswith("Tue 2026-11-24 16:00 CET  clock running: 1 h")
    assert any("first staff response" in line for line in timeline)
    assert "at Tue 2026-11-24 16:00 CET: 2 h of business time counted" in lines
    assert "resolution: 14 h left, due Thu 2026-11-26 11:00 CET" in lines
    assert "response: stopped: first response Tue 2026-11-24 11:00 CET" in lines

    as_json = CliRunner().invoke(
        app, ["sla", "explain", number, "--json", "--config", str(run.config)]
    )
    assert as_json.exit_code == 0, as_json.output
    missing = CliRunner().invoke(app, ["sla", "explain", "1999-000001", "-c", str(run.config)])
    assert missing.exit_code == 1
