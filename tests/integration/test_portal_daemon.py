"""The portal inside `maildesk run`: a client's mail is acked with a link that opens its page.

Mail goes in through Dovecot, the ack comes out through the SMTP sink, and the
link in it is opened on the portal the daemon serves: the whole path a client
takes, with no piece stood in for.
"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.config import ConfigError
from maildesk.daemon import Maildesk
from maildesk.store.models import Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, running, settings_for
from tests.servers.dovecot import DovecotServer, free_port
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

SECRET_ENV = "MAILDESK_TEST_PORTAL_SECRET"
CLIENTS = """
[[clients]]
id = "acme"
name = "Acme Learning"
language = "nl"
domains = ["acme.example"]
match_domain = true
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]
"""


def _portal(port: int) -> str:
    return f"""
[portal]
enabled = true
host = "127.0.0.1"
port = {port}
base_url = "http://127.0.0.1:{port}/desk"
secret_env = "{SECRET_ENV}"
"""


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_an_ack_carries_a_link_that_opens_the_clients_page(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    monkeypatch.setenv(SECRET_ENV, "s" * 48)
    port = free_port()
    settings, _ = settings_for(db_url, tmp_path, dovecot, smtp_sink, CLIENTS + _portal(port))
    dovecot.append("INBOX", mail(sender="boss@acme.example", subject="Quiz kapot")[0])
    dovecot.append("INBOX", mail(sender="tom@acme.example", subject="Ook kapot")[0])

    with running(settings) as desk:
        acks = smtp_sink.wait_for(2, timeout=30)
        by_rcpt = {a.rcpt_tos[0]: a.message.get_content() for a in acks}
        links = re.findall(rf"http://127\.0\.0\.1:{port}/desk/c/\S+", by_rcpt["boss@acme.example"])
        assert len(links) == 1, by_rcpt["boss@acme.example"]
        # tom writes from the client's domain but is not one of its contacts: no link
        assert "/desk/c/" not in by_rcpt["tom@acme.example"]

        status, page = _get(links[0])
        assert status == 200
        with desk.db.session() as session:
            numbers = set(session.scalars(select(Ticket.number)))
        assert len(numbers) == 2
        for number in numbers:
            assert number in page  # both of the client's open tickets
        assert "Deze pagina werd naar boss@acme.example gestuurd." in page  # nl client

        forged = links[0][:-3] + ("abc" if not links[0].endswith("abc") else "xyz")
        status, refused = _get(forged)
        assert status == 403
        assert "Acme" not in refused


def test_a_portal_without_its_secret_stops_start_up_naming_the_variable(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    settings, _ = settings_for(sqlite_url, tmp_path, extra=CLIENTS + _portal(free_port()))
    with pytest.raises(ConfigError, match=SECRET_ENV):
        Maildesk(settings)


def test_a_short_secret_is_refused_with_advice(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "too-short")
    settings, _ = settings_for(sqlite_url, tmp_path, extra=CLIENTS + _portal(free_port()))
    with pytest.raises(ConfigError, match="at least 32"):
        Maildesk(settings)


def test_run_stops_with_a_clear_error_when_the_portal_address_is_taken(
    sqlite_url: str, tmp_path: Path
) -> None:
    from tests.integration.test_cli import maildesk

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        _, config = settings_for(sqlite_url, tmp_path, extra=CLIENTS + _portal(port))
        result = maildesk("run", "--config", str(config), env={SECRET_ENV: "s" * 48})
    assert result.returncode == 1, result.stderr
    assert f"the portal cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_shows_the_portal(sqlite_url: str, tmp_path: Path) -> None:
    from tests.integration.test_cli import maildesk

    port = free_port()
    _, config = settings_for(sqlite_url, tmp_path, extra=CLIENTS + _portal(port))
    result = maildesk("check-config", "--config", str(config), env={SECRET_ENV: "s" * 48})
    assert result.returncode == 0, result.stderr
    assert (
        f"portal: http://127.0.0.1:{port}/desk served on 127.0.0.1:{port}; links valid 30 days, "
        f"signed with ${SECRET_ENV}"
    ) in result.stdout
