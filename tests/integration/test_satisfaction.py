"""Satisfaction links in the "resolved" mail: one answer per ticket, changed by a later click.

The ticket is opened and resolved by mail through the real intake, the links are read
from the queued mail, and clicked over real HTTP against the portal (SQLite and
PostgreSQL). Tampered, expired and replayed links are refused; a "not satisfied" is
mailed to staff.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from maildesk.report.satisfaction import Recorded, record_answer
from maildesk.store.models import Event, OutboxMail, Satisfaction, Ticket
from tests.integration.helpers import mail
from tests.integration.portal_helpers import BOSS, PUBLIC_URL, STAFF, PortalDesk, form_token

pytestmark = pytest.mark.integration


def mails(desk: PortalDesk, kind: str) -> list[tuple[list[str], str]]:
    with desk.db.session() as session:
        rows = session.scalars(
            select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
        ).all()
        out = []
        for row in rows:
            message = message_from_bytes(row.data)
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out.append(
                (list(row.rcpt_to), payload.decode(message.get_content_charset() or "utf-8"))
            )
        return out


def answer_links(body: str) -> dict[str, str]:
    found = re.findall(rf"{re.escape(PUBLIC_URL)}/s/[^\s]+", body)
    assert len(found) == 2, body
    return {"satisfied": found[0], "unsatisfied": found[1]}


def client_reply(desk: PortalDesk, number: str, body: str) -> None:
    """The requester writes again on the ticket (which reopens a resolved one)."""
    tag = desk.ctx.numbers.tag(number)
    raw, _ = mail(sender=BOSS, subject=f"Re: {tag} Exports fail", body=body)
    desk.receiver.receive(raw, f"test:reply:{desk.clock.now().isoformat()}")


def kept(desk: PortalDesk, number: str) -> Satisfaction | None:
    ticket = desk.ticket(number)
    with desk.db.session() as session:
        row = session.scalars(
            select(Satisfaction).where(Satisfaction.ticket_id == ticket.id)
        ).first()
        if row is not None:
            session.expunge(row)
        return row


def test_answers_changes_and_refusals(db_url: str, tmp_path: Path) -> None:
    desk = PortalDesk(db_url, tmp_path)
    number = desk.report(BOSS, "Exports fail", "The export button gives an error.\n")
    desk.staff_reply(number, "Fixed the export.\n\n#status resolved\n")
    ((to, body),) = mails(desk, "ticket_resolved")
    assert to == [BOSS] and number in body
    first = answer_links(body)

    with desk.serve() as served, httpx.Client(timeout=10) as http:

        def click(url: str) -> httpx.Response:
            return http.get(url.replace(PUBLIC_URL, served.base))

        page = click(first["satisfied"])
        assert page.status_code == 200 and 'data-answer="satisfied"' in page.text
        assert (row := kept(desk, number)) is not None and row.answer == "satisfied"
        assert mails(desk, "satisfaction_unhappy") == [], "a satisfied client bothers nobody"

        # a second click, on the other link of the same mail, changes the answer
        page = click(first["unsatisfied"])
        assert page.status_code == 200 and 'data-answer="unsatisfied"' in page.text
        assert (row := kept(desk, number)) is not None
        assert (row.answer, row.changes) == ("unsatisfied", 1)
        ((staff_to, staff_body),) = mails(desk, "satisfaction_unhappy")
        assert staff_to == [STAFF] and number in staff_body and BOSS in staff_body
        click(first["unsatisfied"])
        assert len(mails(desk, "satisfaction_unhappy")) == 1, "told once per change"

        # an optional comment, posted from the page with its form token
        good = form_token(page.text)
        url = first["unsatisfied"].replace(PUBLIC_URL, served.base)
        posted = http.post(
            url,
            data={"form_token": good, "comment": "Took two days."},
            headers={"Origin": served.origin},
        )
        assert posted.status_code == 200 and 'id="commented"' in posted.text
        assert (row := kept(desk, number)) is not None and row.comment == "Took two days."

        # tampered: any change to the token (the answer is inside the signature)
        token = first["satisfied"].rsplit("/", 1)[1]
        forged = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
        assert click(f"{PUBLIC_URL}/s/{forged}").status_code == 403
        assert click(f"{PUBLIC_URL}/s/{token}x").status_code == 403
        assert (row := kept(desk, number)) is not None and row.answer == "unsatisfied"

        # replayed: the client reopens the ticket; the links of the first resolution are spent
        desk.at(desk.clock.now() + timedelta(hours=1))
        client_reply(desk, number, "It fails again.\n")
        assert click(first["satisfied"]).status_code == 403
        assert (row := kept(desk, number)) is not None and row.answer == "unsatisfied"
        desk.at(desk.clock.now() + timedelta(hours=1))
        desk.staff_reply(number, "Fixed for good.\n\n#status resolved\n")
        second = answer_links(mails(desk, "ticket_resolved")[-1][1])
        assert click(second["satisfied"]).status_code == 200
        assert (row := kept(desk, number)) is not None and row.answer == "satisfied"
        assert click(first["unsatisfied"]).status_code == 403, "issued before the reopening"
        assert (row := kept(desk, number)) is not None and row.answer == "satisfied"

        # expired: past portal.link_days
        desk.at(desk.clock.now() + timedelta(days=31))
        assert click(second["unsatisfied"]).status_code == 403
        assert (row := kept(desk, number)) is not None and row.answer == "satisfied"

    with desk.db.session() as session:
        kinds = session.scalars(select(Event.kind).where(Event.kind.like("satisfaction%"))).all()
    assert kinds.count("satisfaction") == 3 and kinds.count("satisfaction_comment") == 1
    desk.close()


def test_two_first_clicks_at_once_keep_one_answer(postgres_url: str, tmp_path: Path) -> None:
    """The second click's insert waits on the first's unique key, then changes that answer."""
    desk = PortalDesk(postgres_url, tmp_path)
    number = desk.report(BOSS, "Exports fail", "The export button gives an error.\n")
    desk.staff_reply(number, "Fixed the export.\n\n#status resolved\n")
    links = answer_links(mails(desk, "ticket_resolved")[0][1])
    read = {
        answer: desk.links.read_satisfaction(url.rsplit("/", 1)[1], desk.clock.now())
        for answer, url in links.items()
    }
    first_done, outcome = threading.Event(), {}

    def second() -> None:
        with desk.db.transaction() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            outcome["second"] = record_answer(
                session, desk.ctx, ticket, read["unsatisfied"], desk.clock.now()
            )

    with desk.db.transaction() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        outcome["first"] = record_answer(
            session, desk.ctx, ticket, read["satisfied"], desk.clock.now()
        )
        session.flush()
        thread = threading.Thread(target=second)
        thread.start()
        # commit only once the second click waits on the first one's row
        with desk.db.engine.connect() as conn:
            while (
                thread.is_alive()
                and not conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                ).scalar()
            ):
                first_done.wait(0.05)
    thread.join(timeout=30)
    assert outcome == {"first": Recorded.NEW, "second": Recorded.CHANGED}
    assert (row := kept(desk, number)) is not None
    assert (row.answer, row.changes) == ("unsatisfied", 1)
    assert len(mails(desk, "satisfaction_unhappy")) == 1
    desk.close()
