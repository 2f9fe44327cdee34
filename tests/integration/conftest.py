"""Fixtures shared by the SLA and paging scenario tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sla_scenario import Scenario, scenario_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink


@pytest.fixture
def run(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Scenario]:
    """The helpdesk on SQLite and on PostgreSQL."""
    with scenario_for(db_url, tmp_path, dovecot, smtp_sink, monkeypatch) as scenario:
        yield scenario


@pytest.fixture
def sqlite_run(
    sqlite_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Scenario]:
    """The helpdesk on SQLite only: calendar arithmetic does not depend on the database."""
    with scenario_for(sqlite_url, tmp_path, dovecot, smtp_sink, monkeypatch) as scenario:
        yield scenario
