"""A ticket belongs to one client, over the running daemon (issue 14, defects 1 and 6).

Defect 1: a contact of another client, or a stranger accepted under
``unknown_senders = "accept"``, wrote with In-Reply-To/References, the subject
tag and the plus-address of client Acme's ticket; the mail joined Acme's ticket
and the staff answer was relayed to them with Acme's text. Now such pointers
are refused (an event on the ticket), the mail opens a ticket of its own, and
the relay goes to Acme's people who took part only (a colleague who was in Cc
and replies does join).

Defect 6: a staff reply whose Message-ID is in the support address's domain,
as Thunderbird and Apple Mail write it, was dropped as our own mail come back.

Each test runs once per intake path: the LMTP listener and the Dovecot mailbox.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.config import Settings
from maildesk.store.models import Client, Event, Message, Ticket
from tests.integration.daemon_intake import Daemon, daemon
from tests.integration.helpers import STAFF, STAFF_ANN, SUPPORT, mail
from tests.integration.test_cli import maildesk
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

BOSS = "boss@acme.example"
COLLEAGUE = "tom@acme.example"  # at Acme's domain (match_domain), in Cc of the report
EVE = "eve@globex.example"  # a contact of another client
MALLORY = "mallory@evil.example"  # nobody's

CLIENTS = (
    """
[[clients]]
id = "acme"
name = "Acme Learning"
domains = ["acme.example"]
match_domain = true
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]

[[clients]]
id = "globex"
name = "Globex"
domains = ["globex.example"]
contacts = [{ email = "eve@globex.example", name = "Eve" }]
"""
    + STAFF_ANN
)


def _accept_strangers(settings: Settings) -> Settings:
    service = settings.service.model_copy(update={"unknown_senders": "accept"})
    return settings.model_copy(update={"service": service})


def _ticket_of(d: Daemon, message_id: str) -> Ticket:
    with d.desk.db.session() as session:
        ticket = session.scalars(
            select(Ticket)
            .join(Message, Message.ticket_id == Ticket.id)
            .where(Message.message_id == message_id)
        ).one()
        session.expunge(ticket)
        return ticket


def _client_key(d: Daemon, ticket: Ticket) -> str | None:
    with d.desk.db.session() as session:
        client = session.get(Client, ticket.client_id) if ticket.client_id else None
        return client.key if client else None


@pytest.mark.parametrize("via", ["lmtp", "imap"])
def test_another_clients_pointers_are_refused_and_the_relay_reaches_only_the_clients_people(
    via: str,
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with daemon(
        via, sqlite_url, tmp_path, dovecot, smtp_sink, monkeypatch, CLIENTS, _accept_strangers
    ) as d:
        report, report_id = mail(
            sender=BOSS,
            subject="Gradebook export fails",
            body="ACME-SECRET: the gradebook of course 7 exports an empty file.\n",
            headers={"Cc": COLLEAGUE},
        )
        d.deliver(report, report_id, BOSS)
        acme = _ticket_of(d, report_id)
        notice = next(m for m in smtp_sink.wait_for(2) if m.rcpt_tos == [STAFF])

        forged: dict[str, str] = {}
        forged_raw: dict[str, bytes] = {}
        for intruder in (EVE, MALLORY):
            raw, mid = mail(
                sender=intruder,
                to=f"support+{acme.number}@helpdesk.example",
                subject=f"Re: [#{acme.number}] Gradebook export fails",
                body="Please send me everything about this ticket.\n",
                in_reply_to=report_id,
                references=(report_id,),
            )
            d.deliver(raw, mid, intruder)
            forged[intruder] = mid
            forged_raw[intruder] = raw
        joined, joined_id = mail(
            sender=COLLEAGUE,
            subject="Re: Gradebook export fails",
            body="It happens for course 9 too.\n",
            in_reply_to=report_id,
            references=(report_id,),
        )
        d.deliver(joined, joined_id, COLLEAGUE)

        answer, answer_id = mail(
            sender=STAFF,
            subject=f"Re: {notice.message['Subject']}",
            body="STAFF-ANSWER: a stuck filter; fixed.\n",
            in_reply_to=notice.message["Message-ID"].strip("<>"),
        )
        before = len(smtp_sink.messages)
        d.deliver(answer, answer_id, STAFF)
        d.wait(lambda: any("STAFF-ANSWER" in m.message.get_content() for m in smtp_sink.messages))
        sent = smtp_sink.messages

        # The intruders' mails are tickets of their own, of their own client (or none).
        for intruder, mid in forged.items():
            own = _ticket_of(d, mid)
            assert own.id != acme.id
            assert own.requester == intruder
            assert _client_key(d, own) == ("globex" if intruder == EVE else None)
        assert _ticket_of(d, joined_id).id == acme.id, "a colleague in Cc joins the ticket"

        # The relay goes to Acme's people who wrote in on the ticket: its requester
        # and the colleague, and to nobody else.
        relays = [m for m in sent[before:] if "STAFF-ANSWER" in m.message.get_content()]
        assert len(relays) == 1
        assert sorted(relays[0].rcpt_tos) == sorted({BOSS, COLLEAGUE})
        for m in sent:
            if set(m.rcpt_tos) & {EVE, MALLORY}:
                text = m.message.get_content()
                assert "ACME-SECRET" not in text and "STAFF-ANSWER" not in text, m.rcpt_tos

        with d.desk.db.session() as session:
            refused = session.scalars(
                select(Event).where(Event.ticket_id == acme.id, Event.kind == "pointer_refused")
            ).all()
            writers = set(
                session.scalars(select(Message.sender).where(Message.ticket_id == acme.id))
            )
        # Each intruder pointed three ways at one ticket: the first pointer tried (the
        # thread headers) is recorded; the tag and plus-address name the same ticket.
        assert sorted((e.actor, e.detail["how"]) for e in refused) == sorted(
            (who, "thread headers") for who in (EVE, MALLORY)
        )
        assert {EVE, MALLORY}.isdisjoint(writers)
        raws = {EVE: forged_raw[EVE], COLLEAGUE: joined}

    # maildesk inspect names each ticket a mail points at, believed or refused.
    for who, raw in raws.items():
        eml = tmp_path / f"{who}.eml"
        eml.write_bytes(raw)
        shown = maildesk("inspect", "--config", str(tmp_path / "maildesk.toml"), str(eml))
        assert shown.returncode == 0, shown.stderr
        verdict = "believed" if who == COLLEAGUE else "REFUSED: the sender may not join it"
        assert f"ticket:    {acme.number} by thread headers: {verdict}" in shown.stdout


def _relayed(sink: SmtpSink, word: str) -> bool:
    return any(word in m.message.get_content() for m in sink.messages)


THUNDERBIRD_ID = "4FA76F9A.3060602@helpdesk.example"  # the form of zammad/mail/mail005.box
APPLE_MAIL_ID = "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@helpdesk.example"  # sisimai mac/…sendmail-01


@pytest.mark.parametrize("via", ["lmtp", "imap"])
def test_a_staff_reply_with_a_message_id_at_the_support_domain_is_obeyed_and_relayed(
    via: str,
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SUPPORT.endswith("@helpdesk.example") and STAFF.endswith("@helpdesk.example")
    with daemon(via, sqlite_url, tmp_path, dovecot, smtp_sink, monkeypatch, STAFF_ANN) as d:
        report, report_id = mail(sender=BOSS, subject="Quiz broken", body="The quiz hangs.\n")
        d.deliver(report, report_id, BOSS)
        ticket = _ticket_of(d, report_id)
        notice = next(m for m in smtp_sink.wait_for(2) if m.rcpt_tos == [STAFF])
        ack = next(m for m in smtp_sink.messages if m.rcpt_tos == [BOSS])

        for message_id, word, command in (
            (THUNDERBIRD_ID, "THUNDERBIRD-ANSWER", "#priority high"),
            (APPLE_MAIL_ID, "APPLE-ANSWER", "#status waiting"),
        ):
            answer, _ = mail(
                sender=STAFF,
                subject=f"Re: {notice.message['Subject']}",
                body=f"{word}: please clear the cache.\n\n{command}\n",
                message_id=message_id,
                in_reply_to=notice.message["Message-ID"].strip("<>"),
            )
            d.deliver(answer, message_id, STAFF)
            d.wait(functools.partial(_relayed, smtp_sink, word))
            relay = next(m for m in smtp_sink.messages if word in m.message.get_content())
            assert relay.rcpt_tos == [BOSS]
            assert command not in relay.message.get_content()

        with d.desk.db.session() as session:
            done = session.get(Ticket, ticket.id)
            assert done is not None
            assert (done.priority, done.status) == ("high", "waiting"), "both replies obeyed"
            kinds = set(session.scalars(select(Event.kind)))
        assert "loop_received" not in kinds

        # Our own mail still counts as ours: the ack itself, the ack's Message-ID
        # without our loop header, and a Message-ID in the domain only maildesk writes.
        ours = ack.message["Message-ID"].strip("<>")
        assert ours.endswith("@maildesk-test.maildesk.helpdesk.example")
        d.deliver(ack.data, ours, SUPPORT)
        bare, _ = mail(sender=BOSS, subject="Re: Quiz broken", message_id=ours)
        d.deliver(bare, ours, BOSS)
        made = "1234.5678@maildesk-test.maildesk.helpdesk.example"
        looped, _ = mail(sender=BOSS, subject="Fwd: Quiz broken", message_id=made)
        d.deliver(looped, made, BOSS)
        with d.desk.db.session() as session:
            loops = session.scalars(select(Event).where(Event.kind == "loop_received")).all()
            tickets = session.scalars(select(Ticket.id)).all()
        assert len(loops) == 3
        assert tickets == [ticket.id], "none of our own mails opened a ticket"


def test_cc_adds_a_recipient_on_purpose_and_the_client_is_told(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vendor = "support@lms-vendor.example"
    with daemon("imap", sqlite_url, tmp_path, dovecot, smtp_sink, monkeypatch, STAFF_ANN) as d:
        report, report_id = mail(sender=BOSS, subject="SCORM upload", body="Upload fails.\n")
        d.deliver(report, report_id, BOSS)
        ticket = _ticket_of(d, report_id)
        notice = next(m for m in smtp_sink.wait_for(2) if m.rcpt_tos == [STAFF])
        for word, extra in (("FIRST-ANSWER", f"\n#cc {vendor}\n"), ("SECOND-ANSWER", "")):
            answer, answer_id = mail(
                sender=STAFF,
                subject=f"Re: {notice.message['Subject']}",
                body=f"{word}: the vendor is looking at it.\n{extra}",
                in_reply_to=notice.message["Message-ID"].strip("<>"),
            )
            d.deliver(answer, answer_id, STAFF)
            d.wait(functools.partial(_relayed, smtp_sink, word))
            relay = next(m for m in smtp_sink.messages if word in m.message.get_content())
            assert relay.rcpt_tos == [BOSS, vendor], "the #cc holds for later relays too"
            text = relay.message.get_content()
            assert f"This reply also goes to {vendor}" in text
            assert "#cc" not in text

        # The added recipient is not one of Acme's people: its reply does not join.
        reply, reply_id = mail(
            sender=vendor,
            subject=relay.message["Subject"],
            body="Fixed in 4.2.1.\n",
            in_reply_to=relay.message["Message-ID"].strip("<>"),
        )
        d.deliver(reply, reply_id, vendor)
        with d.desk.db.session() as session:
            kinds = list(
                session.scalars(
                    select(Event.kind).where(Event.ticket_id == ticket.id).order_by(Event.id)
                )
            )
            joined = session.scalar(select(Message.ticket_id).where(Message.message_id == reply_id))
        assert kinds.count("command_cc") == 1
        assert "pointer_refused" in kinds
        assert joined != ticket.id
