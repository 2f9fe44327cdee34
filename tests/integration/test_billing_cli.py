"""`maildesk clients` and `maildesk statements` as an operator uses them (in-process CLI)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from maildesk.billing.work import record_work
from maildesk.cli.main import app
from maildesk.configfile import load_settings
from maildesk.core.clock import FakeClock
from maildesk.notify.context import MailContext
from maildesk.notify.render import Renderer
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.models import Client, Ticket
from tests.integration.helpers import STAFF, STAFF_ANN, settings_for

pytestmark = pytest.mark.integration

EXTRA = """
[policies.default]

[policies.cards.billing]
kind = "prepaid"
unit_minutes = 15
starter_grant_hours = 3

[[clients]]
id = "acme"
name = "Acme Learning"
policy = "cards"
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]

[[clients]]
id = "other"
name = "Other Co"
"""


@pytest.fixture
def config(sqlite_url: str, tmp_path: Path) -> str:
    _, path = settings_for(sqlite_url, tmp_path, extra=STAFF_ANN + EXTRA)
    db = Database(sqlite_url)
    db.upgrade()
    db.dispose()
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_topup_then_balance_list_and_show(config: str) -> None:
    code, out, err = run(
        "clients", "topup", "acme", "--hours", "10", "--ref", "INV-2026-014",
        "--expires", "2099-12-31", "-c", config,
    )  # fmt: skip
    assert code == 0, err
    assert "booked 10 h (INV-2026-014); balance now 13 h" in out  # with the 3 h starter grant

    code, out, err = run("clients", "balance", "acme", "--json", "-c", config)
    assert code == 0, err
    view = json.loads(out)
    assert view["minutes"] == 780
    assert [(b["kind"], b["remaining"]) for b in view["bundles"]] == [
        ("grant", 180),
        ("purchase", 600),
    ]
    assert view["bundles"][1]["expires_at"].startswith("2099-12-31T23:00:00")  # Brussels

    code, out, err = run("clients", "list", "-c", config)
    assert code == 0, err
    assert "acme" in out and "13 h" in out and "Other Co" in out

    code, out, err = run("clients", "show", "acme", "-c", config)
    assert code == 0, err
    assert "boss@acme.example Boss (authorised)" in out
    assert "purchase" in out and "INV-2026-014" in out


def test_topup_refuses_a_repeated_reference_and_bad_input(config: str) -> None:
    args = ("clients", "topup", "acme", "--hours", "2.5", "--ref", "INV-1", "-c", config)
    assert run(*args)[0] == 0
    code, _, err = run(*args)
    assert code == 1
    assert "INV-1 was already booked for acme" in err
    code, _, err = run("clients", "topup", "nobody", "--hours", "1", "--ref", "X", "-c", config)
    assert (code, "no client 'nobody'" in err) == (1, True)
    code, _, err = run("clients", "topup", "acme", "--hours", "0.001", "--ref", "X", "-c", config)
    assert (code, "whole minutes" in err) == (2, True)
    code, _, err = run(
        "clients", "topup", "acme", "--hours", "1", "--ref", "X", "--expires", "soon", "-c", config
    )
    assert (code, "not a date" in err) == (2, True)
    code, out, _ = run("clients", "balance", "acme", "-c", config)
    assert "5 h 30 min left" in out


def test_balance_shows_time_owed_and_the_next_purchase_pays_it(config: str) -> None:
    """No rate under the cards policy: work past the 3 free hours is owed, then paid."""
    settings = load_settings(Path(config))
    db = Database(settings.database_url)
    now = datetime.now(UTC) - timedelta(minutes=5)
    ctx = MailContext.create(settings, FakeClock(now), Renderer())
    worked, grant = 195, 180  # whole 15-minute units
    with db.transaction() as session:
        sync_clients(session, settings.clients)
        client_id = session.scalars(select(Client.id).where(Client.key == "acme")).one()
        ticket = Ticket(
            number="2026-000001",
            subject="Migration",
            client_id=client_id,
            requester="boss@acme.example",
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        assert record_work(session, ctx, ticket, worked, STAFF, "time:1").owed == worked - grant
    db.dispose()

    code, out, err = run("clients", "balance", "acme", "-c", config)
    assert code == 0, err
    assert "acme: 15 min owed beyond the prepaid hours, paid first by the next purchase" in out
    code, out, err = run("clients", "balance", "acme", "--json", "-c", config)
    assert (json.loads(out)["minutes"], json.loads(out)["owed_minutes"]) == (-15, 15)
    code, out, err = run("clients", "topup", "acme", "--hours", "1", "--ref", "INV-9", "-c", config)
    assert code == 0, err
    assert "balance now 45 min" in out
    code, out, err = run("clients", "balance", "acme", "-c", config)
    assert "acme: 45 min left" in out


def test_statement_preview_and_send(config: str, tmp_path: Path) -> None:
    assert run("clients", "topup", "acme", "--hours", "10", "--ref", "INV-1", "-c", config)[0] == 0
    code, _, err = run("statements", "preview", "acme", "--week", "2026-W99", "-c", config)
    assert (code, "has no week 99" in err) == (2, True)

    code, out, err = run(
        "statements", "preview", "acme", "--out", str(tmp_path / "o"), "-c", config
    )
    assert code == 0, err
    assert "To: boss@acme.example\nSubject: Weekly statement" in out
    assert sorted(p.suffix for p in (tmp_path / "o").iterdir()) == [".csv", ".xlsx"]
    code, out, err = run("statements", "preview", "other", "-c", config)
    assert (code, "To: (nobody: the client has no authorised contact)" in out) == (0, True), err

    # this week's top-up is not in the last complete week: nothing to send for it
    code, out, err = run("statements", "send", "-c", config)
    assert (code, out.strip()) == (0, "queued 0 statement(s)"), err


def test_help_is_helpful() -> None:
    code, out, _ = run("clients", "topup", "--help")
    assert code == 0
    assert "--hours" in out and "--ref" in out and "--expires" in out
    code, out, _ = run("statements", "--help")
    assert code == 0
    assert "preview" in out and "send" in out


def test_statements_sent_from_the_cli_carry_the_clients_portal_link(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`statements send` builds its mail as the daemon does: with a link for the one contact."""
    from datetime import UTC, date, datetime
    from email import message_from_bytes
    from email.policy import default as default_policy

    from sqlalchemy import select

    from maildesk.notify.links import PortalLinks
    from maildesk.store.models import OutboxMail

    monkeypatch.setenv("MAILDESK_TEST_PORTAL_SECRET", "p" * 40)
    portal = (
        '\n[portal]\nenabled = true\nbase_url = "https://support.example/desk"\n'
        'secret_env = "MAILDESK_TEST_PORTAL_SECRET"\n'
    )
    _, path = settings_for(sqlite_url, tmp_path, extra=EXTRA + portal)
    config = str(path)
    assert run("db", "upgrade", "-c", config)[0] == 0
    assert run("clients", "topup", "acme", "--hours", "10", "--ref", "INV-1", "-c", config)[0] == 0
    year, week, _ = date.today().isocalendar()
    code, out, err = run("statements", "send", "--week", f"{year}-W{week:02d}", "-c", config)
    assert (code, out.strip()) == (0, "queued 1 statement(s)"), err

    db = Database(sqlite_url)
    with db.session() as session:
        [data] = session.scalars(
            select(OutboxMail.data).where(OutboxMail.kind == "weekly_statement")
        )
    db.dispose()
    body = message_from_bytes(data, policy=default_policy).get_body(("plain",))
    assert body is not None
    text = body.get_content()
    [token] = re.findall(r"https://support\.example/desk/c/(\S+)", text)
    code, preview, err = run(
        "statements", "preview", "acme", "--week", f"{year}-W{week:02d}", "-c", config
    )
    assert code == 0, err
    assert "https://support.example/desk/c/" in preview, "the preview shows the mail as sent"
    # The link names the one authorised contact it was mailed to.
    links = PortalLinks("p" * 40, "https://support.example/desk", link_days=30)
    scope = links.read(token, datetime.now(UTC))
    assert (scope.client, scope.contact) == ("acme", "boss@acme.example")
