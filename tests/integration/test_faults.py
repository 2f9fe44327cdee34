"""Nothing lost, nothing duplicated: the real daemon killed with SIGKILL at random moments.

The daemon ingests 200 mails from a real Dovecot and sends acks to a real SMTP
sink; it is killed -9 a dozen times at random points (seeded, so a failure can
be replayed) and restarted each time. In the end every mail is in exactly one
ticket message, every ticket has exactly one ack in the outbox, the INBOX is
empty, and every ack reached the sink (a mail sent just before a kill may be
sent again after it: the same Message-ID, which the test counts once).
"""

from __future__ import annotations

import os
import random
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
MAILS = 200
KILLS = 12


def _start(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [MAILDESK, "run", "--config", str(config)], env=env, stdout=out, stderr=out
        )


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    _, config = settings_for(db_url, tmp_path, dovecot, smtp_sink)
    ids = []
    for i in range(MAILS):
        raw, mid = mail(
            sender=f"user{i}@acme.example",
            subject=f"Report {i}",
            body=f"Report number {i}: something is wrong.\n",
        )
        dovecot.append("INBOX", raw)
        ids.append(mid)
    env = {**os.environ, IMAP_PASSWORD_ENV: dovecot.password}
    env.pop("MAILDESK_CONFIG", None)
    log = tmp_path / "daemon.log"
    rng = random.Random(20261122)

    def processed() -> int:
        return dovecot.count("Processed") if "Processed" in dovecot.folders() else 0

    progress = [0]
    for _kill in range(KILLS):
        proc = _start(config, env, log)
        # Kill only once this run has made progress, at a random moment after:
        # mid-batch, mid-transaction, mid-move or mid-delivery.
        deadline = time.monotonic() + 60
        while processed() == progress[-1] and progress[-1] < MAILS:
            assert time.monotonic() < deadline, "the daemon made no progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        progress.append(processed())
    interrupted = [n for n in progress if 0 < n < MAILS]
    assert len(set(interrupted)) >= 3, f"kills must land mid-ingest, progress was {progress}"

    final = subprocess.run(
        [MAILDESK, "run", "--once", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr[-3000:]

    db = Database(db_url)
    with db.session() as session:
        stored = session.scalars(select(Message.message_id).where(Message.direction == "in")).all()
        tickets = session.scalar(select(func.count(Ticket.id)))
        acks = session.execute(
            select(OutboxMail.ticket_id, func.count(OutboxMail.id))
            .where(OutboxMail.kind == "ack")
            .group_by(OutboxMail.ticket_id)
        ).all()
        pending = session.scalar(
            select(func.count(OutboxMail.id)).where(OutboxMail.status != "sent")
        )
        ack_ids = set(
            session.scalars(select(OutboxMail.message_id).where(OutboxMail.kind == "ack")).all()
        )
    db.dispose()

    assert sorted(stored) == sorted(ids), "every mail stored exactly once"
    assert tickets == MAILS
    assert len(acks) == MAILS and all(count == 1 for _, count in acks)
    assert pending == 0
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == MAILS
    delivered = {m.message["Message-ID"].strip("<>") for m in smtp_sink.messages}
    assert delivered == ack_ids, "every ack reached the sink (resends share a Message-ID)"
    assert log.read_text(errors="replace").count("signal") == 0, "no clean stops: all kills"
