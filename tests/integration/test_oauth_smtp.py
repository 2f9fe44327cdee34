"""Outgoing mail over SMTP with AUTH XOAUTH2, to a sink that checks each token with a real
token server; a refused token keeps the mail waiting instead of failing it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.daemon import Maildesk
from maildesk.store.models import OutboxMail
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.integration.oauth_helpers import APP_ID, APP_SECRET, LIFETIME, SECRET_ENV, cli, oauth
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_server import OAuthServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
__all__ = ["oauth"]  # fixture used by name below


@pytest.fixture
def sink(oauth: OAuthServer) -> Iterator[SmtpSink]:
    with SmtpSink(token_check=oauth.is_valid) as server:
        yield server


def _outgoing(sink: SmtpSink, oauth: OAuthServer, username: str) -> str:
    return f"""
[outgoing]
transport = "smtp"
flush_interval = 0.5
retry_base_seconds = 1

[outgoing.smtp]
host = "{sink.host}"
port = {sink.port}
security = "plain"
timeout = 10
username = "{username}"
auth = "oauth2"

[outgoing.smtp.oauth2]
provider = "generic"
flow = "client_credentials"
token_url = "{oauth.token_url}"
client_id = "{APP_ID}"
client_secret_env = "{SECRET_ENV}"
"""


def _desk(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, extra: str
) -> tuple[Maildesk, Path]:
    settings, config = settings_for(sqlite_url, tmp_path, dovecot, extra=extra)
    desk = Maildesk(settings)
    desk.prepare()
    return desk, config


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch, dovecot: DovecotServer) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    monkeypatch.setenv(SECRET_ENV, APP_SECRET)


def test_acks_go_out_with_xoauth2_and_a_new_token_after_expiry(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink, oauth: OAuthServer
) -> None:
    desk, _config = _desk(sqlite_url, tmp_path, dovecot, _outgoing(sink, oauth, "support"))
    try:
        dovecot.append("INBOX", mail(subject="First")[0])
        first = desk.run_once()
        assert first.delivery.sent == 1 and not first.errors
        time.sleep(LIFETIME + 0.2)  # the token expires; the next login needs a new one
        sink.stop()  # drop the kept-open connection so the next mail logs in again
        sink.start()
        dovecot.append("INBOX", mail(subject="Second")[0])
        second = desk.run_once()
        assert second.delivery.sent == 1
    finally:
        desk.transport.close()
        desk.db.dispose()
    assert [m.auth_user for m in sink.messages] == ["support", "support"]
    client_grants = [g for g in oauth.grants if g.grant_type == "client_credentials"]
    assert len(client_grants) == 2 and all(g.error is None for g in client_grants)
    assert all(active for _user, active in oauth.introspections)


def test_a_refused_token_defers_the_mail_and_check_names_the_cause(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink, oauth: OAuthServer
) -> None:
    # The app's tokens are for "support"; the relay is told to send as another user.
    desk, config = _desk(sqlite_url, tmp_path, dovecot, _outgoing(sink, oauth, "helpdesk"))
    try:
        dovecot.append("INBOX", mail()[0])
        summary = desk.run_once()
        with desk.db.session() as session:
            rows = list(session.scalars(select(OutboxMail)))
    finally:
        desk.transport.close()
        desk.db.dispose()
    assert summary.delivery.sent == 0 and summary.delivery.failed == 0
    assert summary.delivery.deferred >= 1
    assert rows and all(row.status == "pending" for row in rows)
    assert all("refused the access token for user 'helpdesk'" in (r.last_error or "") for r in rows)
    assert not sink.messages

    check = cli("mailbox", "check", "outgoing", config=config, env={SECRET_ENV: APP_SECRET})
    assert check.returncode == 1
    assert "refused the access token for user 'helpdesk'" in check.stderr
