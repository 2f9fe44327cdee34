"""Log set-up: readable lines for people, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class LogLevel(StrEnum):
    """The levels ``--log-level`` accepts."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def log_level(name: str | None = None) -> int:
    """The level named ``name``, else by ``MAILDESK_LOG_LEVEL``, else INFO."""
    name = (name or os.environ.get("MAILDESK_LOG_LEVEL") or "info").strip().lower()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {name!r}; use one of: {', '.join(LEVELS)}")
    return LEVELS[name]


def setup_logging(fmt: str = "text", level: int | str | None = None) -> None:
    """Send maildesk's logs to stderr in the chosen format, at ``level`` (see :func:`log_level`)."""
    if not isinstance(level, int):
        level = log_level(level)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "apscheduler",
        "mail-parser",
        "mailparser",
        "alembic.runtime.migration",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
