"""The money rules of the four example contracts, replayed through the real pipeline.

Every mail goes into Dovecot and is taken in by ``Maildesk.run_once`` on the example
config as written (only the database, intake, relay and ops port point at the test
servers), on a fake clock. Every expected figure is computed here from the rule —
every started unit is due, the minimum once per intervention, ``min(rounded actual,
quoted)`` — never copied from maildesk's output.

1. rounding and minimums per intervention, not per ``#time`` line;
2. free scope under every kind of contract (``#included`` / ``#billable``);
3. quotes: work held while pending, billed under the cap on acceptance, not on refusal;
4. hours beyond a prepaid contract without a rate: owed, paid by the next purchase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.billing.debt import owed as ledger_owed
from maildesk.billing.ledger import balance, ticket_billed
from maildesk.demo.stories import BOULANGERIE, STAFF_SIGNED
from maildesk.demo.story import Mail, Replay, Step, Story, TopUp, example_settings, replay
from maildesk.store.models import Client, LedgerEntry, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, on_test_servers, plain_text, settings_for
from tests.integration.test_scenarios import ServerDriver
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import Received, SmtpSink

pytestmark = pytest.mark.integration

ZONES = {
    "learning-helpdesk": "Europe/Brussels",
    "prepaid-assistance": "Europe/Brussels",
    "hosting-support": "Europe/Paris",
    "maintenance-subscription": "Europe/Amsterdam",
}
ICT = "ict@hogeschool-west.example"
TOM = "tom@learning-helpdesk.example"
DSI = "dsi@universite-nord.example"
CLAIRE = "claire@lms-vendor.example"
GERANT = "gerant@boulangerie.example"
PAUL = "paul@hosting.example"
PRAKTIJK = "praktijk@devries.example"
GARAGE = "info@garagesmit.example"
JEROEN = "jeroen@softvendor.example"

# A report each example accepts as complete (URL, login, steps, screenshot).
REPORT = (
    "Anomalie sur https://lms.example/cours/1\nIdentifiant : jdupont\n\n"
    "Étapes :\n1. Se connecter\n2. Ouvrir le cours\n3. Erreur\n"
)


def billed_units(minutes: int, unit: int, minimum: int = 0) -> int:
    """The contracts' rule: every started unit is due, at least the minimum; nothing for 0."""
    if minutes == 0:
        return 0
    return max(-(-minutes // unit) * unit, minimum)


class Contract:
    """One example contract played step by step on a fake clock, and what it booked."""

    def __init__(self, run: Replay, sink: SmtpSink) -> None:
        self.run = run
        self.sink = sink
        self.day = datetime(2026, 11, 23, 9, 0)  # a Monday; each step moves on

    def at(self, hours: float) -> datetime:
        """``hours`` after Monday 23 November 2026 09:00, the story's local time."""
        return self.day + timedelta(hours=hours)

    def mail(
        self,
        when: float,
        sender: str,
        subject: str,
        body: str,
        label: str | None = None,
        *,
        signed: bool = False,
        screenshot: bool = False,
    ) -> None:
        # The hosting provider's server vouches for its clients' and its staff's mail
        # (authserv_id is set, so staff mail is obeyed only when it is vouched for).
        headers = BOULANGERIE if signed else STAFF_SIGNED if sender == PAUL else ()
        step = Step(self.at(when), subject, Mail(sender, subject, body, screenshot, headers), label)
        self.run.step(step)

    def topup(self, when: float, client: str, hours: int, reference: str) -> None:
        self.run.step(Step(self.at(when), "purchase", topup=TopUp(client, hours, reference)))

    def ticket(self, label: str) -> Ticket:
        with self.run.desk.db.session() as session:
            number = self.run.labels[label]
            return session.scalars(select(Ticket).where(Ticket.number == number)).one()

    def billed(self, label: str) -> int:
        with self.run.desk.db.session() as session:
            return ticket_billed(session, self.ticket(label).id)

    def work(self, label: str) -> list[LedgerEntry]:
        with self.run.desk.db.session() as session:
            return list(
                session.scalars(
                    select(LedgerEntry)
                    .where(
                        LedgerEntry.ticket_id == self.ticket(label).id, LedgerEntry.kind == "work"
                    )
                    .order_by(LedgerEntry.id)
                )
            )

    def balance(self, client: str) -> int:
        with self.run.desk.db.transaction() as session:
            row = session.scalars(select(Client).where(Client.key == client)).one()
            return balance(session, row.id, self.run.clock.now()).minutes

    def entries(self, client: str) -> list[LedgerEntry]:
        with self.run.desk.db.session() as session:
            row = session.scalars(select(Client).where(Client.key == client)).one()
            return list(
                session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == row.id)
                    .order_by(LedgerEntry.id)
                )
            )

    def mails(self, to: str, *parts: str) -> list[Received]:
        return [
            m
            for m in self.sink.messages
            if to in m.rcpt_tos and all(p in str(m.message["Subject"]) for p in parts)
        ]


@pytest.fixture
def contract(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str], Contract]]:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    test, _ = settings_for(sqlite_url, tmp_path, dovecot, smtp_sink)
    runs: list[Replay] = []

    def start(policy: str) -> Contract:
        example = example_settings(policy, tmp_path / "var")
        settings = on_test_servers(example, test, tmp_path / "var")
        first = Step(datetime(2026, 11, 23, 8, 0), "start")
        run = replay(
            Story(policy, policy, ZONES[policy], (first,)),
            settings,
            lambda desk: ServerDriver(desk, dovecot),
        )
        runs.append(run)
        return Contract(run, smtp_sink)

    yield start
    for run in runs:
        run.desk.db.dispose()


# --- 1. rounding and minimums per intervention ---------------------------------------


def test_three_ten_minute_lines_under_a_half_hour_unit_bill_one_unit(
    contract: Callable[[str], Contract],
) -> None:
    """Hosting: every started half hour is due, per intervention; a reopening starts anew."""
    run = contract("hosting-support")
    run.mail(1, GERANT, "Sauvegarde", "Pouvez-vous vérifier la sauvegarde ?\n", "H", signed=True)
    run.mail(2, PAUL, "Re: {H} Sauvegarde", "Je regarde.\n\n#billable\n#time 10m\n")
    run.mail(3, PAUL, "Re: {H} Sauvegarde", "Toujours en cours.\n\n#time 10m\n")
    run.mail(4, PAUL, "Re: {H} Sauvegarde", "Terminé.\n\n#time 10m\n#status resolved\n")
    first = billed_units(10 + 10 + 10, 30)
    assert run.billed("H") == first == 30
    assert [-e.minutes for e in run.work("H")] == [30, 0, 0]

    # The client writes again: the ticket reopens, and its work is a new intervention.
    run.mail(5, GERANT, "Re: {H} Sauvegarde", "Elle échoue de nouveau.\n", signed=True)
    run.mail(6, PAUL, "Re: {H} Sauvegarde", "Corrigé.\n\n#time 10m\n#status resolved\n")
    assert run.billed("H") == first + billed_units(10, 30)
    assert run.ticket("H").intervention == 2


def test_after_cancellation_the_minimum_is_due_once_per_intervention(
    contract: Callable[[str], Contract],
) -> None:
    """Maintenance, cancelled client: a minimum of 1 hour per intervention, not per line."""
    run = contract("maintenance-subscription")
    unit, minimum = 15, 60
    run.mail(1, GARAGE, "Printer", "De printer doet het niet.\n", "A")
    run.mail(2, JEROEN, "Re: {A} Printer", "Opgelost.\n\n#time 10m\n#time 15m\n#status resolved\n")
    assert run.billed("A") == billed_units(10 + 15, unit, minimum) == 60

    run.mail(3, GARAGE, "Backup", "De backup faalt.\n", "B")
    run.mail(4, JEROEN, "Re: {B} Backup", "Ik kijk ernaar.\n\n#time 20m\n")
    run.mail(5, JEROEN, "Re: {B} Backup", "Opgelost.\n\n#time 20m\n#status resolved\n")
    assert run.billed("B") == billed_units(20 + 20, unit, minimum) == 60


def test_a_single_seven_minute_line_bills_one_quarter_hour(
    contract: Callable[[str], Contract],
) -> None:
    run = contract("learning-helpdesk")
    run.mail(1, ICT, "Quiz", REPORT, "T", screenshot=True)
    run.mail(2, TOM, "Re: {T} Quiz", "Ingesteld.\n\n#time 7m\n#status resolved\n")
    assert run.billed("T") == billed_units(7, 15) == 15
    # drawn from the new client's 3 free hours
    assert run.balance("hogeschool-west") == 3 * 60 - 15


# --- 2. free scope under every kind of contract -----------------------------------------


def test_included_work_is_recorded_free_under_a_punch_card(
    contract: Callable[[str], Contract],
) -> None:
    """Learning platform: a fault of the provider's own product is free, the rest on the card."""
    run = contract("learning-helpdesk")
    run.mail(1, ICT, "Platform error 500", REPORT, "T", screenshot=True)
    run.mail(2, TOM, "Re: {T} Platform error 500", "Bug fixed.\n\n#included\n#time 1h10\n")
    run.mail(3, TOM, "Re: {T} Platform error 500", "Also configured.\n\n#time 20m #billable\n")
    [free, paid] = run.work("T")
    assert (free.raw_minutes, free.minutes, free.reference, free.actor) == (70, 0, "included", TOM)
    assert free.at == run.run.story.local(run.at(2))
    assert -paid.minutes == billed_units(20, 15)
    assert run.balance("hogeschool-west") == 3 * 60 - billed_units(20, 15)


def test_included_line_shows_on_the_timesheet_at_no_charge(
    contract: Callable[[str], Contract],
) -> None:
    """LMS vendor: the timesheet after the task lists the free line as included."""
    run = contract("prepaid-assistance")
    run.topup(0, "universite-nord", 40, "CONTRAT-1")
    run.mail(1, DSI, "Cours bloqué", REPORT, "P", screenshot=True)
    run.mail(2, CLAIRE, "Re: {P} Cours bloqué", "Notre erreur.\n\n#time 30m #included\n")
    run.mail(3, CLAIRE, "Re: {P} Cours bloqué", "Fait.\n\n#time 45m\n#status resolved\n")
    assert run.balance("universite-nord") == 40 * 60 - billed_units(45, 15)
    sheet = plain_text(run.mails(DSI, "Relevé de temps")[-1])
    assert "facturé : 0 min (inclus)" in sheet


def test_maintenance_scope_switches_both_ways(contract: Callable[[str], Contract]) -> None:
    """Subscription: covered by the fee unless marked #billable; a line may say #included."""
    run = contract("maintenance-subscription")
    run.mail(1, PRAKTIJK, "Rapport", "Hoe druk ik af?\n", "A")
    run.mail(2, JEROEN, "Re: {A} Rapport", "Zo.\n\n#time 30m\n#status resolved\n")
    run.mail(3, PRAKTIJK, "Virus", "Vreemde meldingen.\n", "B")
    run.mail(
        4, JEROEN, "Re: {B} Virus", "Verwijderd.\n\n#billable\n#time 50m\n#time 5m #included\n"
    )
    assert run.billed("A") == 0
    assert run.billed("B") == billed_units(50, 15)
    assert [e.reference for e in run.work("B")] == ["billable", "included"]


def test_hosting_free_scope_and_unquoted_work(contract: Callable[[str], Contract]) -> None:
    """Hosting: unquoted, unmarked work is recorded and not billed; staff are told once."""
    run = contract("hosting-support")
    run.mail(1, GERANT, "Question DNS", "Comment changer le DNS ?\n", "H", signed=True)
    run.mail(2, PAUL, "Re: {H} Question DNS", "Voici.\n\n#time 20m\n")
    run.mail(3, PAUL, "Re: {H} Question DNS", "Et ceci.\n\n#time 15m\n")
    assert run.billed("H") == 0
    assert [(e.raw_minutes, e.reference) for e in run.work("H")] == [
        (20, "unquoted"),
        (15, "unquoted"),
    ]
    assert len(run.mails(PAUL, "aucun devis accepté")) == 1
    # Free scope: marked #included, later work is free and nobody is told again.
    run.mail(4, GERANT, "Autre question", "Et le certificat ?\n", "F", signed=True)
    run.mail(5, PAUL, "Re: {F} Autre question", "Voici.\n\n#included\n#time 10m\n")
    assert run.billed("F") == 0
    assert len(run.mails(PAUL, "aucun devis accepté")) == 1
    # Staff may still bill the unquoted work: #billable bills the intervention's total.
    run.mail(6, PAUL, "Re: {H} Question DNS", "Facturable.\n\n#billable\n")
    assert run.billed("H") == billed_units(20 + 15, 30)


# --- 3. quotes ------------------------------------------------------------------------------


def test_quote_accepted_after_the_work_bills_the_capped_total(
    contract: Callable[[str], Contract],
) -> None:
    """2 h 40 logged while a 2 h quote was pending: billed min(rounded actual, quoted)."""
    run = contract("hosting-support")
    quoted = 120
    run.mail(1, GERANT, "PHP 8.3", "Passer en PHP 8.3 ?\n", "H", signed=True)
    run.mail(2, PAUL, "Re: {H} PHP 8.3", "Devis.\n\n#quote 2h PHP 8.3\n")
    run.mail(3, PAUL, "Re: {H} PHP 8.3", "Commencé.\n\n#time 1h30\n")
    run.mail(4, PAUL, "Re: {H} PHP 8.3", "Terminé.\n\n#time 1h10\n")
    assert run.billed("H") == 0, "held while the quote is pending"
    run.mail(5, GERANT, "Re: {H} PHP 8.3", "J'accepte le devis.\n", signed=True)
    assert run.billed("H") == min(billed_units(90 + 70, 30), quoted) == 120
    # Work after the acceptance is still under the cap.
    run.mail(6, PAUL, "Re: {H} PHP 8.3", "Vérifié.\n\n#time 20m\n")
    assert run.billed("H") == min(billed_units(90 + 70 + 20, 30), quoted)


def test_quote_accepted_then_less_work_bills_the_actual_time(
    contract: Callable[[str], Contract],
) -> None:
    run = contract("hosting-support")
    run.mail(1, GERANT, "PHP 8.3", "Passer en PHP 8.3 ?\n", "H", signed=True)
    run.mail(2, PAUL, "Re: {H} PHP 8.3", "Devis.\n\n#quote 2h PHP 8.3\n")
    run.mail(3, GERANT, "Re: {H} PHP 8.3", "J'accepte.\n", signed=True)
    run.mail(4, PAUL, "Re: {H} PHP 8.3", "Fait.\n\n#time 1h10\n#status resolved\n")
    assert run.billed("H") == min(billed_units(70, 30), 120) == 90


def test_refused_quote_bills_nothing_unless_marked_billable(
    contract: Callable[[str], Contract],
) -> None:
    run = contract("hosting-support")
    run.mail(1, GERANT, "Migration", "Migrer le site ?\n", "H", signed=True)
    run.mail(2, PAUL, "Re: {H} Migration", "Devis.\n\n#quote 3h migration\n")
    run.mail(3, PAUL, "Re: {H} Migration", "Analyse faite.\n\n#time 50m\n")
    run.mail(4, GERANT, "Re: {H} Migration", "Je refuse le devis.\n", signed=True)
    run.mail(5, PAUL, "Re: {H} Migration", "Dommage.\n\n#time 10m\n")
    assert run.billed("H") == 0
    assert [e.reference for e in run.work("H")] == ["held", "refused"]
    run.mail(6, PAUL, "Re: {H} Migration", "L'analyse est due.\n\n#billable\n")
    assert run.billed("H") == billed_units(50 + 10, 30)


# --- 4. hours beyond a prepaid contract -----------------------------------------------------


def test_hours_beyond_the_contract_are_owed_and_paid_by_the_next_purchase(
    contract: Callable[[str], Contract],
) -> None:
    """LMS vendor, no rate: 5 h with 4 h 15 left owes 45 min; a new 40 h leaves 39 h 15."""
    run = contract("prepaid-assistance")
    bought = 40 * 60
    left = 4 * 60 + 15
    task = 5 * 60
    run.topup(0, "universite-nord", 40, "CONTRAT-1")
    run.mail(1, DSI, "Migration", REPORT, "P1", screenshot=True)
    run.mail(
        2,
        CLAIRE,
        "Re: {P1} Migration",
        "Fait.\n\n#time 12h\n#time 12h\n#time 11h45\n#status resolved\n",
    )
    assert run.balance("universite-nord") == bought - (bought - left) == left
    run.mail(3, DSI, "Import", REPORT, "P2", screenshot=True)
    run.mail(4, CLAIRE, "Re: {P2} Import", "Fait.\n\n#time 5h\n#status resolved\n")
    owed = billed_units(task, 15) - left
    assert owed == 45
    assert run.balance("universite-nord") == -owed
    [drawn, debt] = run.work("P2")
    assert (-drawn.minutes, -debt.minutes, debt.reference, debt.bundle_id) == (
        left,
        owed,
        "debt",
        None,
    )
    # No mail names an hourly rate this contract does not have; the timesheet says owed.
    for mail in run.sink.messages:
        assert "tarif horaire" not in plain_text(mail)
    assert "45 min dû" in plain_text(run.mails(DSI, "Relevé de temps")[-1])

    # The weekly statement (Monday 30 November, 08:00) closes below zero: time owed.
    week = 7 * 24
    run.mail(week - 1, CLAIRE, "Re: {P2} Import", "Suivi.\n\n#internal\n")
    [statement] = run.mails(DSI, "Relevé hebdomadaire")
    assert "45 min dû, réglé en premier par le prochain achat" in plain_text(statement)

    run.topup(week + 5, "universite-nord", 40, "CONTRAT-2")
    assert run.balance("universite-nord") == bought - owed == 39 * 60 + 15
    entries = run.entries("universite-nord")
    assert run.balance("universite-nord") == sum(e.minutes for e in entries)
    # Paid from the new contract itself: it has 39 h 15 left to draw, nothing is owed.
    with run.run.desk.db.transaction() as session:
        client_id = run.ticket("P2").client_id
        assert client_id is not None
        now = run.run.clock.now()
        assert [b.remaining for b in balance(session, client_id, now).bundles] == [bought - owed]
        assert ledger_owed(session, client_id) == 0
    # The next task draws on what is left of the new contract.
    run.mail(week + 6, DSI, "Export", REPORT, "P3", screenshot=True)
    run.mail(week + 7, CLAIRE, "Re: {P3} Export", "Fait.\n\n#time 15m\n#status resolved\n")
    assert run.balance("universite-nord") == bought - owed - 15
