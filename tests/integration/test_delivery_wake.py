"""Mail leaves as soon as it is queued: the daemon's courier is woken by the commit.

``outgoing.flush_interval`` is set to an hour here, so an ack that arrives in
the sink during the test can only have been sent because the commit that
queued it woke delivery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from maildesk.notify.delivery import Courier, FlushResult
from maildesk.notify.outbox import QUEUED_MAIL, Draft, Identity, enqueue
from maildesk.store.db import Database
from maildesk.store.models import Event
from maildesk.store.once import claim
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, running, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

HOUR = 3600.0
IDENTITY = Identity("support@helpdesk.example", "Helpdesk", "helpdesk.example", "token")


class _Flushes:
    """Counts the courier's rounds, and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self, stopping: Callable[[], bool]) -> FlushResult:
        with self._cond:
            self.count += 1
            self._cond.notify_all()
        return FlushResult()

    def wait_beyond(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count > count, timeout)


NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _ack(session: Session) -> None:
    enqueue(session, Draft(kind="ack", to=("a@x.example",), subject="s", body="b"), IDENTITY, NOW)


@pytest.fixture
def courier(sqlite_url: str) -> Iterator[tuple[Database, _Flushes, Courier]]:
    """A started courier (an hour between looks) that has made its first round."""
    db = Database(sqlite_url)
    db.upgrade()
    flushes = _Flushes()
    started = Courier(db, flushes, interval=HOUR)
    started.start()
    assert flushes.wait_beyond(0, timeout=10), "the courier looks once at start"
    yield db, flushes, started
    started.stop()
    db.dispose()


def test_only_a_commit_that_queued_mail_wakes_the_courier(
    courier: tuple[Database, _Flushes, Courier],
) -> None:
    db, flushes, _ = courier
    with db.transaction() as session:  # writes, but queues no mail
        session.add(Event(at=NOW, kind="note", detail={}))
    assert not flushes.wait_beyond(1, timeout=1.0), "woken by a commit without mail"

    with db.transaction() as session:
        _ack(session)
        session.flush()
        assert not flushes.wait_beyond(1, timeout=0.5), "woken before the commit"
    assert flushes.wait_beyond(1, timeout=10), "the commit that queued mail did not wake it"

    with pytest.raises(RuntimeError), db.transaction() as session:
        _ack(session)
        raise RuntimeError("rolled back")
    assert not flushes.wait_beyond(2, timeout=1.0), "woken by a rolled-back transaction"


def test_a_savepoint_after_the_mail_does_not_wake_it_early(
    courier: tuple[Database, _Flushes, Courier],
) -> None:
    """Releasing a savepoint fires SQLAlchemy's after_commit too (a breach mail, then the
    page's exactly-once claim): the wake must wait for the real commit, not use it up."""
    db, flushes, _ = courier
    with db.transaction() as session:
        _ack(session)
        assert claim(session, "page:test", NOW)  # a savepoint, released
        assert not flushes.wait_beyond(1, timeout=0.5), "woken by the savepoint"
    assert flushes.wait_beyond(1, timeout=10), "the real commit did not wake it"


def test_a_stopped_courier_no_longer_listens(courier: tuple[Database, _Flushes, Courier]) -> None:
    db, _, started = courier
    started.stop()
    with db.transaction() as session:
        _ack(session)
        assert session.info.get(QUEUED_MAIL) is True
    assert session.info.get(QUEUED_MAIL) is True, "a hook of the stopped courier took it"


def test_the_daemon_sends_an_ack_without_waiting_for_the_flush_interval(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, _ = settings_for(db_url, tmp_path, dovecot, smtp_sink)
    settings = settings.model_copy(
        update={"outgoing": settings.outgoing.model_copy(update={"flush_interval": HOUR})}
    )
    with running(settings):
        dovecot.append("INBOX", mail(subject="First report")[0])
        smtp_sink.wait_for(1, timeout=30)
        time.sleep(1.0)  # the courier's round that sent it is over; it now waits an hour
        before = len(smtp_sink.wait_for(1))
        dovecot.append("INBOX", mail(subject="Second report")[0])
        acks = smtp_sink.wait_for(before + 1, timeout=30)
        assert any("Second report" in str(a.message["Subject"]) for a in acks[before:])
