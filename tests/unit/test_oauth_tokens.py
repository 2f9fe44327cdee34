"""The token layer's own rules: files only we can read, refresh before expiry, words."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from maildesk.core.login_words import refused_words
from maildesk.oauth.errors import LoginRequired, OAuthError, TokenRefused
from maildesk.oauth.source import REFRESH_MAX_MARGIN, REFRESH_SHARE, Token, TokenSource
from maildesk.oauth.store import TokenStore
from maildesk.oauth.words import generic_error, google_error, microsoft_error


def test_store_writes_owner_only_files_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = TokenStore(tmp_path / "var" / "oauth")
        store.save("box", {"refresh_token": "r1"})
        store.save("box", {"refresh_token": "r2"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path("box").stat().st_mode) == 0o600
    assert store.load("box") == {"refresh_token": "r2"}
    assert sorted(p.name for p in store.folder.iterdir()) == ["box.json"]  # no temp left
    assert store.load("other") == {}


def test_store_refuses_a_file_others_can_read(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    store.save("box", {"refresh_token": "r"})
    store.path("box").chmod(0o644)
    with pytest.raises(OAuthError, match=r"can be read by other users .*chmod 600"):
        store.load("box")


class _Clocked(TokenSource):
    """A source whose provider hands out tokens living ``life`` seconds."""

    def __init__(self, tmp_path: Path, life: float) -> None:
        self.t = 1_000_000.0
        super().__init__("box", "u", "xoauth2", TokenStore(tmp_path), now=lambda: self.t)
        self.life = life

    def _fetch(self) -> Token:
        return Token(f"token-{self.fetched}", self.t + self.life)


@pytest.mark.parametrize("life", [4.0, 3600.0])
def test_a_token_is_replaced_before_it_expires(tmp_path: Path, life: float) -> None:
    src = _Clocked(tmp_path, life)
    start = src.t
    first = src.access_token()
    # The rule: renew when less than REFRESH_SHARE of the life, and at most
    # REFRESH_MAX_MARGIN seconds, are left.
    renew_at = start + life - min(REFRESH_MAX_MARGIN, life * REFRESH_SHARE)
    src.t = renew_at - 0.001
    assert src.access_token() == first
    src.t = renew_at
    second = src.access_token()
    assert second != first and src.fetched == 2
    assert src.t < start + life  # renewed while the first was still valid


def test_invalidate_forces_a_new_token(tmp_path: Path) -> None:
    src = _Clocked(tmp_path, 3600.0)
    first = src.access_token()
    src.invalidate()
    assert src.access_token() != first


def test_token_repr_hides_the_value() -> None:
    assert "secret-value" not in repr(Token("secret-value", 1.0))


def test_microsoft_words() -> None:
    secret = microsoft_error(
        "box", "invalid_client", "AADSTS7000215: Invalid client secret provided.", "M365"
    )
    assert isinstance(secret, TokenRefused) and "$M365" in str(secret)
    tenant = microsoft_error("box", "invalid_request", "AADSTS90002: Tenant 'x' not found.", None)
    assert "check `tenant`" in str(tenant)
    consent = microsoft_error("box", "invalid_grant", "AADSTS65001: consent", None)
    assert isinstance(consent, LoginRequired)  # a user's revoked consent: sign in again
    revoked = microsoft_error("box", "invalid_grant", "AADSTS50173: grant expired", None)
    assert isinstance(revoked, LoginRequired)
    assert str(revoked).endswith("log in again with `maildesk mailbox login box`")
    app = microsoft_error("box", "unauthorized_client", "AADSTS700016: not found", None)
    assert "wrong tenant?" in str(app)


def test_google_words() -> None:
    dwd = google_error("g", "unauthorized_client", "Client is unauthorized", service_account=True)
    assert "Domain-wide delegation" in str(dwd) and "https://mail.google.com/" in str(dwd)
    revoked = google_error("g", "invalid_grant", "Token has been revoked.", service_account=False)
    assert isinstance(revoked, LoginRequired)
    user = google_error("g", "invalid_grant", "Invalid email", service_account=True)
    assert isinstance(user, TokenRefused) and "`username`" in str(user)


def test_generic_words() -> None:
    assert isinstance(generic_error("b", "invalid_grant", "", None), LoginRequired)
    assert "$ENV" in str(generic_error("b", "invalid_client", "", "ENV"))


def test_login_words() -> None:
    m365 = refused_words("outlook.office365.com", "u", "password", "P", "b'LOGIN failed.'")
    assert "switched off password login" in m365 and "server said: LOGIN failed." in m365
    gone = refused_words("h", "ghost", "xoauth2", None, "[UNAVAILABLE] Internal error occurred.")
    assert "no such user or mailbox" in gone
    token = refused_words("h", "u", "oauthbearer", None, "[AUTHENTICATIONFAILED] failed.")
    assert "OAUTHBEARER" in token and "not shared with the app" in token


def test_the_store_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    order: list[str] = []
    with store.locked("box"):
        other = threading.Thread(target=lambda: _take(store, order))
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive()  # waiting for the lock
        order.append("first done")
    other.join(timeout=10)
    assert order == ["first done", "second"]
    assert stat.S_IMODE((tmp_path / ".box.lock").stat().st_mode) == 0o600


def _take(store: TokenStore, order: list[str]) -> None:
    with store.locked("box"):
        order.append("second")
