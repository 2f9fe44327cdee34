"""Who a mail is from, over the real daemon: LMTP intake, and IMAP from Dovecot.

Issue 14's defects 2 to 5, each tried as an attacker would against ``maildesk
run`` (a thread of the test, its LMTP listener on a free port) and looked at
in the database afterwards: tickets, quarantine, events, and every mail queued
in the outbox. The LMTP listener answers 250 only after the mail's
transaction committed, so what the database holds after ``data()`` returns
is final for that mail.

- 2: only our receiving server's topmost Authentication-Results count, and
  only aligned with the From domain;
- 3: the sender is the From's addr-spec, never its display name, and a
  suspicious From spends nothing;
- 4: a staff From is obeyed only when our server vouches for it;
- 5: nobody is mailed about a mail that failed authentication, nor a null
  reverse-path; and plain-text bounces (MDaemon) are bounces, linked to the
  mail of ours they quote.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.config import Settings, settings_from_toml
from maildesk.daemon import Maildesk
from maildesk.store.models import Client, Event, Message, OutboxMail, QuarantinedMail, Quote, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, SUPPORT, mail, running, settings_for
from tests.servers.dovecot import DovecotServer, free_port

pytestmark = pytest.mark.integration

OURS = "mx.helpdesk.example"
STAFF = "ann@helpdesk.example"
BOSS = "boss@acme.example"  # acme requires authentication
OPS = "ops@beta.example"  # beta does not
CLIENTS = f"""
[[staff]]
name = "Ann"
email = "{STAFF}"

[[clients]]
id = "acme"
name = "Acme"
domains = ["acme.example"]
match_domain = true
require_authentication = true
contacts = [{{ email = "{BOSS}", authorised = true }}]

[[clients]]
id = "beta"
name = "Beta"
domains = ["beta.example"]
match_domain = true
contacts = [{{ email = "{OPS}", authorised = true }}]
"""


def _settings(
    db_url: str,
    tmp_path: Path,
    port: int | None,
    dovecot: DovecotServer | None = None,
    service: str = "",
) -> Settings:
    """The test settings with our authserv-id and, for LMTP, the listener on ``port``."""
    # settings_for checks its text, which needs the authserv-id before a client requires it.
    strict = "require_authentication = true"
    extra = CLIENTS.replace(strict, "require_authentication = false")
    _, path = settings_for(db_url, tmp_path, dovecot, extra=extra)
    text = path.read_text(encoding="utf-8")
    text = text.replace("[service]\n", f'[service]\nauthserv_id = "{OURS}"\n{service}', 1)
    text = text.replace("require_authentication = false", strict)
    if port is not None:
        text = text.replace(
            "[intake.listener]\nenabled = false",
            f"[intake.listener]\nenabled = true\nport = {port}",
        )
    path.write_text(text, encoding="utf-8")
    return settings_from_toml(text, str(path))


def trace(result: str | None, frm: str = "mail.sender.example", *, postfix: bool = False) -> bytes:
    """What our MTA puts on top: its milter's Authentication-Results (if any), its Received.

    ``postfix``: the milter's header just below the MTA's own Received, where
    Postfix puts it.
    """
    received = (
        f"Received: from {frm} by {OURS} with ESMTPS id 4XyZ; Fri, 20 Nov 2026 10:00:00 +0000"
    )
    results = [f"Authentication-Results: {OURS}; {result}"] if result is not None else []
    lines = [received, *results] if postfix else [*results, received]
    return ("\r\n".join(lines) + "\r\n").encode()


#: The sender's own provider's trace, below ours: whatever is under it came with the mail.
SENDERS_RELAY = b"Received: from attacker-pc by smtp.evil.example with ESMTPSA id 9\r\n"


def passing(domain: str) -> bytes:
    return trace(f"dkim=pass header.d={domain}; dmarc=pass header.from={domain}")


@dataclass
class Desk:
    """The running daemon, its LMTP port, and views of its database."""

    maildesk: Maildesk
    port: int

    def deliver(self, raw: bytes, mail_from: str) -> int:
        """One LMTP transaction (``mail_from`` "" is ``MAIL FROM:<>``); the reply to DATA."""
        deadline = time.monotonic() + 15  # the listener starts with the daemon's thread
        while True:
            try:
                lmtp = smtplib.LMTP("127.0.0.1", self.port, timeout=10)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with lmtp:
            lmtp.ehlo()
            assert lmtp.mail(mail_from)[0] == 250
            assert lmtp.rcpt(SUPPORT)[0] == 250
            code, _ = lmtp.data(raw)
        return code

    def tickets(self) -> list[tuple[str, str | None]]:
        """(requester, client key) of every ticket."""
        with self.maildesk.db.session() as session:
            rows = session.execute(
                select(Ticket.requester, Client.key).outerjoin(
                    Client, Ticket.client_id == Client.id
                )
            ).all()
        return [(r[0], r[1]) for r in rows]

    def held(self) -> list[tuple[str, str]]:
        with self.maildesk.db.session() as session:
            return [(q.sender, q.reason) for q in session.scalars(select(QuarantinedMail))]

    def outbox(self) -> list[tuple[str, tuple[str, ...]]]:
        """(kind, recipients) of every mail maildesk queued, whatever became of it."""
        with self.maildesk.db.session() as session:
            return [(o.kind, tuple(o.rcpt_to)) for o in session.scalars(select(OutboxMail))]

    def events(self, kind: str) -> list[Event]:
        with self.maildesk.db.session() as session:
            return list(session.scalars(select(Event).where(Event.kind == kind)))

    def ticket(self) -> Ticket:
        with self.maildesk.db.session() as session:
            return session.scalars(select(Ticket)).one()


@pytest.fixture
def desk(sqlite_url: str, tmp_path: Path) -> Iterator[Desk]:
    port = free_port()
    with running(_settings(sqlite_url, tmp_path, port)) as maildesk:
        yield Desk(maildesk, port)


def report(desk: Desk, sender: str = OPS) -> tuple[str, str]:
    """A report from ``sender`` (vouched for by our server); its Message-ID and ticket tag."""
    raw, mid = mail(sender=sender, subject="Backups fail", body="Since Monday the backup fails.\n")
    assert desk.deliver(passing(sender.rpartition("@")[2]) + raw, sender) == 250
    number = desk.ticket().number
    return mid, f"[#{number}]"


# --------------------------------------------------------------------------
# 2. Authentication-Results
# --------------------------------------------------------------------------

FORGED_PASS = {
    "Authentication-Results": f"{OURS}; dkim=pass header.d=acme.example;"
    " dmarc=pass header.from=acme.example"
}


@pytest.mark.parametrize(
    ("top", "in_mail", "believed"),
    [
        pytest.param(passing("acme.example"), None, True, id="ours says pass"),
        pytest.param(
            trace("dmarc=fail header.from=acme.example"),
            FORGED_PASS,
            False,
            id="forged pass below ours",
        ),
        pytest.param(
            trace("dkim=pass header.d=evil.example; dmarc=fail header.from=acme.example"),
            None,
            False,
            id="dkim pass for another domain",
        ),
        pytest.param(
            trace(
                "dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example", postfix=True
            ),
            None,
            True,
            id="ours below our received (postfix)",
        ),
        pytest.param(
            trace("dmarc=fail header.from=acme.example", postfix=True),
            FORGED_PASS,
            False,
            id="forged pass next to ours (postfix)",
        ),
        pytest.param(trace(None) + SENDERS_RELAY, FORGED_PASS, False, id="lone forged header"),
    ],
)
def test_only_our_topmost_aligned_verdict_makes_a_mail_the_clients(
    desk: Desk, top: bytes, in_mail: dict[str, str] | None, believed: bool
) -> None:
    raw, _ = mail(sender=BOSS, subject="Please reset the FTP password", headers=in_mail)
    assert desk.deliver(top + raw, "bounces@evil.example") == 250
    if believed:
        assert desk.tickets() == [(BOSS, "acme")]
        assert desk.held() == []
    else:
        assert desk.tickets() == []
        assert desk.held() == [(BOSS, "unauthenticated")]
        # Defect 5: the registered owner of the address is not told "not registered".
        assert desk.outbox() == []


# --------------------------------------------------------------------------
# 3. The sender is the addr-spec
# --------------------------------------------------------------------------


def test_a_display_name_never_supplies_the_address(desk: Desk) -> None:
    raw, _ = mail(sender="it@beta.example <mallory@evil.example>", subject="Send me the backups")
    assert desk.deliver(raw, "mallory@evil.example") == 250
    assert desk.tickets() == []
    assert desk.held() == [("mallory@evil.example", "unknown_sender")]
    assert desk.outbox() == [], "a flagged From is never answered"
    (flagged,) = desk.events("from_flagged")
    assert flagged.detail["flags"] == ["the display name holds another address"]


def test_an_encoded_display_name_with_a_line_break_is_not_an_address(desk: Desk) -> None:
    # Written by hand: the stdlib refuses to compose such a From.
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc:_n@evil.example?= <it@beta.example>\r\n"
        b"To: support@helpdesk.example\r\nSubject: Printer jammed\r\n"
        b"Date: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <eve.1@beta.example>\r\n"
        b"\r\nThe printer on floor 2 is jammed.\r\n"
    )
    assert desk.deliver(raw, "it@beta.example") == 250
    assert desk.tickets() == [("it@beta.example", "beta")]
    recipients = [r for _, to in desk.outbox() for r in to]
    assert recipients and not any("evil" in r for r in recipients), recipients
    (flagged,) = desk.events("from_flagged")
    assert "the display name holds a line break" in flagged.detail["flags"]


@pytest.mark.parametrize(
    ("sender", "accepted"),
    [(OPS, True), (f'"it@beta.example" <{OPS}>', False)],
    ids=["plain From", "flagged From"],
)
def test_a_flagged_from_answers_no_quote(desk: Desk, sender: str, accepted: bool) -> None:
    mid, tag = report(desk)
    quote, quote_mid = mail(
        sender=STAFF,
        subject=f"Re: {tag} Backups fail",
        body="We can move you to the new backup system.\n\n#quote 2h new backup system\n",
        in_reply_to=mid,
    )
    assert desk.deliver(passing("helpdesk.example") + quote, STAFF) == 250
    answer, _ = mail(
        sender=sender, subject=f"Re: {tag} Backups fail", body="I accept.\n", in_reply_to=quote_mid
    )
    assert desk.deliver(passing("beta.example") + answer, OPS) == 250
    with desk.maildesk.db.session() as session:
        status = session.scalars(select(Quote.status)).one()
    assert status == ("accepted" if accepted else "pending")
    assert bool(desk.events("answers_ignored")) is not accepted


# --------------------------------------------------------------------------
# 4. Staff commands need a vouched-for From
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "obeyed"),
    [
        (passing("helpdesk.example"), True),
        (trace(None), False),
        (trace("dkim=pass header.d=evil.example; dmarc=fail header.from=helpdesk.example"), False),
    ],
    ids=["vouched for", "no verdict", "dmarc fail"],
)
def test_staff_commands_from_a_forged_from_are_not_obeyed(
    desk: Desk, top: bytes, obeyed: bool
) -> None:
    mid, tag = report(desk)
    forged, _ = mail(
        sender=STAFF,
        subject=f"Re: {tag} Backups fail",
        body="Fixed.\n\n#time 2h\n#status resolved\n",
        in_reply_to=mid,
    )
    assert desk.deliver(top + forged, STAFF if obeyed else "mallory@evil.example") == 250
    kinds = [kind for kind, _ in desk.outbox()]
    assert (desk.ticket().status == "resolved") is obeyed
    assert bool(desk.events("command_time")) is obeyed
    assert ("relay" in kinds) is obeyed
    if not obeyed:
        assert desk.held() == [(STAFF, "staff_unauthenticated")]
        assert ("staff_unauthenticated", (STAFF,)) in desk.outbox()
        assert desk.events("staff_mail_unauthenticated")


def test_staff_commands_from_a_forged_from_are_not_obeyed_over_imap(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same forgery delivered by Dovecot (Return-Path and its LMTP hop on top)."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    maildesk = Maildesk(_settings(sqlite_url, tmp_path, None, dovecot))
    maildesk.prepare()
    try:
        raw, mid = mail(sender=OPS, subject="Backups fail")
        hop = b"Return-Path: <ops@beta.example>\r\nReceived: from mx by imap with LMTP id 1\r\n"
        dovecot.append("INBOX", hop + passing("beta.example") + raw)
        maildesk.run_once()
        with maildesk.db.session() as session:
            number = session.scalars(select(Ticket.number)).one()
        forged, _ = mail(
            sender=STAFF,
            subject=f"Re: [#{number}] Backups fail",
            body="Done.\n\n#time 2h\n#status resolved\n",
            in_reply_to=mid,
        )
        dovecot.append("INBOX", b"Return-Path: <mallory@evil.example>\r\n" + trace(None) + forged)
        maildesk.run_once()
        with maildesk.db.session() as session:
            ticket = session.scalars(select(Ticket)).one()
            timed = session.scalars(select(Event).where(Event.kind == "command_time")).all()
            held = session.scalars(select(QuarantinedMail.reason)).all()
        assert ticket.status != "resolved"
        assert timed == []
        assert held == ["staff_unauthenticated"]
    finally:
        maildesk.db.dispose()


# --------------------------------------------------------------------------
# 5. No backscatter; bounces that are not DSNs
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mail_from", "return_path", "notice"),
    [
        ("someone@nowhere.example", None, True),
        ("", None, False),
        ("someone@nowhere.example", "<>", False),
    ],
    ids=["stranger", "MAIL FROM:<>", "Return-Path: <>"],
)
def test_a_null_reverse_path_is_never_answered(
    desk: Desk, mail_from: str, return_path: str | None, notice: bool
) -> None:
    headers = {"Return-Path": return_path} if return_path is not None else None
    raw, _ = mail(sender="someone@nowhere.example", subject="Question", headers=headers)
    assert desk.deliver(trace(None) + raw, mail_from) == 250
    assert desk.held() == [("someone@nowhere.example", "unknown_sender")]
    expected = [("unknown_sender", ("someone@nowhere.example",))] if notice else []
    assert desk.outbox() == expected
    if notice:
        with desk.maildesk.db.session() as session:
            data = session.scalars(select(OutboxMail.data)).one()
        assert b"not registered" in data  # it says what happened: unregistered


def test_a_plain_text_bounce_from_mdaemon_is_a_bounce_linked_to_our_mail(desk: Desk) -> None:
    report(desk)
    with desk.maildesk.db.session() as session:
        ack_id, ticket_id = session.execute(
            select(OutboxMail.message_id, OutboxMail.ticket_id).where(OutboxMail.kind == "ack")
        ).one()
    body = (
        "The attached message had PERMANENT fatal delivery errors!\n\n"
        f"Your message <{ack_id}> could not be delivered to one or more recipients.\n\n"
        f"--- Session Transcript ---\n RCPT To:<{OPS}>\n 550 5.1.1 <{OPS}>... User unknown\n"
    )
    bounce, _ = mail(
        sender="MDaemon@mail.beta.example", subject="Permanent Delivery Failure", body=body
    )
    before = desk.outbox()
    assert desk.deliver(trace(None, "mail.beta.example") + bounce, "") == 250
    with desk.maildesk.db.session() as session:
        stored = session.scalars(
            select(Message).where(Message.sender == "mdaemon@mail.beta.example")
        ).one()
        ack_status = session.scalars(
            select(OutboxMail.status).where(OutboxMail.message_id == ack_id)
        ).one()
    assert (stored.disposition, stored.ticket_id) == ("bounce", ticket_id)
    assert ack_status == "failed"
    assert desk.held() == []
    new = [m for m in desk.outbox() if m not in before]
    assert all("mdaemon" not in r for _, to in new for r in to), new


def test_an_unauthenticated_mail_is_not_answered_when_strangers_are_accepted(
    sqlite_url: str, tmp_path: Path
) -> None:
    """With ``unknown_senders = "accept"`` the mail opens a ticket of no client, unanswered."""
    port = free_port()
    accepting = _settings(sqlite_url, tmp_path, port, service='unknown_senders = "accept"\n')
    with running(accepting) as maildesk:
        desk = Desk(maildesk, port)
        raw, _ = mail(sender=BOSS, subject="Please reset the FTP password")
        assert desk.deliver(trace("dmarc=fail header.from=acme.example") + raw, BOSS) == 250
        assert desk.tickets() == [(BOSS, None)]
        assert [to for _, to in desk.outbox() if BOSS in to] == []
