"""The LMTP push intake, driven by the stdlib ``smtplib.LMTP`` client against a real
listener, on SQLite and PostgreSQL: 250 only after the commit and naming the ticket, 550
for strangers, one reply per recipient, 552 over the size limit, 451 while the database
is away, and every mail recorded exactly once whatever the MTA retries."""

from __future__ import annotations

import smtplib
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import make_url

from maildesk.daemon import Maildesk
from maildesk.ingest.context import Receipt
from maildesk.ingest.lmtp import MailListener, address_matcher
from maildesk.ingest.receive import Receiver
from maildesk.store.blobs import get_blob
from maildesk.store.db import Database
from maildesk.store.models import Blob, Message, OutboxMail, QuarantinedMail, Ticket
from tests.integration.helpers import SUPPORT, mail, settings_for
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

EXTRA = "help@helpdesk.example"
CLIENT = "client@acme.example"
TIMEOUT_S = 5.0  # a socket timeout, so a missing reply fails the test instead of hanging it

OK = 250
UNAVAILABLE = 451
NO_SUCH_MAILBOX = 550
TOO_BIG = 552


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wire_mail(
    subject: str = "Login page broken", body: str | None = None, to: str = SUPPORT
) -> tuple[bytes, str]:
    """``helpers.mail`` from the client; it has CRLF line ends, as an MTA sends over LMTP.

    smtplib converts the line ends of ``str`` messages only; bytes go out as given.
    """
    if body is None:
        return mail(sender=CLIENT, subject=subject, to=to)
    return mail(sender=CLIENT, subject=subject, to=to, body=body)


@dataclass
class Desk:
    """A maildesk with a running LMTP listener and a way to look into its database."""

    maildesk: Maildesk
    db: Database  # the receiver's own handle, with a short SQLite busy timeout
    listener: MailListener

    @property
    def host(self) -> str:
        return self.listener.address[0]

    @property
    def port(self) -> int:
        return self.listener.address[1]

    def client(self, timeout: float = TIMEOUT_S) -> smtplib.LMTP:
        """A connected client that has said LHLO (smtplib's ``ehlo`` sends LHLO for LMTP)."""
        lmtp = smtplib.LMTP(self.host, self.port, timeout=timeout)
        code, text = lmtp.ehlo()
        assert code == OK, text
        return lmtp

    def deliver(self, raw: bytes, rcpts: tuple[str, ...] = (SUPPORT,)) -> list[tuple[int, str]]:
        """One LMTP transaction; every reply after DATA (one per accepted recipient)."""
        with self.client() as lmtp:
            code, text = lmtp.mail(CLIENT)
            assert code == OK, text
            accepted = [r for r in rcpts if lmtp.rcpt(r)[0] == OK]
            code, text = lmtp.data(raw)
            replies = [(code, text.decode())]
            for _ in accepted[1:]:
                code, text = lmtp.getreply()
                replies.append((code, text.decode()))
            assert lmtp.noop()[0] == OK, "the conversation is still in step"
        return replies

    def count(self, model: type, *where: ColumnElement[bool]) -> int:
        with self.maildesk.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def counts(self) -> dict[str, int]:
        return {
            "tickets": self.count(Ticket),
            "messages_in": self.count(Message, Message.direction == "in"),
            "messages_out": self.count(Message, Message.direction == "out"),
            "blobs": self.count(Blob),
            "outbox": self.count(OutboxMail),
            "quarantine": self.count(QuarantinedMail),
        }

    def ticket_numbers(self) -> list[str]:
        with self.maildesk.db.session() as session:
            return list(session.scalars(select(Ticket.number)))


@contextmanager
def _desks(url: str, tmp_path: Path, sink: SmtpSink) -> Iterator[Callable[..., Desk]]:
    settings, _ = settings_for(url, tmp_path, sink=sink)
    service = settings.service.model_copy(update={"extra_addresses": (EXTRA,)})
    settings = settings.model_copy(update={"service": service})
    running: list[Desk] = []

    def start(max_bytes: int | None = None) -> Desk:
        desk = Maildesk(settings)
        desk.prepare()
        db = Database(settings.database_url, busy_timeout_ms=300)
        listener = MailListener(
            host="127.0.0.1",
            port=_free_port(),
            protocol="lmtp",
            receive=Receiver(db, desk.ctx).receive,
            accepts=address_matcher(settings.service.addresses),
            max_bytes=max_bytes or settings.service.max_message_bytes,
        )
        running.append(Desk(desk, db, listener))
        listener.start()
        return running[-1]

    try:
        yield start
    finally:
        for item in running:
            item.listener.stop()
            item.db.dispose()
            item.maildesk.db.dispose()


@pytest.fixture
def start_desk(db_url: str, tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[Callable[..., Desk]]:
    """Starts a maildesk (schema created) with its LMTP listener on a free port;
    on SQLite and on PostgreSQL."""
    with _desks(db_url, tmp_path, smtp_sink) as start:
        yield start


@pytest.fixture
def start_sqlite_desk(
    sqlite_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> Iterator[Callable[..., Desk]]:
    """The same on SQLite only, for what is settled before the database is touched."""
    with _desks(sqlite_url, tmp_path, smtp_sink) as start:
        yield start


# -- 1. a mail becomes a ticket, and the 250 says which -----------------------------


def test_delivered_mail_becomes_one_ticket_and_its_ack_is_queued_and_sent(
    start_desk: Callable[..., Desk], smtp_sink: SmtpSink
) -> None:
    desk = start_desk()
    raw, mid = wire_mail(subject="Login page broken")

    [(code, text)] = desk.deliver(raw)

    [number] = desk.ticket_numbers()
    assert code == OK
    assert number in text, f"the 250 reply names the ticket: {text!r}"
    assert desk.counts() == {
        "tickets": 1,
        "messages_in": 1,
        "messages_out": 1,
        "blobs": 1,
        "outbox": 1,
        "quarantine": 0,
    }
    with desk.maildesk.db.session() as session:
        stored = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert stored.message_id == mid
        assert stored.source_key is not None and stored.source_key.startswith("lmtp:")
        assert stored.raw_sha256 is not None
        assert get_blob(session, stored.raw_sha256) == raw
        ack = session.scalars(select(OutboxMail)).one()
        assert (ack.kind, ack.status, ack.rcpt_to) == ("ack", "pending", [CLIENT])

    result = desk.maildesk.flush()
    assert result.sent == 1
    [sent] = smtp_sink.wait_for(1)
    assert sent.rcpt_tos == [CLIENT]
    assert sent.message["In-Reply-To"] == f"<{mid}>"
    assert mid in sent.message["References"]
    assert f"[#{number}]" in sent.message["Subject"]
    assert desk.count(OutboxMail, OutboxMail.status == "pending") == 0


# -- 2. who may be written to ----------------------------------------------------------


def test_unknown_recipient_is_refused_at_rcpt(start_sqlite_desk: Callable[..., Desk]) -> None:
    desk = start_sqlite_desk()
    raw, _ = wire_mail(to="sales@helpdesk.example")
    with desk.client() as lmtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        lmtp.sendmail(CLIENT, ["sales@helpdesk.example"], raw)
    [(code, text)] = refused.value.recipients.values()
    assert code == NO_SUCH_MAILBOX, text
    for other in ("support@other.example", "supportx@helpdesk.example"):
        with desk.client() as lmtp:
            lmtp.mail(CLIENT)
            assert lmtp.rcpt(other)[0] == NO_SUCH_MAILBOX
    assert desk.counts() == dict.fromkeys(desk.counts(), 0)


def test_our_addresses_are_accepted_in_every_form(
    start_sqlite_desk: Callable[..., Desk],
) -> None:
    desk = start_sqlite_desk()
    forms = ("support+2026-000042@helpdesk.example", "Support@Helpdesk.Example", EXTRA)
    for rcpt in forms:
        raw, _ = wire_mail(subject=f"Mail to {rcpt}", to=rcpt)
        with desk.client() as lmtp:
            assert lmtp.sendmail(CLIENT, [rcpt], raw) == {}, rcpt
    assert desk.count(Ticket) == len(forms)
    assert desk.count(Message, Message.direction == "in") == len(forms)


def test_mixed_recipients_only_ours_accepted_and_mail_stored_once(
    start_desk: Callable[..., Desk],
) -> None:
    desk = start_desk()
    raw, _ = wire_mail()
    stranger = "nobody@helpdesk.example"
    with desk.client() as lmtp:
        refused = lmtp.sendmail(CLIENT, [stranger, SUPPORT], raw)
    assert list(refused) == [stranger]
    assert refused[stranger][0] == NO_SUCH_MAILBOX
    assert desk.count(Ticket) == 1
    assert desk.count(Message, Message.direction == "in") == 1


# -- 3. LMTP: one reply per recipient, one stored mail ---------------------------------


def test_two_recipients_get_two_replies_and_one_ticket(start_desk: Callable[..., Desk]) -> None:
    desk = start_desk()
    raw, _ = wire_mail(to=f"{SUPPORT}, {EXTRA}")

    replies = desk.deliver(raw, rcpts=(SUPPORT, EXTRA))

    [number] = desk.ticket_numbers()
    assert len(replies) == 2, "RFC 2033: one reply after DATA for each accepted recipient"
    assert all(code == OK and number in text for code, text in replies), replies
    assert desk.counts() == {
        "tickets": 1,
        "messages_in": 1,
        "messages_out": 1,
        "blobs": 1,
        "outbox": 1,
        "quarantine": 0,
    }

    # smtplib's sendmail reads a single reply after DATA whatever the number of
    # recipients (python/cpython#76984): it returns without hanging, and the second
    # recipient's reply is still waiting on the line (left there, QUIT would read it as
    # its own answer and the ``with`` block would raise).
    with desk.client() as lmtp:
        assert lmtp.sendmail(CLIENT, [SUPPORT, EXTRA], raw) == {}
        code, text = lmtp.getreply()
        assert code == OK and number in text.decode()
    assert desk.count(Message, Message.direction == "in") == 1, "the redelivery is recognised"


# -- 4. size limit -------------------------------------------------------------------


LONG_LOG = "The log says:\n" + "error 0x0042 in module login\n" * 1_000  # ~30 kB, short lines


def test_oversized_mail_is_refused_with_552_and_nothing_stored(
    start_sqlite_desk: Callable[..., Desk],
) -> None:
    desk = start_sqlite_desk(max_bytes=10_000)
    raw, _ = wire_mail(body=LONG_LOG)
    assert len(raw) > 10_000

    # An MTA that declares the size (smtplib does, as SIZE is offered) is refused at MAIL.
    with desk.client() as lmtp, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        lmtp.sendmail(CLIENT, [SUPPORT], raw)
    assert refused.value.smtp_code == TOO_BIG

    # One that does not is refused after DATA.
    with desk.client() as lmtp:
        lmtp.mail(CLIENT)
        assert lmtp.rcpt(SUPPORT)[0] == OK
        code, _ = lmtp.data(raw)
    assert code == TOO_BIG
    assert desk.counts() == dict.fromkeys(desk.counts(), 0)


def _must_not_store(raw: bytes, source_key: str, envelope_sender: str | None) -> Receipt:
    raise AssertionError("an oversized mail must not reach the receiver")


def test_oversized_mail_to_two_recipients_gets_one_552_per_recipient() -> None:
    listener = MailListener(
        host="127.0.0.1",
        port=_free_port(),
        protocol="lmtp",
        receive=_must_not_store,
        accepts=address_matcher(frozenset({SUPPORT, EXTRA})),
        max_bytes=10_000,
    )
    listener.start()
    try:
        raw, _ = wire_mail(body=LONG_LOG)
        host, port = listener.address
        with smtplib.LMTP(host, port, timeout=1.0) as lmtp:
            lmtp.ehlo()
            lmtp.mail(CLIENT)  # no SIZE declared: the limit is met during DATA
            assert lmtp.rcpt(SUPPORT)[0] == OK
            assert lmtp.rcpt(EXTRA)[0] == OK
            assert lmtp.data(raw)[0] == TOO_BIG
            assert lmtp.getreply()[0] == TOO_BIG  # the second recipient's reply
    finally:
        listener.stop()


# -- 5. database unavailable: 451, nothing half-stored, then exactly once -------------


@contextmanager
def _sqlite_locked(url: str) -> Iterator[None]:
    """Another process holds SQLite's write lock (BEGIN EXCLUSIVE)."""
    path = make_url(url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@contextmanager
def _postgres_closed(url: str, admin_url: str) -> Iterator[None]:
    """The test database refuses new connections and its open sessions are ended.

    ``CONNECTION LIMIT 0`` does not stop a superuser, so when the test role is one the
    database is closed with ``ALLOW_CONNECTIONS false``, which stops everyone.
    """
    import psycopg
    from psycopg import sql

    name = make_url(url).database
    assert name
    ident = sql.Identifier(name)
    libpq_url = make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(libpq_url.render_as_string(hide_password=False), autocommit=True) as admin:
        superuser = admin.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if superuser and superuser[0]:
            close = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident)
            reopen = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(ident)
        else:
            close = sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 0").format(ident)
            reopen = sql.SQL("ALTER DATABASE {} CONNECTION LIMIT -1").format(ident)
        admin.execute(close)
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            yield
        finally:
            admin.execute(reopen)


def test_database_unavailable_gives_451_then_redelivery_is_stored_once(
    start_desk: Callable[..., Desk], request: pytest.FixtureRequest
) -> None:
    desk = start_desk()
    url = desk.db.url
    raw, mid = wire_mail(subject="Invoices page down")
    if desk.db.dialect == "sqlite":
        unavailable = _sqlite_locked(url)
    else:
        unavailable = _postgres_closed(url, request.getfixturevalue("postgres_admin_url"))

    with unavailable:
        [(code, text)] = desk.deliver(raw)
    assert code == UNAVAILABLE, text
    assert "temporarily unable to store" in text, "deferred as an outage, not as a crash"
    assert desk.counts() == dict.fromkeys(desk.counts(), 0), "nothing half-stored"

    [(code, text)] = desk.deliver(raw)  # the MTA retries the very same mail
    [number] = desk.ticket_numbers()
    assert code == OK and number in text
    assert desk.counts() == {
        "tickets": 1,
        "messages_in": 1,
        "messages_out": 1,
        "blobs": 1,
        "outbox": 1,
        "quarantine": 0,
    }
    assert desk.count(Message, Message.message_id == mid) == 1


# -- 6. the MTA lost our 250 and delivers again --------------------------------------


def test_same_mail_twice_is_stored_once_and_both_get_250(
    start_desk: Callable[..., Desk],
) -> None:
    desk = start_desk()
    raw, _ = wire_mail()
    [(first, first_text)] = desk.deliver(raw)
    [(second, second_text)] = desk.deliver(raw)
    [number] = desk.ticket_numbers()
    assert (first, second) == (OK, OK)
    assert number in first_text and number in second_text
    assert desk.counts() == {
        "tickets": 1,
        "messages_in": 1,
        "messages_out": 1,
        "blobs": 1,
        "outbox": 1,
        "quarantine": 0,
    }


# -- 7. garbage is taken in and set aside --------------------------------------------


def test_unparseable_mail_gets_250_and_is_quarantined(start_desk: Callable[..., Desk]) -> None:
    desk = start_desk()
    junk = b"this is not a mail at all\r\n\xff\xfe no headers here\r\n"

    [(code, text)] = desk.deliver(junk)
    assert code == OK, "we took responsibility for the mail"
    assert "ticket" not in text
    [(again, _)] = desk.deliver(junk)
    assert again == OK

    assert desk.count(Ticket) == 0
    assert desk.count(QuarantinedMail) == 1
    with desk.maildesk.db.session() as session:
        held = session.scalars(select(QuarantinedMail)).one()
        assert held.reason == "unparseable"
        assert held.detail
        assert held.source_key.startswith("lmtp:")
        assert get_blob(session, held.raw_sha256) == junk
