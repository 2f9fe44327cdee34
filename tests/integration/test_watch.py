"""The IMAP watch loop over real Dovecot: IDLE wakes it, an outage does not stop it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.daemon import Maildesk
from maildesk.ingest.watch import Backoff, watch
from maildesk.store.models import Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Maildesk]:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    # A long poll interval: only IDLE can make the loop react quickly.
    settings, _ = settings_for(sqlite_url, tmp_path, dovecot, extra="")
    settings = settings.model_copy(
        update={
            "intake": settings.intake.model_copy(
                update={
                    "imap": (settings.intake.imap[0].model_copy(update={"poll_interval": 120.0}),)
                }
            )
        }
    )
    made = Maildesk(settings)
    made.prepare()
    yield made
    made.db.dispose()


def _tickets(desk: Maildesk) -> int:
    with desk.db.session() as session:
        return int(session.scalar(select(func.count(Ticket.id))) or 0)


def _wait_for(predicate: object, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


def test_idle_wakes_the_loop_and_an_outage_is_survived(
    desk: Maildesk, dovecot: DovecotServer
) -> None:
    stop = threading.Event()
    intake = desk.intakes[0]
    thread = threading.Thread(target=watch, args=(intake, stop, 120.0), daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # the loop is now waiting in IDLE
        dovecot.append("INBOX", mail(subject="First")[0])
        _wait_for(lambda: _tickets(desk) == 1, timeout=10)

        dovecot.stop()  # the server goes away and closes every connection
        time.sleep(1.5)
        dovecot.start()
        dovecot.append("INBOX", mail(subject="During the outage")[0])
        _wait_for(lambda: _tickets(desk) == 2, timeout=30)
        assert dovecot.count("INBOX") == 0
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the loop stops promptly when asked"


def test_backoff_grows_with_jitter_and_resets() -> None:
    import random

    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(60.0, 2.0**i) for i in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert delays[-1] >= 30.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0
