"""Proof that the server fixtures are real servers that behave as maildesk will see them.

If these fail, every other integration test is suspect, so they check exactly what the
rest rely on: byte-exact IMAP round trips, MOVE, IDLE, outages of both servers, SMTP
refusals at the right stage and an empty PostgreSQL database per test.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
from email.message import EmailMessage

import psycopg
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import REQUIRE_ENV, unavailable
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

MAIL_1 = (
    b"From: Ada Customer <ada@customer.example>\r\n"
    b"To: support@maildesk.test\r\n"
    b"Subject: Printer on fire\r\n"
    b"Message-ID: <1@customer.example>\r\n"
    b"Date: Mon, 04 Mar 2024 09:15:00 +0100\r\n"
    b"\r\n"
    b"Please help.\r\n"
)
MAIL_2 = (
    b"From: =?utf-8?q?Bj=C3=B6rn?= <bjorn@customer.example>\r\n"
    b"To: support@maildesk.test\r\n"
    b"Subject: =?utf-8?q?R=C3=BCckfrage?=\r\n"
    b"Message-ID: <2@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe,\r\n"
    b".a line starting with a dot\r\n"
)


def _imap(server: DovecotServer) -> IMAPClient:
    imap = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    imap.login(server.user, server.password)
    return imap


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# -- Dovecot -------------------------------------------------------------------------


def test_append_and_read_back_byte_identical(dovecot: DovecotServer) -> None:
    imap = _imap(dovecot)
    try:
        imap.append("INBOX", MAIL_1)
        imap.append("INBOX", MAIL_2, flags=[b"\\Seen"])
        imap.select_folder("INBOX", readonly=True)
        uids = sorted(imap.search("ALL"))
        fetched = imap.fetch(uids, [b"BODY.PEEK[]", b"FLAGS"])
    finally:
        imap.logout()
    assert [fetched[uid][b"BODY[]"] for uid in uids] == [MAIL_1, MAIL_2]
    assert dovecot.messages("INBOX") == [MAIL_1, MAIL_2]
    assert dovecot.flags("INBOX") == [frozenset(), frozenset({"\\Seen"})]
    assert dovecot.count("INBOX") == 2


def test_append_helper_returns_uid(dovecot: DovecotServer) -> None:
    first = dovecot.append("INBOX", MAIL_1)
    second = dovecot.append("INBOX", MAIL_2)
    assert first is not None and second is not None and second > first
    assert dovecot.uids("INBOX") == [first, second]


def test_move_to_new_folder(dovecot: DovecotServer) -> None:
    dovecot.append("INBOX", MAIL_1)
    dovecot.append("INBOX", MAIL_2)
    dovecot.create_folder("Processed")
    imap = _imap(dovecot)
    try:
        assert b"MOVE" in imap.capabilities()
        imap.select_folder("INBOX")
        first = min(imap.search("ALL"))
        imap.move([first], "Processed")
    finally:
        imap.logout()
    assert dovecot.messages("INBOX") == [MAIL_2]
    assert dovecot.messages("Processed") == [MAIL_1]
    assert dovecot.folders() == ["INBOX", "Processed"]


def test_nested_folders_use_slash_and_reset_empties_everything(dovecot: DovecotServer) -> None:
    dovecot.create_folder(f"Archive{dovecot.delimiter}2024")
    dovecot.append(f"Archive{dovecot.delimiter}2024", MAIL_1)
    dovecot.append("INBOX", MAIL_2)
    assert "Archive/2024" in dovecot.folders()
    dovecot.reset()
    assert dovecot.folders() == ["INBOX"]
    assert dovecot.count("INBOX") == 0


def test_idle_is_offered_and_reports_new_mail(dovecot: DovecotServer) -> None:
    imap = _imap(dovecot)
    try:
        assert b"IDLE" in imap.capabilities()
        imap.select_folder("INBOX")
        imap.idle()
        dovecot.append("INBOX", MAIL_1)
        responses = imap.idle_check(timeout=10)
        imap.idle_done()
    finally:
        imap.logout()
    assert (1, b"EXISTS") in responses


def test_wrong_password_is_refused_quickly(dovecot: DovecotServer) -> None:
    imap = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5)
    with pytest.raises(LoginError):
        imap.login(dovecot.user, "not-the-password")
    imap.shutdown()


@pytest.mark.parametrize("outage", ["stop", "kill"])
def test_outage_and_restart_keep_port_and_mail(dovecot: DovecotServer, outage: str) -> None:
    dovecot.append("INBOX", MAIL_1)
    port = dovecot.port
    session = _imap(dovecot)
    session.select_folder("INBOX")

    getattr(dovecot, outage)()
    assert not dovecot.running
    assert _refused(dovecot.host, port)
    with pytest.raises((imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError)):
        session.noop()

    dovecot.start()
    assert dovecot.port == port
    assert dovecot.messages("INBOX") == [MAIL_1]
    dovecot.append("INBOX", MAIL_2)
    assert dovecot.messages("INBOX") == [MAIL_1, MAIL_2]


def test_each_test_gets_its_own_dovecot(dovecot: DovecotServer) -> None:
    with DovecotServer() as other:
        assert other.port != dovecot.port
        other.append("INBOX", MAIL_1)
        assert dovecot.count("INBOX") == 0
    assert not other.root.exists()


# -- SMTP sink -----------------------------------------------------------------------


def test_smtp_sink_records_exact_bytes(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.sendmail(
            "support@maildesk.test", ["ada@customer.example", "cc@customer.example"], MAIL_2
        )
    [received] = smtp_sink.wait_for(1)
    assert received.data == MAIL_2  # dot-stuffing undone, CRLF kept
    assert received.mail_from == "support@maildesk.test"
    assert received.rcpt_tos == ["ada@customer.example", "cc@customer.example"]
    assert received.message["Subject"] == "Rückfrage"
    assert received.message["Message-ID"] == "<2@customer.example>"


def test_smtp_sink_send_message(smtp_sink: SmtpSink) -> None:
    msg = EmailMessage()
    msg["From"] = "support@maildesk.test"
    msg["To"] = "ada@customer.example"
    msg["Subject"] = "Ticket #42 received"
    msg.set_content("We are on it.\n")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.send_message(msg)
    received = smtp_sink.wait_for(1)[0].message
    assert received["Subject"] == "Ticket #42 received"
    assert received.get_content().splitlines() == ["We are on it."]


def test_smtp_reject_next_permanent_at_rcpt(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_next(550)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
        assert refused.value.recipients["ada@customer.example"][0] == 550
        # Only the next transaction was refused.
        client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
    assert [r.data for r in smtp_sink.wait_for(1)] == [MAIL_1]
    assert [(r.stage, r.reply[:3]) for r in smtp_sink.rejected] == [("rcpt", "550")]


def test_smtp_reject_temporary_at_data_and_reject_all(smtp_sink: SmtpSink) -> None:
    smtp_sink.reject_next(451, stage="data")
    with (
        smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
    assert refused.value.smtp_code == 451

    smtp_sink.reject_all(451, stage="mail")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPSenderRefused):
                client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
        smtp_sink.accept_all()
        client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
    assert len(smtp_sink.wait_for(1)) == 1
    assert len(smtp_sink.rejected) == 3


def test_smtp_wait_for_reports_what_arrived(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
    with pytest.raises(AssertionError, match="Printer on fire"):
        smtp_sink.wait_for(2, timeout=0.2)
    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_smtp_outage_and_restart_on_same_port(smtp_sink: SmtpSink) -> None:
    port = smtp_sink.port
    smtp_sink.stop()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(smtp_sink.host, port, timeout=5)
    smtp_sink.start()
    assert smtp_sink.port == port
    with smtplib.SMTP(smtp_sink.host, port, timeout=10) as client:
        client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
    assert smtp_sink.wait_for(1)[0].data == MAIL_1


def test_smtp_sink_with_credentials_requires_auth() -> None:
    with SmtpSink(credentials=("notify", "pw")) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPSenderRefused):
                client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("notify", "wrong")
            client.login("notify", "pw")
            client.sendmail("support@maildesk.test", ["ada@customer.example"], MAIL_1)
        assert sink.wait_for(1)[0].auth_user == "notify"


# -- PostgreSQL ----------------------------------------------------------------------


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def test_postgres_url_is_a_fresh_empty_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql")
    with psycopg.connect(_libpq(postgres_url), connect_timeout=5) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE ticket (id serial PRIMARY KEY, subject text NOT NULL)")
        conn.execute("INSERT INTO ticket (subject) VALUES ('Printer on fire')")
        assert conn.execute("SELECT subject FROM ticket").fetchall() == [("Printer on fire",)]


def test_postgres_url_differs_per_test(postgres_url: str, postgres_admin_url: str) -> None:
    assert postgres_url.rsplit("/", 1)[1].startswith("maildesk_test_")
    assert postgres_url != postgres_admin_url


# -- missing servers -----------------------------------------------------------------


def test_missing_server_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        unavailable("dovecot binary not found", "apt-get install -y dovecot-imapd")


def test_missing_server_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install"):
        unavailable("dovecot binary not found", "apt-get install -y dovecot-imapd")
