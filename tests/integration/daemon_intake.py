"""A running ``maildesk run`` fed through either of its intake paths, for tests over the daemon.

``via="lmtp"`` delivers each mail over the daemon's own LMTP listener (the
250 comes after the commit); ``via="imap"`` appends it to Dovecot's INBOX and
waits until the daemon's mailbox watcher has stored it. Either way the test
goes on only once the mail is processed, so the order of a conversation holds.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from maildesk.store.models import Event, Message, QuarantinedMail
from tests.integration.helpers import IMAP_PASSWORD_ENV, SUPPORT, running, settings_for
from tests.servers.dovecot import DovecotServer, free_port
from tests.servers.smtp_sink import SmtpSink

PROCESS_BOUND_S = 30.0  # an upper bound on waiting for the daemon, never a timing claim
OK = 250


@dataclass
class Daemon:
    """The daemon under test and the intake path the test feeds it through."""

    desk: Maildesk
    via: str
    dovecot: DovecotServer
    lmtp_port: int

    def _processed(self, message_id: str) -> tuple[int, int, int]:
        with self.desk.db.session() as session:
            stored = session.scalar(
                select(func.count()).select_from(Message).where(Message.message_id == message_id)
            )
            held = session.scalar(select(func.count()).select_from(QuarantinedMail))
            loops = session.scalar(
                select(func.count()).select_from(Event).where(Event.kind == "loop_received")
            )
        return int(stored or 0), int(held or 0), int(loops or 0)

    def deliver(self, raw: bytes, message_id: str, sender: str) -> None:
        """Hand ``raw`` to the daemon and return once it has been processed."""
        before = self._processed(message_id)
        if self.via == "lmtp":
            with self._lmtp() as lmtp:
                assert lmtp.ehlo()[0] == OK
                assert lmtp.mail(sender)[0] == OK
                assert lmtp.rcpt(SUPPORT)[0] == OK
                code, text = lmtp.data(raw)
            assert code in (OK, 550), text  # 550: a stranger's mail, quarantined
            return
        self.dovecot.append("INBOX", raw)
        self.wait(lambda: self._processed(message_id) != before)

    def _lmtp(self) -> smtplib.LMTP:
        """A connection to the listener, which starts in the daemon's thread."""
        deadline = time.monotonic() + PROCESS_BOUND_S
        while True:
            try:
                return smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=PROCESS_BOUND_S)
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the LMTP listener did not start"
                time.sleep(0.05)

    @staticmethod
    def wait(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + PROCESS_BOUND_S
        while not condition():
            assert time.monotonic() < deadline, "the daemon did not process the mail"
            time.sleep(0.05)


@contextmanager
def daemon(
    via: str,
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    adjust: Callable[[Settings], Settings] = lambda s: s,
) -> Iterator[Daemon]:
    """``maildesk run`` with Dovecot as its mailbox, its LMTP listener on, the sink as relay."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, _ = settings_for(db_url, tmp_path, dovecot, sink, extra=extra)
    port = free_port()
    listener = settings.intake.listener.model_copy(update={"enabled": True, "port": port})
    intake = settings.intake.model_copy(update={"listener": listener})
    settings = adjust(settings.model_copy(update={"intake": intake}))
    with running(settings) as desk:
        yield Daemon(desk, via, dovecot, port)
