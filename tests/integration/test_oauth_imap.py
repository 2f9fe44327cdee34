"""IMAP intake over OAuth2 against a real Dovecot whose oauth2 passdb asks a real token server.

The access tokens live two seconds; Dovecot is restarted between mails, so every
reconnect needs a token the previous one has outlived. The daemon must refresh
them (the refresh token rotating on every use) and lose or repeat no mail.
"""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from sqlalchemy import select

from maildesk.store.models import Message
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, running, settings_for
from tests.integration.oauth_helpers import (
    LIFETIME,
    cli,
    imap_block,
    oauth,
    oauth_dovecot,
)
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_server import OAuthServer

pytestmark = pytest.mark.integration
__all__ = ["oauth", "oauth_dovecot"]  # fixtures used by name below

ROUNDS = 4


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.05)


def _store_refresh_token(tmp_path: Path, config: Path, oauth: OAuthServer) -> None:
    """``maildesk mailbox login test`` with a refresh token on standard input."""
    token = oauth.issue_refresh_token("support")
    done = cli("mailbox", "login", "test", config=config, stdin=token + "\n")
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr


def test_daemon_watches_over_oauth2_while_tokens_expire(
    sqlite_url: str,
    tmp_path: Path,
    oauth: OAuthServer,
    oauth_dovecot: DovecotServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings, config = settings_for(sqlite_url, tmp_path, extra=imap_block(oauth_dovecot, oauth))
    _store_refresh_token(tmp_path, config, oauth)
    sent: list[str] = []
    with running(settings) as desk:

        def stored() -> list[str]:
            with desk.db.session() as session:
                return list(
                    session.scalars(select(Message.message_id).where(Message.direction == "in"))
                )

        for round_ in range(ROUNDS):
            raw, mid = mail(subject=f"Round {round_}")
            oauth_dovecot.append("INBOX", raw)
            sent.append(mid)
            _wait(lambda: len(stored()) == len(sent), 30, f"mail of round {round_} taken in")
            # Outlive the token the daemon holds, then drop its connection: the
            # next login needs a new token.
            time.sleep(LIFETIME + 0.2)
            oauth_dovecot.kill()
            oauth_dovecot.start()
        _wait(lambda: oauth.refresh_grants() >= ROUNDS + 1, 30, "a login after the last restart")
        got = stored()
    assert sorted(got) == sorted(sent)  # none missed, none twice (Message-ID is unique anyway)
    assert oauth_dovecot.count("INBOX") == 0
    assert oauth_dovecot.count("Processed") == ROUNDS
    # Every reconnect came after the previous token had expired, so each needed a
    # refresh; and no login ever presented a dead token to the server.
    assert oauth.refresh_grants() >= ROUNDS + 1
    assert oauth.refresh_grants(ok=False) == 0
    assert all(active for _user, active in oauth.introspections)
    # Not one token, access or refresh, in any log line, even at DEBUG.
    issued = oauth.issued_tokens()
    assert len(issued) >= 2 * (ROUNDS + 1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Round 0" in logged or "mail " in logged  # the daemon's log was captured
    assert not [t for t in issued if t in logged]


def test_login_keeps_the_token_private_and_check_reports_a_revoked_grant(
    sqlite_url: str, tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    _settings, config = settings_for(
        sqlite_url, tmp_path, extra=imap_block(oauth_dovecot, oauth, mechanism="oauthbearer")
    )
    _store_refresh_token(tmp_path, config, oauth)
    folder = tmp_path / "var" / "oauth"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == [".test.lock", "test.json"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    assert "rt-" not in config.read_text()  # nothing of the token in the config

    ok = cli("mailbox", "check", "test", config=config)
    assert ok.returncode == 0, ok.stderr
    assert "login: OK as support" in ok.stdout
    assert "folder INBOX: exists" in ok.stdout
    assert "folder Processed: will be created" in ok.stdout

    oauth.revoke("support")
    revoked = cli("mailbox", "check", "test", config=config)
    assert revoked.returncode == 1
    assert "log in again with `maildesk mailbox login test`" in revoked.stderr

    _store_refresh_token(tmp_path, config, oauth)
    again = cli("mailbox", "check", "test", config=config)
    assert again.returncode == 0, again.stderr


def test_revoked_mailbox_waits_for_a_new_login_while_the_other_keeps_working(
    sqlite_url: str,
    tmp_path: Path,
    oauth: OAuthServer,
    oauth_dovecot: DovecotServer,
    dovecot: DovecotServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, config = settings_for(
        sqlite_url, tmp_path, dovecot, extra=imap_block(oauth_dovecot, oauth, name="tokens")
    )
    token = oauth.issue_refresh_token("support")
    assert cli("mailbox", "login", "tokens", config=config, stdin=token).returncode == 0
    with running(settings) as desk:

        def subjects() -> set[str]:
            with desk.db.session() as session:
                return set(
                    session.scalars(select(Message.subject).where(Message.direction == "in"))
                )

        oauth_dovecot.append("INBOX", mail(subject="Before")[0])
        _wait(lambda: "Before" in subjects(), 30, "the OAuth2 mailbox works")
        oauth.revoke("support")
        oauth_dovecot.kill()  # the next login needs a token; the grant is gone
        oauth_dovecot.start()
        _wait(lambda: oauth.refresh_grants(ok=False) >= 1, 30, "the refused refresh")
        oauth_dovecot.append("INBOX", mail(subject="Waiting")[0])
        dovecot.append("INBOX", mail(subject="Other mailbox")[0])
        _wait(lambda: "Other mailbox" in subjects(), 30, "the password mailbox keeps working")
        assert "Waiting" not in subjects()

        again = oauth.issue_refresh_token("support")
        assert cli("mailbox", "login", "tokens", config=config, stdin=again).returncode == 0
        _wait(lambda: "Waiting" in subjects(), 60, "the mailbox resumes after the login")
    assert oauth_dovecot.count("INBOX") == 0


def test_the_oauth_dovecot_takes_live_tokens_only(
    oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    """The fixture itself: what the tests above rely on Dovecot refusing."""

    def login(user: str, token: str, bearer: bool = False) -> bool:
        client = IMAPClient(oauth_dovecot.host, port=oauth_dovecot.port, ssl=False, timeout=10)
        try:
            if bearer:
                client.oauthbearer_login(user, token)
            else:
                client.oauth2_login(user, token)
        except LoginError:
            return False
        finally:
            client.shutdown()
        return True

    token = oauth.access_token_for("support")
    assert login("support", token) and login("support", token, bearer=True)
    assert not login("support", "at-made-up")
    assert not login("other", token)  # a token is for its own user only
    time.sleep(LIFETIME + 0.2)
    assert not login("support", token)  # expired
    with oauth_dovecot.client() as imap:  # password login still works for the helpers
        assert imap.select_folder("INBOX")
