"""Periodic jobs; the only module that imports APScheduler.

Every job runs in the scheduler's thread pool, never overlaps with itself
(``max_instances=1``) and, when it was missed (the machine slept, a job ran
long), runs once rather than many times (``coalesce``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class Scheduler:
    """A thin wrapper so the rest of maildesk never sees APScheduler."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone="UTC",
        )

    def every(self, seconds: float, func: Callable[[], object], name: str) -> None:
        """Run ``func`` now and then every ``seconds``; a failure is logged, not fatal."""

        def guarded() -> None:
            try:
                func()
            except Exception:
                log.exception("job %s failed; it runs again in %ss", name, seconds)

        self._scheduler.add_job(
            guarded,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            next_run_time=datetime.now(UTC),
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        self._scheduler.shutdown(wait=wait)
