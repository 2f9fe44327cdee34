"""`maildesk mailbox check` against real servers: each refusal is told with its cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import IMAP_PASSWORD_ENV, settings_for
from tests.integration.oauth_helpers import (
    APP_SECRET,
    SECRET_ENV,
    cli,
    imap_block,
    oauth,
    oauth_dovecot,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_server import OAuthServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
__all__ = ["oauth", "oauth_dovecot"]  # fixtures used by name below


def _password_block(dovecot: DovecotServer, username: str) -> str:
    return f"""
[[intake.imap]]
name = "test"
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{username}"
password_env = "{IMAP_PASSWORD_ENV}"
"""


def _check(tmp_path: Path, sqlite_url: str, block: str, env: dict[str, str]) -> tuple[int, str]:
    _settings, config = settings_for(sqlite_url, tmp_path, extra=block)
    done = cli("mailbox", "check", "test", config=config, env=env)
    return done.returncode, done.stdout + done.stderr


def test_wrong_password(sqlite_url: str, tmp_path: Path, oauth_dovecot: DovecotServer) -> None:
    code, out = _check(
        tmp_path,
        sqlite_url,
        _password_block(oauth_dovecot, "support"),
        {IMAP_PASSWORD_ENV: "not-the-password"},
    )
    assert code == 1
    assert f"password from ${IMAP_PASSWORD_ENV}" in out
    assert "the password is wrong" in out


def test_unknown_user_with_a_password(
    sqlite_url: str, tmp_path: Path, oauth_dovecot: DovecotServer
) -> None:
    code, out = _check(
        tmp_path,
        sqlite_url,
        _password_block(oauth_dovecot, "ghost"),
        {IMAP_PASSWORD_ENV: oauth_dovecot.password},
    )
    assert code == 1
    assert "there is no user 'ghost' on this server" in out


def test_the_right_password_passes(
    sqlite_url: str, tmp_path: Path, oauth_dovecot: DovecotServer
) -> None:
    code, out = _check(
        tmp_path,
        sqlite_url,
        _password_block(oauth_dovecot, "support"),
        {IMAP_PASSWORD_ENV: oauth_dovecot.password},
    )
    assert code == 0, out
    assert "login: OK as support" in out


def test_client_secret_refused_by_the_token_endpoint(
    sqlite_url: str, tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    code, out = _check(
        tmp_path,
        sqlite_url,
        imap_block(oauth_dovecot, oauth, flow="client_credentials"),
        {SECRET_ENV: "wrong-secret"},
    )
    assert code == 1
    assert f"refused the client: check client_id and ${SECRET_ENV}" in out
    assert not oauth.introspections  # no token, so nothing reached the IMAP server


def test_token_refused_by_the_mail_server(
    sqlite_url: str, tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    # The app's tokens act for "support"; the config logs in as another user.
    code, out = _check(
        tmp_path,
        sqlite_url,
        imap_block(oauth_dovecot, oauth, flow="client_credentials", username="helpdesk"),
        {SECRET_ENV: APP_SECRET},
    )
    assert code == 1
    assert "token: obtained" in out
    assert "the server refused the access token for user 'helpdesk'" in out
    assert "not shared with the app" in out


def test_app_only_token_passes_and_lists_folders(
    sqlite_url: str, tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    code, out = _check(
        tmp_path,
        sqlite_url,
        imap_block(oauth_dovecot, oauth, flow="client_credentials"),
        {SECRET_ENV: APP_SECRET},
    )
    assert code == 0, out
    assert "login: OK as support" in out
    assert [line.strip() for line in out.splitlines() if "folder" in line] == [
        "folder INBOX: exists",
        "folder Processed: will be created",
        "folder Quarantine: will be created",
    ]


def test_a_server_without_oauth2(
    sqlite_url: str,
    tmp_path: Path,
    oauth: OAuthServer,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
) -> None:
    # The plain Dovecot and the plain sink take passwords (or nothing) only.
    imap = imap_block(dovecot, oauth, flow="client_credentials")
    code, out = _check(tmp_path, sqlite_url, imap, {SECRET_ENV: APP_SECRET})
    assert code == 1
    assert "the server does not offer XOAUTH2 (it offers: LOGIN, PLAIN)" in out

    smtp = f"""
[outgoing]
transport = "smtp"
[outgoing.smtp]
host = "{smtp_sink.host}"
port = {smtp_sink.port}
security = "plain"
username = "support"
auth = "oauth2"
[outgoing.smtp.oauth2]
provider = "generic"
flow = "client_credentials"
token_url = "{oauth.token_url}"
client_id = "maildesk-app"
client_secret_env = "{SECRET_ENV}"
"""
    _settings, config = settings_for(sqlite_url, tmp_path, extra=smtp)
    done = cli("mailbox", "check", "outgoing", config=config, env={SECRET_ENV: APP_SECRET})
    assert done.returncode == 1
    assert "the server does not offer AUTH XOAUTH2 (it offers: no AUTH)" in done.stderr
