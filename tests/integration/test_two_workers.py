"""Two `maildesk run` processes on one PostgreSQL database and one mailbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.store.db import Database
from maildesk.store.models import Message, OutboxMail, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")
MAILS = 120


def test_two_daemons_share_the_work_and_one_carries_on_alone(
    postgres_url: str, tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    _, config = settings_for(postgres_url, tmp_path, dovecot, smtp_sink)
    ids = []
    for i in range(MAILS):
        raw, mid = mail(sender=f"user{i}@acme.example", subject=f"Shared {i}")
        dovecot.append("INBOX", raw)
        ids.append(mid)
    env = {**os.environ, IMAP_PASSWORD_ENV: dovecot.password}
    env.pop("MAILDESK_CONFIG", None)
    db = Database(postgres_url)
    db.upgrade()  # so that neither daemon races the other to create the schema
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [
        subprocess.Popen(
            [MAILDESK, "run", "--config", str(config)],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 90
        while dovecot.count("Processed") < MAILS // 3 if "Processed" in dovecot.folders() else True:
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.05)
        procs[0].send_signal(signal.SIGTERM)  # one daemon goes away mid-work
        procs[0].wait(timeout=60)
        while True:
            with db.session() as session:
                pending = session.scalar(
                    select(func.count(OutboxMail.id)).where(OutboxMail.status != "sent")
                )
                tickets = session.scalar(select(func.count(Ticket.id)))
            if tickets == MAILS and pending == 0 and dovecot.count("INBOX") == 0:
                break
            assert time.monotonic() < deadline, f"stuck at {tickets} tickets, {pending} unsent"
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    with db.session() as session:
        stored = session.scalars(select(Message.message_id).where(Message.direction == "in")).all()
        outbox = session.scalars(select(OutboxMail.message_id)).all()
    db.dispose()
    assert sorted(stored) == sorted(ids), "every mail once, none twice"
    delivered = [m.message["Message-ID"].strip("<>") for m in smtp_sink.messages]
    assert sorted(delivered) == sorted(outbox), "every outbox mail sent exactly once"
    texts = [log.read_text(errors="replace") for log in logs]
    work = [t.count("created ticket") + t.count("sent ack") for t in texts]
    assert all(n > 0 for n in work), f"both daemons took a share of the work: {work}"
    assert not any("Traceback" in t for t in texts)
    assert procs[0].returncode == 0, "the stopped daemon shut down cleanly"
