"""Watching one IMAP mailbox for as long as the daemon runs, whatever goes wrong.

Each mailbox has its own loop in its own thread: a wrong password, a server
that is down or a token that cannot be refreshed backs off on that mailbox
alone, and the others keep being watched. Every round is recorded in the
mailbox's health row (``store/health``), which ``maildesk status``,
``/healthz`` and the alert job read.
"""

from __future__ import annotations

import logging
import random
import threading

from sqlalchemy.exc import SQLAlchemyError

from maildesk.ingest.imap import ImapIntake, MailboxUnavailable
from maildesk.ingest.receive import IntakeUnavailable
from maildesk.store.health import imap_source, record_failure, record_success

log = logging.getLogger(__name__)


class Backoff:
    """Exponential backoff with full jitter, for reconnecting after an outage."""

    def __init__(
        self, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None
    ) -> None:
        self.base, self.cap = base, cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The wait before the next attempt; each failure doubles the ceiling."""
        ceiling = min(self.cap, self.base * 2**self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


def record_round(intake: ImapIntake, error: BaseException | None) -> None:
    """Write the round's outcome to the health row; a database outage only logs."""
    account = intake.account
    source = imap_source(account.name)
    label = f"mailbox {account.name} ({account.label})"
    try:
        with intake.db.transaction() as session:
            now = intake.clock.now()
            if error is None:
                if record_success(session, source, label, now):
                    log.info("%s: working again", account.label)
                return
            hint = getattr(error, "hint", "") or ""
            text = str(error) or type(error).__name__
            if record_failure(session, source, label, text, hint, now) and hint:
                log.warning("%s: failing; what to do: %s", account.label, hint)
    except SQLAlchemyError as exc:
        log.warning("%s: cannot record the mailbox's health: %s", account.label, exc)


def watch(
    intake: ImapIntake, stop: threading.Event, poll_interval: float, retry_max: float = 300.0
) -> None:
    """Process mail as it arrives until ``stop`` is set.

    After each poll the intake waits for new mail with IDLE where the server
    offers it (one watched folder), re-issued before the server's 30-minute
    limit, and otherwise sleeps ``poll_interval``. Any error — the server gone,
    a refused login, the database unavailable — is logged and retried with
    backoff and jitter up to ``retry_max`` seconds apart; this loop never ends
    on its own, so one mailbox's outage never stops the others.
    """
    backoff = Backoff(cap=retry_max)
    while not stop.is_set():
        try:
            intake.poll()
            record_round(intake, None)
            backoff.reset()
            intake.wait_for_mail(stop, poll_interval)
        except (MailboxUnavailable, IntakeUnavailable) as exc:
            if isinstance(exc, MailboxUnavailable):  # not when the database is down
                record_round(intake, exc)
            delay = backoff.next_delay()
            log.warning("%s; retrying in %.1f s", exc, delay)
            intake.close()
            stop.wait(delay)
        except Exception as exc:
            # Whatever it is, this mailbox keeps being watched: log it, back off, retry.
            record_round(intake, exc)
            delay = backoff.next_delay()
            log.exception("%s: unexpected error; retrying in %.1f s", intake.account.label, delay)
            intake.close()
            stop.wait(delay)
    intake.close()
