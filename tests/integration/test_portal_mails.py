"""Which mails carry a portal link, and for whom (SQLite and PostgreSQL).

Acks, quotes, balance notices and weekly statements to a client's contacts
carry a fresh link; it names its contact only when the mail goes to one
person, because a link acts for the contact it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from maildesk.billing.weekly import send_weekly_statements
from maildesk.notify.links import LinkScope
from maildesk.store.models import OutboxMail
from tests.integration.portal_helpers import (
    BETA,
    BOSS,
    PUBLIC_URL,
    TOM,
    PortalDesk,
    Story,
    tell_story,
)

pytestmark = pytest.mark.integration
LINK = re.compile(re.escape(PUBLIC_URL) + r"/c/([\w.-]+)")


@pytest.fixture
def story(db_url: str, tmp_path: Path) -> Iterator[tuple[PortalDesk, Story]]:
    desk = PortalDesk(db_url, tmp_path)
    yield desk, tell_story(desk)
    desk.close()


def _mails(desk: PortalDesk, kind: str) -> list[OutboxMail]:
    with desk.db.session() as session:
        return list(
            session.scalars(
                select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)
            )
        )


def _text(mail: OutboxMail) -> str:
    """The mail's text as its reader sees it (decoded from quoted-printable or base64)."""
    message = BytesParser(policy=default).parsebytes(mail.data)
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _scope(desk: PortalDesk, mail: OutboxMail) -> LinkScope:
    tokens = LINK.findall(_text(mail))
    assert len(tokens) == 1, (mail.kind, mail.rcpt_to)
    return desk.links.read(tokens[0], desk.clock.now())


def test_client_mails_carry_a_link_that_names_their_one_recipient(
    story: tuple[PortalDesk, Story],
) -> None:
    desk, told = story
    acks = [m for m in _mails(desk, "ack") if m.rcpt_to == [BOSS]]
    assert acks
    for ack in acks:
        assert _scope(desk, ack) == LinkScope("acme", BOSS, _scope(desk, ack).issued_at)

    [quote] = [m for m in _mails(desk, "quote") if m.ticket_id == desk.ticket(told.script).id]
    assert quote.rcpt_to == [BOSS]
    assert _scope(desk, quote).contact == BOSS

    # Tom may not answer quotes: his quote goes to him and the authorised contact,
    # so its link names nobody (read-only), while his own ack names him.
    number = desk.report(TOM, "Projector broken")
    [tom_ack] = [m for m in _mails(desk, "ack") if m.rcpt_to == [TOM]]
    assert _scope(desk, tom_ack).contact == TOM
    desk.quote(number, 60, "New lamp")
    [shared] = [m for m in _mails(desk, "quote") if m.ticket_id == desk.ticket(number).id]
    assert sorted(shared.rcpt_to) == sorted([TOM, BOSS])
    scope = _scope(desk, shared)
    assert (scope.client, scope.contact) == ("acme", None)

    # beta's 5 prepaid hours run out: the balance notice links to beta's page. (Work
    # on its quoted ticket would be held while the quote is pending: a new ticket.)
    desk.work(desk.report(BETA, "Scherm kapot"), 240)
    [zero] = _mails(desk, "balance_zero")
    assert zero.rcpt_to == [BETA]
    assert (_scope(desk, zero).client, _scope(desk, zero).contact) == ("beta", BETA)

    sent = send_weekly_statements(desk.db, desk.ctx, desk.clock.now(), week=date(2026, 11, 16))
    assert sent >= 2
    statements = {m.rcpt_to[0]: m for m in _mails(desk, "weekly_statement")}
    assert (_scope(desk, statements[BOSS]).client, _scope(desk, statements[BOSS]).contact) == (
        "acme",
        BOSS,
    )

    # Staff mails never carry one.
    for kind in ("staff_new_ticket", "staff_notice"):
        for mail in _mails(desk, kind):
            assert "/portal/c/" not in _text(mail), kind


def test_a_mailed_link_opens_its_clients_page(story: tuple[PortalDesk, Story]) -> None:
    desk, told = story
    [quote] = [m for m in _mails(desk, "quote") if m.ticket_id == desk.ticket(told.script).id]
    token = LINK.findall(_text(quote))[0]
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        page = http.get(served.page(token))
    assert page.status_code == 200
    assert told.script in page.text and 'name="answer" value="accept"' in page.text
