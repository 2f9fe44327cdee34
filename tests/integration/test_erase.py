"""`maildesk clients erase`: nothing of the client's people survives in any table or blob.

Every column of every table is read back as text (blobs decompressed, outbox
bytes decoded) and searched for what the client's people wrote and who they
are; the portal's data export of the client is searched too. The ledger and
the ticket numbers stay, and another client's data is untouched.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.store.client_edits import add_client, add_contact
from maildesk.store.models import Base, Client, LedgerEntry, Ticket
from maildesk.web.portal.export import TABLES, export_csv, export_json, export_records
from tests.integration.helpers import STAFF, STAFF_ANN, mail, settings_for
from tests.integration.sla_scenario import bxl

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")

SECRETS = (
    "jan@beta.example",
    "Jan Janssens",
    "Beta Confidential Subject",
    "beta secret body phrase",
    "BETA-SECRET-ATTACHMENT",
    "beta-plan.pdf",
    "stranger@beta.example",
    "Beta Holding BV",
    "staff answer for beta",
)


def everything(desk: Maildesk) -> str:
    """Every value of every table, as text; blobs decompressed."""
    parts: list[str] = []
    with desk.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        data = bytes(value)
                        with contextlib.suppress(zlib.error):
                            data = zlib.decompress(data)
                        parts.append(data.decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts).lower()


def cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILDESK_CONFIG"}
    return subprocess.run(
        [MAILDESK, "clients", *args, "--config", str(config)],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_erase_leaves_no_personal_data_and_keeps_the_books(db_url: str, tmp_path: Path) -> None:
    settings, config = settings_for(db_url, tmp_path, extra=STAFF_ANN)
    desk = Maildesk(settings, FakeClock(bxl(2026, 11, 24, 10, 0)))
    desk.prepare()
    now = desk.clock.now()
    with desk.db.transaction() as session:
        add_client(
            session,
            desk.settings,
            {"id": "beta", "name": "Beta Holding BV", "domains": ("beta.example",)},
            "test",
            now,
        )
        add_contact(
            session,
            desk.settings,
            "beta",
            {"email": "jan@beta.example", "name": "Jan Janssens", "authorised": True},
            "test",
            now,
        )
    assert desk.refresh_clients()
    pdf = ("beta-plan.pdf", "application/pdf", b"%PDF-1.4 BETA-SECRET-ATTACHMENT " * 50)
    raw, mid = mail(
        sender="Jan Janssens <jan@beta.example>",
        subject="Beta Confidential Subject",
        body="Hello,\n\nbeta secret body phrase.\n",
        attachments=(pdf,),
    )
    created = desk.receiver.receive(raw, "test:1")
    assert created.ticket_number
    reply, _ = mail(
        sender=STAFF,
        subject=f"Re: [#{created.ticket_number}] Beta Confidential Subject",
        body="#time 30m\n\nstaff answer for beta\n",
        in_reply_to=mid,
    )
    desk.receiver.receive(reply, "test:2")
    stranger, _ = mail(sender="stranger@beta.example", subject="Beta Confidential Subject")
    assert desk.receiver.receive(stranger, "test:3").outcome.value == "quarantined"
    acme, _ = mail(sender="boss@acme.example", subject="Acme keeps this")
    assert desk.receiver.receive(acme, "test:4").ticket_number

    before = everything(desk)
    assert all(s.lower() in before for s in SECRETS), "the search finds them before"
    with desk.db.session() as session:
        ledger_before = session.execute(
            select(LedgerEntry.kind, LedgerEntry.minutes, LedgerEntry.at).order_by(LedgerEntry.id)
        ).all()

    refused = cli(config, "erase", "beta", stdin="n\n")
    assert refused.returncode == 1 and "not erased" in refused.stderr
    assert cli(config, "erase", "acme", "--yes").returncode == 1, "a config client is refused"
    assert everything(desk) == before
    done = cli(config, "erase", "beta", "--yes", "--by", "ops-ann")
    assert done.returncode == 0, done.stderr

    after = everything(desk)
    left = [s for s in SECRETS if s.lower() in after]
    assert left == [], f"still stored: {left}"
    assert "acme keeps this" in after, "another client's mail stays"
    with desk.db.session() as session:
        client = session.scalars(select(Client).where(Client.key == "beta")).one()
        records = export_records(session, client)
        exported = export_json(records, client, now).decode() + "".join(
            export_csv(records, table).decode("utf-8-sig") for table in TABLES
        )
        assert (
            session.execute(
                select(LedgerEntry.kind, LedgerEntry.minutes, LedgerEntry.at).order_by(
                    LedgerEntry.id
                )
            ).all()
            == ledger_before
        ), "the ledger is untouched"
        numbers = session.scalars(select(Ticket.number).where(Ticket.client_id == client.id)).all()
        assert numbers == [created.ticket_number], "the ticket number is kept"
        assert session.scalar(select(func.count()).select_from(Ticket)) == 2
    assert not [s for s in SECRETS if s.lower() in exported.lower()]
    assert desk.refresh_clients() and desk.settings.contact("jan@beta.example") is None
    again = cli(config, "erase", "beta", "--yes")
    assert again.returncode == 1 and "was erased" in again.stderr
    desk.db.dispose()


ERASE_POLICY = """
[policies.default]
erase_months_after_contract = 3
"""


def test_a_policy_erases_n_months_after_the_contract_ended(sqlite_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from maildesk.store.client_edits import set_contract_end

    settings, _ = settings_for(sqlite_url, tmp_path, extra=ERASE_POLICY)
    clock = FakeClock(datetime(2026, 1, 10, tzinfo=UTC))
    desk = Maildesk(settings, clock)
    desk.prepare()
    ended = datetime(2026, 1, 31, tzinfo=UTC)
    with desk.db.transaction() as session:
        add_client(session, desk.settings, {"id": "beta", "name": "Beta"}, "test", clock.now())
        set_contract_end(session, desk.settings, "beta", ended, "test", clock.now())
    # Three months after 31 January is the last day of April.
    clock.set(datetime(2026, 4, 29, 23, 59, tzinfo=UTC))
    assert desk.erasures() == 0
    clock.set(datetime(2026, 4, 30, tzinfo=UTC))
    assert desk.erasures() == 1
    assert desk.erasures() == 0, "once"
    with desk.db.session() as session:
        row = session.scalars(select(Client).where(Client.key == "beta")).one()
        assert row.erased_at == datetime(2026, 4, 30, tzinfo=UTC) and row.name == "beta"
    desk.db.dispose()
