"""pytest fixtures for maildesk's real-server integration tests.

Loaded from ``tests/conftest.py`` via ``pytest_plugins = ["tests.servers.fixtures"]``.

- ``dovecot``: a fresh private Dovecot (``DovecotServer``) per test.  It starts in a few
  tens of milliseconds and is killed and deleted in a few more, so every test gets its
  own port, maildir, UIDVALIDITY and UIDs and nothing leaks between tests.
- ``smtp_sink``: a fresh ``SmtpSink`` per test.
- ``printed_pages``: prints an .xlsx to PDF with LibreOffice headless and counts the
  pages (``pdfinfo``).
- ``postgres_url``: an SQLAlchemy URL of a new, empty database created for the test on
  the server named by ``MAILDESK_TEST_POSTGRES_URL`` and dropped afterwards.

A missing server (no ``dovecot`` or ``soffice`` binary, no or unreachable PostgreSQL)
skips the test, unless ``MAILDESK_REQUIRE_SERVERS=1`` is set - as in CI - where it fails
instead, so a broken CI image cannot turn the integration suite into a row of green skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.servers.dovecot import DovecotServer, find_dovecot
from tests.servers.smtp_sink import SmtpSink

__all__ = ["dovecot", "postgres_admin_url", "postgres_url", "printed_pages", "smtp_sink"]

REQUIRE_ENV = "MAILDESK_REQUIRE_SERVERS"
POSTGRES_ENV = "MAILDESK_TEST_POSTGRES_URL"
_CONNECT_TIMEOUT_S = 3


def servers_required() -> bool:
    """True when a missing server must fail the test instead of skipping it."""
    return os.environ.get(REQUIRE_ENV, "").strip() == "1"


def unavailable(reason: str, how_to_fix: str) -> NoReturn:
    """Skip, or fail when ``MAILDESK_REQUIRE_SERVERS=1``, because a server is missing."""
    if servers_required():
        pytest.fail(f"{reason} and {REQUIRE_ENV}=1: {how_to_fix}", pytrace=False)
    pytest.skip(f"{reason} ({how_to_fix}; set {REQUIRE_ENV}=1 to fail instead)")


# -- IMAP / SMTP ---------------------------------------------------------------------


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A running private Dovecot with user ``support``/``secret`` and an empty INBOX."""
    if find_dovecot() is None:
        unavailable(
            "dovecot binary not found",
            "install it with `apt-get install -y dovecot-imapd`",
        )
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink that accepts and records every mail."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# -- PostgreSQL ----------------------------------------------------------------------


def _libpq_url(url: str, dbname: str | None = None) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy) -> ``postgresql://...`` (libpq)."""
    parts = urlsplit(url)
    path = parts.path if dbname is None else f"/{dbname}"
    return urlunsplit(("postgresql", parts.netloc, path, parts.query, parts.fragment))


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The server URL from ``MAILDESK_TEST_POSTGRES_URL``, checked once per session.

    Tests should not use it directly (its database is shared); use ``postgres_url``.
    """
    url = os.environ.get(POSTGRES_ENV, "").strip()
    hint = (
        f"set {POSTGRES_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, "
        "to a PostgreSQL server where that user may CREATE DATABASE"
    )
    if not url:
        unavailable(f"{POSTGRES_ENV} is not set", hint)
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed", "install the project's dev dependencies")
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=_CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ENV} is unreachable ({exc})", hint)
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """URL (same driver as the env var) of a new empty database, dropped after the test."""
    import psycopg
    from psycopg import sql

    name = f"maildesk_test_{uuid.uuid4().hex[:16]}"
    admin = _libpq_url(postgres_admin_url)
    with psycopg.connect(admin, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(postgres_admin_url, name)
    finally:
        with psycopg.connect(admin, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True) as conn:
            if conn.info.server_version >= 130000:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            else:  # FORCE is PostgreSQL 13+; end the test's sessions by hand.
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                drop = sql.SQL("DROP DATABASE IF EXISTS {}")
            conn.execute(drop.format(sql.Identifier(name)))


# -- Chromium (the portal's browser test) --------------------------------------------

CHROMIUM_ENV = "MAILDESK_TEST_CHROMIUM"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """A headless-capable Chromium for Playwright: ``MAILDESK_TEST_CHROMIUM`` or Debian's."""
    path = os.environ.get(CHROMIUM_ENV, "").strip() or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        unavailable(
            f"no Chromium at {path}",
            f"install it with `apt-get install -y chromium` or set {CHROMIUM_ENV}",
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed", "install the project's dev dependencies")
    return path


# -- LibreOffice (printing a timesheet) ------------------------------------------------

SOFFICE_ENV = "MAILDESK_TEST_SOFFICE"


def _printed_pages(soffice: str, workdir: Path, name: str, data: bytes) -> int:
    """Print ``data`` (an .xlsx) to PDF with LibreOffice headless; the PDF's page count."""
    source = workdir / name
    source.write_bytes(data)
    profile = workdir / "profile"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(workdir),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = source.with_suffix(".pdf")
    info = subprocess.run(
        ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=60
    )
    pages = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert pages is not None, info.stdout
    return int(pages.group(1))


@pytest.fixture
def printed_pages(tmp_path: Path) -> Callable[[str, bytes], int]:
    """Pages an .xlsx prints on (LibreOffice headless to PDF, counted by pdfinfo)."""
    soffice = os.environ.get(SOFFICE_ENV, "").strip() or shutil.which("soffice") or ""
    if not soffice or not os.access(soffice, os.X_OK):
        unavailable(
            "LibreOffice (soffice) not found",
            f"install it with `apt-get install -y libreoffice-calc-nogui` or set {SOFFICE_ENV}",
        )
    if shutil.which("pdfinfo") is None:
        unavailable("pdfinfo not found", "install it with `apt-get install -y poppler-utils`")
    return lambda name, data: _printed_pages(soffice, tmp_path, name, data)
