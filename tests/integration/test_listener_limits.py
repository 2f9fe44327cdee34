"""The listener of the real daemon and the size and line limits: lines over 1,000 bytes
are taken in and stored whole; mail over ``max_message_bytes`` is refused with a 552 that
names the limit over LMTP, and quarantined with a notice to the sender when it comes from
an IMAP mailbox (the two paths the example config describes). aiosmtpd's per-command log
lines appear only at DEBUG."""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from maildesk.store.blobs import get_blob
from maildesk.store.models import Message, QuarantinedMail, Ticket
from tests.integration.helpers import (
    IMAP_PASSWORD_ENV,
    SUPPORT,
    mail,
    running,
    settings_for,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

CLIENT = "client@acme.example"
OK = 250
TOO_BIG = 552


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_listener(settings: Settings, max_bytes: int | None = None) -> Settings:
    listener = settings.intake.listener.model_copy(update={"enabled": True, "port": _free_port()})
    intake = settings.intake.model_copy(update={"listener": listener})
    service = settings.service
    if max_bytes is not None:
        service = service.model_copy(update={"max_message_bytes": max_bytes})
    return settings.model_copy(update={"intake": intake, "service": service})


def _client(settings: Settings) -> smtplib.LMTP:
    """A connected LMTP client, once the daemon (started in a thread) listens."""
    lst = settings.intake.listener
    deadline = time.monotonic() + 20
    while True:
        try:
            lmtp = smtplib.LMTP(lst.host, lst.port, timeout=10)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert lmtp.ehlo()[0] == OK
    return lmtp


def _long_lines_mail(header_bytes: int, body_bytes: int) -> bytes:
    """A mail with one unfolded header and one HTML body line far over 998 bytes."""
    header = "X-Tracking: " + "t" * header_bytes
    body = "<p>" + "The export fails on this page. " * (body_bytes // 31) + "</p>"
    lines = [
        f"From: {CLIENT}",
        f"To: {SUPPORT}",
        "Subject: Export fails (long lines)",
        "Date: Fri, 20 Nov 2026 10:00:00 +0000",
        "Message-ID: <long-lines@acme.example>",
        header,
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()


def test_lines_over_1000_bytes_are_accepted_and_stored_whole(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings, _ = settings_for(sqlite_url, tmp_path)
    settings = _with_listener(settings)
    raw = _long_lines_mail(header_bytes=3_000, body_bytes=20_000)
    longest = max(len(line) for line in raw.split(b"\r\n"))
    assert longest > 10_000
    with running(settings) as desk, _client(settings) as lmtp:
        lmtp.mail(CLIENT)
        assert lmtp.rcpt(SUPPORT)[0] == OK
        code, text = lmtp.data(raw)
        assert code == OK, text
        with desk.db.session() as session:
            message = session.scalars(select(Message).where(Message.direction == "in")).one()
            assert message.message_id == "long-lines@acme.example"
            assert session.scalars(select(Ticket)).one()
            assert message.raw_sha256 is not None
            stored = get_blob(session, message.raw_sha256)
    assert stored == raw


def test_a_line_longer_than_the_size_limit_is_refused_as_too_big(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings, _ = settings_for(sqlite_url, tmp_path)
    settings = _with_listener(settings, max_bytes=8_000)
    raw = _long_lines_mail(header_bytes=100, body_bytes=9_000)
    with running(settings) as desk, _client(settings) as lmtp:
        lmtp.mail(CLIENT)
        assert lmtp.rcpt(SUPPORT)[0] == OK
        code, text = lmtp.data(raw)
        assert code == TOO_BIG
        assert b"(8000 bytes)" in text
        with desk.db.session() as session:
            assert session.scalars(select(Message)).all() == []


def test_oversized_mail_over_lmtp_gets_552_naming_the_limit(
    sqlite_url: str, tmp_path: Path
) -> None:
    limit = 20_000
    settings, _ = settings_for(sqlite_url, tmp_path)
    settings = _with_listener(settings, max_bytes=limit)
    raw, _ = mail(body="error 0x0042 in module login\n" * 2_000)
    assert len(raw) > limit
    with running(settings) as desk, _client(settings) as lmtp:
        assert lmtp.esmtp_features["size"] == str(limit)
        lmtp.mail(CLIENT)  # no SIZE declared: refused at the end of DATA
        assert lmtp.rcpt(SUPPORT)[0] == OK
        code, text = lmtp.data(raw)
        assert code == TOO_BIG
        assert text.decode().startswith("5.3.4 ")
        assert f"({limit} bytes)" in text.decode()
        with desk.db.session() as session:
            assert session.scalars(select(Message)).all() == []
            assert session.scalars(select(QuarantinedMail)).all() == []


def test_oversized_mail_from_imap_is_quarantined_with_a_notice(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = 20_000
    settings, _ = settings_for(sqlite_url, tmp_path, dovecot, smtp_sink)
    service = settings.service.model_copy(update={"max_message_bytes": limit})
    settings = settings.model_copy(update={"service": service})
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    raw, _ = mail(subject="Huge log", body="error 0x0042 in module login\n" * 2_000)
    assert len(raw) > limit
    dovecot.append("INBOX", raw)
    desk = Maildesk(settings)
    desk.prepare()
    try:
        assert desk.run_once().errors == []
        with desk.db.session() as session:
            held = session.scalars(select(QuarantinedMail)).one()
            assert held.reason == "too_large"
            assert session.scalars(select(Ticket)).all() == []
    finally:
        desk.db.dispose()
    notice = smtp_sink.wait_for(1)[0]
    assert notice.rcpt_tos == [CLIENT]
    assert "Message too large: Huge log" in str(notice.message["Subject"])
    assert f"{limit // (1024 * 1024)} MB" in notice.message.get_content()


def test_aiosmtpd_command_lines_are_debug_not_info(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings, _ = settings_for(sqlite_url, tmp_path)
    settings = _with_listener(settings)
    raw, _ = mail()
    logging.getLogger("maildesk").setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.DEBUG, logger="mail.log"), running(settings):
            with _client(settings) as lmtp:
                lmtp.sendmail(CLIENT, [SUPPORT], raw)
            with _client(settings) as lmtp:
                logging.getLogger("maildesk").setLevel(logging.DEBUG)
                lmtp.sendmail(CLIENT, [SUPPORT], raw)
    finally:
        logging.getLogger("maildesk").setLevel(logging.NOTSET)
    aiosmtpd = [r for r in caplog.records if r.name == "mail.log"]
    assert aiosmtpd, "aiosmtpd logged its commands"
    assert {r.levelname for r in aiosmtpd} == {"DEBUG"}
    peers = {r.getMessage().split(" >> ")[0] for r in aiosmtpd if " >> " in r.getMessage()}
    assert len(peers) == 1, "only the connection made while maildesk logs at DEBUG shows"
