"""The client portal over real HTTP (httpx against a PortalServer), on SQLite and PostgreSQL.

The data is made the way maildesk makes it: mails through the intake, time and
quotes through the billing functions (see ``portal_helpers.tell_story``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from maildesk.cli.clients import clients_revoke_links
from maildesk.core.durations import format_minutes
from maildesk.notify.links import PortalLinks
from maildesk.store.db import Database, alembic_config
from maildesk.store.models import Client, OutboxMail
from tests.integration.portal_helpers import (
    BETA,
    BOSS,
    FORMULA_SUBJECT,
    INTERNAL,
    RELAYED,
    SCRIPT_SUBJECT,
    SECRET,
    SECRET_ENV,
    STAFF,
    START,
    TOM,
    PortalDesk,
    Setup,
    db_records,
    form_token,
    internal_mails,
    local,
    rows,
    section,
    secured,
    tell_story,
)

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")
INVALID = "This link is no longer valid"


@pytest.fixture
def portal(db_url: str, tmp_path: Path) -> Iterator[Setup]:
    desk = PortalDesk(db_url, tmp_path)
    story = tell_story(desk)
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        yield Setup(desk, story, served, http)
    desk.close()


def test_page_shows_hours_tickets_and_quotes_in_the_clients_language(portal: Setup) -> None:
    desk, story = portal.desk, portal.story
    page = portal.get(desk.token("acme"))
    assert page.status_code == 200
    html = page.text
    assert desk.balance("acme") == 1200 - 270
    assert f'<span id="balance">{format_minutes(desk.balance("acme"))}</span>' in html
    assert '<dd id="used-week">1 h 45 min</dd>' in html, "Monday 00:30 Brussels is this week"
    assert '<dd id="used-month">3 h</dd>' in html, "1 Nov 00:30 Brussels is this month"
    assert rows(section(html, "ledger")) == [
        ["2026-11-18", story.script, "Ann", "1 h 30 min", "1 h 30 min"],
        ["2026-11-16", story.old, "Ann", "15 min", "15 min"],
        ["2026-11-09", story.old, "Ann", "45 min", "45 min"],
        ["2026-11-01", story.old, "Ann", "30 min", "30 min"],
        ["2026-10-28", story.old, "Ann", "1 h", "1 h"],
        ["2026-10-20", story.old, "Ann", "30 min", "30 min"],
    ]
    tickets = {row[0]: row for row in rows(section(html, "tickets"))}
    assert set(tickets) == {story.old, story.script, story.formula}, "not resolved, not beta's"
    new = desk.ticket(story.script)
    assert new.response_due_at is not None and new.resolution_due_at is not None
    assert tickets[story.script][4:] == [local(new.response_due_at), local(new.resolution_due_at)]
    assert f"{new.response_due_at:%Y-%m-%d %H:%M}" not in tickets[story.script], "UTC shown"
    assert tickets[story.old][4] == "-", "answered already"
    quotes = section(html, "quotes")
    assert f'id="quote-{story.acme_quote}"' in quotes and "2 h for: Upgrade the LMS" in quotes
    assert quotes.count('value="accept"') == 1 and "Nieuwe lamp" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "Beamer kapot" not in html and "Printer offline" not in html

    ticket = portal.get(desk.token("acme"), f"/t/{story.old}")
    assert ticket.status_code == 200
    assert "The grades of quiz 3 are gone." in ticket.text and RELAYED in ticket.text
    assert INTERNAL not in ticket.text and "New ticket" not in ticket.text
    assert "[link]" in ticket.text and "support.example/portal/c/" not in ticket.text
    shown = portal.get(desk.token("acme"), f"/t/{story.script}").text
    assert "&lt;script&gt;" in shown and "<script" not in shown

    nl = portal.get(desk.token("beta", BETA)).text
    assert '<html lang="nl">' in nl and "Ondersteuning voor Beta Scholen" in nl
    assert "Resterend: <span" in nl and f'"balance">{format_minutes(desk.balance("beta"))}<' in nl
    assert "30 min voor: Nieuwe lamp" in nl and ">Aanvaarden</button>" in nl
    missing = portal.get(desk.token("beta", BETA), "/nothing.csv")
    assert missing.status_code == 404
    assert '<html lang="nl">' in missing.text and "Hier is niets." in missing.text
    fr = portal.get(desk.token("gamma", "ops@gamma.example")).text
    assert '<html lang="fr">' in fr and "Support pour Gamma &amp; Fils &lt;SA&gt;" in fr
    assert '<span id="balance">10 h</span>' in fr and ">Accepter</button>" in fr


def test_every_invalid_link_gets_one_page_that_names_nobody(portal: Setup) -> None:
    desk = portal.desk
    good = desk.token("acme")
    payload, signature = good.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    forged = PortalLinks("z" * 40, "https://x.example", 30).token("acme", BOSS, START)
    expired = desk.links.token("acme", BOSS, START - timedelta(days=30, minutes=1))
    unknown = desk.token("ghost")
    former = desk.token("acme", "gone@acme.example")  # a contact no longer in the config
    revoked = desk.token("acme")
    clients_revoke_links("acme", config=desk.config_path)  # the command, at the real time
    with desk.db.session() as session:
        revoked_at = session.scalar(select(Client.links_revoked_at).where(Client.key == "acme"))
    assert revoked_at is not None and revoked_at > START

    bodies = set()
    for token in (tampered, forged, expired, unknown, former, revoked, "nonsense"):
        for path in ("", f"/t/{portal.story.script}", "/ledger.csv", "/data.json"):
            response = portal.get(token, path)
            assert response.status_code == 403, (token, path)
            bodies.add(response.text)
        refused = portal.post(token, portal.story.acme_quote, form_token="x", answer="accept")
        assert refused.status_code == 403
        bodies.add(refused.text)
    assert len(bodies) == 1, "the same page whatever the reason"
    body = bodies.pop()
    assert INVALID in body and "support@helpdesk.example" in body
    for secret in ("Acme", "acme", BOSS, "Quiz", "2026-0", "15 h", "Upgrade"):
        assert secret not in body
    assert desk.quote_row(portal.story.acme_quote).status == "pending"

    desk.at(datetime.now(UTC) + timedelta(seconds=1))
    assert portal.get(desk.token("acme")).status_code == 200, "a link issued after revocation"


def test_links_and_forms_that_must_not_reach_or_answer(portal: Setup) -> None:
    desk, story = portal.desk, portal.story
    token = desk.token("acme")
    good = form_token(portal.get(token).text)
    foreign = portal.get(token, f"/t/{story.beta}")
    assert foreign.status_code == 404
    assert "Beamer kapot" not in foreign.text and story.beta not in foreign.text
    assert portal.get(token, "/t/2026-999999").status_code == 404
    answer = portal.post(token, story.beta_quote, form_token=good, answer="accept")
    assert answer.status_code == 404 and "Nieuwe lamp" not in answer.text
    assert desk.quote_row(story.beta_quote).status == "pending"
    assert [kind for kind, _, _ in portal.quote_events(story.beta)] == ["quote_created"]
    assert portal.post(token, 10**25, form_token=good, answer="accept").status_code == 404
    for odd in ("%C2%B2", "9" * 25, "x"):  # "²".isdigit() is true; int("²") fails
        assert portal.get(token, f"?answered={odd}").status_code == 200

    other = desk.links.form_token(desk.token("beta", BETA))
    quote = story.acme_quote
    attempts = [
        portal.post(token, quote, answer="accept"),
        portal.post(token, quote, form_token="", answer="accept"),
        portal.post(token, quote, form_token=other, answer="accept"),
        portal.post(token, quote, form_token=good + "x", answer="accept"),
        portal.post(token, quote, form_token=good, answer="accept", origin="https://evil.example"),
        portal.post(token, quote, form_token=good, answer="accept", origin="null"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    bad = portal.post(token, quote, form_token=good, answer="maybe")
    assert bad.status_code == 400
    assert desk.quote_row(quote).status == "pending"
    assert [kind for kind, _, _ in portal.quote_events(story.script)] == ["quote_created"]

    for contact in (TOM, None):
        link = desk.token("acme", contact)
        page = portal.get(link)
        assert page.status_code == 200
        assert "<form" not in page.text and "Accept</button>" not in page.text
        assert "Only boss@acme.example can accept or refuse quotes" in page.text
        refused = portal.post(link, quote, form_token=desk.links.form_token(link), answer="accept")
        assert refused.status_code == 403
        assert desk.quote_row(quote).status == "pending"
    ignored = {"quote_id": quote, "answer": "accept", "reason": "not authorised", "via": "portal"}
    assert portal.quote_events(story.script)[1:] == [("quote_answer_ignored", TOM, ignored)]


def test_accepting_a_quote_is_recorded_like_a_mail_reply(portal: Setup) -> None:
    desk, story = portal.desk, portal.story
    token = desk.token("acme")
    good = form_token(portal.get(token).text)
    desk.at(START + timedelta(minutes=5))
    origin = portal.served.origin
    answer = portal.post(token, story.acme_quote, form_token=good, answer="accept", origin=origin)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location == f"/portal/c/{token}?answered={story.acme_quote}"
    after = portal.http.get(portal.served.origin + location).text
    assert f"Quote {story.script} accepted. Thank you." in after
    assert f'id="quote-{story.acme_quote}"' not in after and "No quotes are waiting." in after

    quote = desk.quote_row(story.acme_quote)
    assert (quote.status, quote.answered_by) == ("accepted", BOSS)
    assert quote.answered_at == START + timedelta(minutes=5)
    detail = {"quote_id": story.acme_quote, "minutes": 120, "via": "portal"}
    assert portal.quote_events(story.script)[1:] == [("quote_accepted", BOSS, detail)]
    with desk.db.session() as session:
        mails = session.scalars(select(OutboxMail).where(OutboxMail.kind == "quote_answered"))
        sent = [(m.rcpt_to, m.ticket_id, m.data.decode()) for m in mails]
    assert [(to, ticket) for to, ticket, _ in sent] == [([STAFF], desk.ticket(story.script).id)]
    assert f"{BOSS} has accepted your quote of 2 h on ticket {story.script}" in sent[0][2]

    again = portal.post(token, story.acme_quote, form_token=good, answer="refuse", origin=origin)
    assert again.status_code == 403 and "no longer waits for an answer" in again.text
    assert desk.quote_row(story.acme_quote).answered_at == quote.answered_at
    assert desk.quote_row(story.acme_quote).status == "accepted"
    assert len(portal.quote_events(story.script)) == 2

    fr = desk.token("gamma", "ops@gamma.example")  # four clicks at once: one answer counts
    form = desk.links.form_token(fr)
    with ThreadPoolExecutor(4) as pool:
        raced = dict(
            pool.map(
                lambda a: (a, portal.post(fr, story.gamma_quote, form_token=form, answer=a[:-1])),
                ("accept1", "refuse1", "accept2", "refuse2"),
            )
        )
    assert sorted(r.status_code for r in raced.values()) == [303, 403, 403, 403]
    winner = next(a[:-1] for a, r in raced.items() if r.status_code == 303)
    status = {"accept": "accepted", "refuse": "refused"}[winner]
    assert desk.quote_row(story.gamma_quote).status == status
    assert [kind for kind, _, _ in portal.quote_events(story.gamma)][1:] == [f"quote_{status}"]
    with desk.db.session() as session:
        told = session.scalars(
            select(OutboxMail.rcpt_to).where(
                OutboxMail.kind == "quote_answered",
                OutboxMail.ticket_id == desk.ticket(story.gamma).id,
            )
        ).all()
    assert told == [[STAFF]]
    flash = f"Devis {story.gamma} {'accepté' if winner == 'accept' else 'refusé'}. Merci."
    assert flash in portal.get(fr, f"?answered={story.gamma_quote}").text


def test_the_fourth_request_in_a_minute_waits(db_url: str, tmp_path: Path) -> None:
    desk = PortalDesk(db_url, tmp_path, rpm=3)
    token = desk.token("acme")
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        codes = [http.get(served.page(token) + path).status_code for path in ("", "/data.json", "")]
        limited = http.get(served.page(token))
        other = http.get(served.page(desk.token("acme", TOM)))
        forged = [
            http.get(served.page(PortalLinks("f" * 40, "x", 1).token("acme", None, START)))
            for _ in range(4)
        ]
    desk.close()
    assert codes == [200, 200, 200]
    assert secured(limited).status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert limited.headers["cache-control"] == "no-store" and "Acme" not in limited.text
    assert other.status_code == 200, "each link has its own budget"
    assert [r.status_code for r in forged] == [403, 403, 403, 429], "refusals count per address"


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def _as_csv(record: dict[str, Any]) -> dict[str, str]:
    """``record`` as CSV cells: text a spreadsheet would run as a formula gets a ' in front."""
    cells = {k: "" if v is None else str(v) for k, v in record.items()}
    return {k: "'" + v if re.match(r"[=+\-@\t\r](?![0-9.]+$)", v) else v for k, v in cells.items()}


def test_data_download_reads_back_as_the_database_holds_it(portal: Setup) -> None:
    desk, story = portal.desk, portal.story
    token = desk.token("acme")
    form = desk.links.form_token(token)  # the answer mails Ann, on the ticket: not for the client
    assert portal.post(token, story.acme_quote, form_token=form, answer="accept").status_code == 303
    document = portal.get(token, "/data.json").json()
    expected = db_records(desk, "acme")
    numbers = [t["number"] for t in expected["tickets"]]
    assert numbers == [story.old, story.done, story.script, story.formula]
    assert document["client"] == "acme"
    for table in ("tickets", "ledger", "messages"):
        assert document[table] == expected[table], table
        assert _csv(portal.get(token, f"/{table}.csv")) == [_as_csv(r) for r in expected[table]]
    assert sum(e["minutes"] for e in document["ledger"]) == desk.balance("acme")
    assert {e["kind"] for e in document["ledger"]} == {"purchase", "work"}

    subjects = [t["subject"] for t in document["tickets"]]
    assert FORMULA_SUBJECT in subjects and SCRIPT_SUBJECT in subjects
    tickets_csv = _csv(portal.get(token, "/tickets.csv"))
    assert "'" + FORMULA_SUBJECT in [t["subject"] for t in tickets_csv]
    assert [int(e["minutes"]) for e in _csv(portal.get(token, "/ledger.csv"))] == [
        e["minutes"] for e in expected["ledger"]
    ]

    mails = document["messages"]
    kinds = {(m["direction"], m["sender"]) for m in mails}
    assert ("in", BOSS) in kinds and ("out", "support@helpdesk.example") in kinds
    assert any(m["text"] == "The grades of quiz 3 are gone." for m in mails), "the report"
    assert any("registered it as ticket" in m["text"] for m in mails), "the ack"
    internal = internal_mails(desk, "acme")
    assert {m.disposition for m in internal} == {"staff", "staff_notice", "quote_answered"}
    assert not {m.message_id for m in internal} & {m["message_id"] for m in mails}
    dump = json.dumps(document)
    assert INTERNAL not in dump and RELAYED in dump
    assert "support.example/portal/c/" not in dump + tickets_csv.__repr__()
    assert "[link]" in dump, "the acks carried links, and they are blanked"

    others = [
        portal.get(token, "/ledger.csv"),
        portal.get(token, "/nothing.csv"),
        portal.http.get(portal.served.base + "/"),
        portal.http.get(portal.served.origin + "/elsewhere"),
        portal.http.get(portal.served.base + "/portal.css"),
    ]
    assert [secured(r).status_code for r in others] == [200, 404, 404, 404, 200]
    assert others[0].headers["content-disposition"] == 'attachment; filename="acme-ledger.csv"'


def _at_0003_with_a_client(db_url: str) -> tuple[Database, Config]:
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO clients (key, name, language) VALUES ('acme', 'Acme', 'nl')")
        )
        conn.execute(
            text(
                "INSERT INTO contacts (client_id, email, name, authorised) "
                "SELECT id, 'boss@acme.example', 'Boss', :yes FROM clients"
            ),
            {"yes": True},
        )
    return db, cfg


def test_migration_0004_adds_revocation_to_existing_clients(db_url: str) -> None:
    db, _ = _at_0003_with_a_client(db_url)
    db.upgrade()
    assert db.current_revision() == db.head_revision()
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        client = session.scalars(select(Client)).one()
        assert (client.key, client.name, client.language) == ("acme", "Acme", "nl")
        assert client.links_revoked_at is None
        client.links_revoked_at = when
    with db.session() as session:
        assert session.scalars(select(Client.links_revoked_at)).one() == when
    db.dispose()


def test_migration_0004_downgrades_with_clients_that_have_contacts(db_url: str) -> None:
    db, cfg = _at_0003_with_a_client(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        command.downgrade(cfg, "0003")
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT key, name FROM clients")).all() == [("acme", "Acme")]
        assert conn.execute(text("SELECT count(*) FROM contacts")).scalar() == 1
    db.dispose()


def _maildesk(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k not in (SECRET_ENV, "MAILDESK_CONFIG")}
    return subprocess.Popen(
        [MAILDESK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full | env
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_clients_link_prints_a_link_that_opens_the_page(db_url: str, tmp_path: Path) -> None:
    desk = PortalDesk(db_url, tmp_path)
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        config = str(desk.write_config(base_url=served.base))
        args = ("clients", "link", "acme", "--contact", "Boss@Acme.example", "--config", config)
        code, out, err = _finish(_maildesk(*args, env={SECRET_ENV: SECRET}))
        assert code == 0, err
        url = out.strip()
        assert url.startswith(served.base + "/c/") and "valid until" in err
        desk.at(datetime.now(UTC))
        page = http.get(url)
    desk.close()
    assert page.status_code == 200
    assert "Support for Acme Learning" in page.text and f"sent to {BOSS}" in page.text


def test_clients_link_refuses_without_secret_portal_or_contact(
    sqlite_url: str, tmp_path: Path
) -> None:
    desk = PortalDesk(sqlite_url, tmp_path)
    config = str(desk.config_path)
    off = str(desk.write_config("off.toml", enabled=False))
    secret = {SECRET_ENV: SECRET}
    stranger = ("--contact", "eve@x.example", "--config", config)
    procs = [
        _maildesk("clients", "link", "acme", "--config", config, env={}),
        _maildesk("clients", "link", "acme", "--config", off, env=secret),
        _maildesk("clients", "link", "acme", *stranger, env=secret),
    ]
    no_secret, disabled, unknown = (_finish(p) for p in procs)
    desk.close()
    code, out, err = no_secret
    assert (code, out) == (2, "") and SECRET_ENV in err and "not set" in err
    code, out, err = disabled
    assert (code, out) == (2, "") and "portal is off" in err and "enabled = true" in err
    code, out, err = unknown
    assert (code, out) == (1, "") and "eve@x.example is not a contact of acme" in err


def test_page_shows_time_owed_beyond_the_prepaid_hours(portal: Setup) -> None:
    """No rate: work past gamma's 10 hours is owed, and the page says the next purchase pays."""
    desk = portal.desk
    left = desk.balance("gamma")
    number = desk.report("ops@gamma.example", "Serveur lent")
    desk.work(number, left + 15)
    assert desk.balance("gamma") == -15
    fr = portal.get(desk.token("gamma", "ops@gamma.example")).text
    assert 'Dû, réglé en premier par votre prochain achat: <span id="owed">15 min</span>' in fr
    assert 'id="balance"' not in fr
