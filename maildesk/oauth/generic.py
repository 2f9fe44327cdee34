"""Tokens from any OAuth2 token endpoint; the only module that imports Authlib.

Two grants (RFC 6749): client credentials, where the app's own secret buys each
token, and refresh token, where an operator hands maildesk a refresh token once
(``maildesk mailbox login``) and each access token is bought with it. A rotated
refresh token replaces the stored one at once, so a restart never presents a
spent one. Authlib speaks the protocol; this module only keeps the tokens.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError as AuthlibError

from maildesk.core.config.oauth import GenericOAuth
from maildesk.oauth.errors import EndpointError, LoginRequired, OAuthError, TokenUnavailable
from maildesk.oauth.source import LoginUI, Token, TokenSource
from maildesk.oauth.store import TokenStore
from maildesk.oauth.words import generic_error

TIMEOUT_SECONDS = 30.0


class GenericTokens(TokenSource):
    """Client-credentials or refresh-token grants at ``cfg.token_url``."""

    def __init__(
        self,
        name: str,
        user: str,
        cfg: GenericOAuth,
        client_secret: str | None,
        store: TokenStore,
    ) -> None:
        super().__init__(name, user, cfg.mechanism, store)
        self.cfg = cfg
        self.client_secret = client_secret
        self.needs_login = cfg.flow == "refresh_token"

    def _session(self) -> OAuth2Session:
        return OAuth2Session(
            self.cfg.client_id,
            self.client_secret,
            scope=self.cfg.scope or None,
            token_endpoint_auth_method="client_secret_post" if self.client_secret else "none",
            default_timeout=TIMEOUT_SECONDS,
        )

    def _call(self, grant: str, refresh_token: str | None = None) -> dict[str, Any]:
        session = self._session()
        try:
            if grant == "refresh_token":
                answer = session.refresh_token(self.cfg.token_url, refresh_token=refresh_token)
            else:
                answer = session.fetch_token(self.cfg.token_url, grant_type=grant)
        except AuthlibError as exc:
            raise generic_error(
                self.name, exc.error or "error", exc.description or "", self.cfg.client_secret_env
            ) from None
        except (requests.RequestException, ValueError) as exc:
            raise TokenUnavailable(
                f"{self.name}: the token endpoint {self.cfg.token_url} did not answer: "
                f"{type(exc).__name__}"
            ) from None
        finally:
            session.close()
        return dict(answer)

    def _fetch(self) -> Token:
        if self.cfg.flow == "client_credentials":
            return _token(self._call("client_credentials"))
        with self.store.locked(self.name):
            refresh = self.store.load(self.name).get("refresh_token")
            if not refresh:
                raise LoginRequired(self.name, f"{self.name}: no refresh token is stored")
            answer = self._call("refresh_token", refresh)
            # Keep the rotated refresh token (or the old one if none came back).
            self.store.save(self.name, {"refresh_token": answer.get("refresh_token") or refresh})
        return _token(answer)

    def login(self, ui: LoginUI) -> None:
        """Take a refresh token from the operator, prove it works, and keep it."""
        if self.cfg.flow != "refresh_token":
            super().login(ui)
        ui.say(
            f"{self.name}: paste the refresh token issued for {self.user} by "
            f"{self.cfg.token_url} (it is not shown and never logged)."
        )
        refresh = ui.ask("refresh token", secret=True).strip()
        if not refresh:
            raise OAuthError(f"{self.name}: no refresh token given; nothing changed")
        answer = self._call("refresh_token", refresh)
        self.store.save(self.name, {"refresh_token": answer.get("refresh_token") or refresh})
        self.invalidate()
        ui.say(f"{self.name}: the refresh token works and is stored.")


def _token(answer: dict[str, Any]) -> Token:
    value = answer.get("access_token")
    if not isinstance(value, str):
        raise OAuthError("the token endpoint answered without an access_token")
    expires_at = answer.get("expires_at")
    if not isinstance(expires_at, int | float):
        expires_in = answer.get("expires_in")
        expires_at = time.time() + (float(expires_in) if expires_in else 3600.0)
    return Token(value, float(expires_at))


def consent_in_browser(
    ui: LoginUI,
    *,
    client_id: str,
    client_secret: str | None,
    scope: str,
    auth_url: str,
    token_url: str,
    redirect_uri: str,
    login_hint: str,
) -> dict[str, Any]:
    """The authorization code grant of an installed app, with PKCE (RFC 7636).

    Prints the consent URL; the browser is sent on to ``redirect_uri`` (loopback),
    which need not answer: the operator pastes the address back. Returns the
    token endpoint's answer; raises ``EndpointError`` when it refuses.
    """
    session = OAuth2Session(
        client_id,
        client_secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=TIMEOUT_SECONDS,
    )
    try:
        verifier = secrets.token_urlsafe(64)
        url, _state = session.create_authorization_url(
            auth_url,
            code_verifier=verifier,
            access_type="offline",
            prompt="consent",
            login_hint=login_hint,
        )
        ui.say(f"Open this address in a browser and sign in as {login_hint}:\n\n  {url}\n")
        ui.say(
            f"The browser is then sent to {redirect_uri}... and may show that it cannot "
            "connect; that is expected. Copy that whole address from the address bar."
        )
        answer = ui.ask("address the browser was sent to", secret=True).strip()
        try:
            return dict(
                session.fetch_token(
                    token_url, authorization_response=answer, code_verifier=verifier
                )
            )
        except AuthlibError as exc:
            raise EndpointError(exc.error or "error", exc.description or "") from None
        except (requests.RequestException, ValueError) as exc:
            raise TokenUnavailable(f"{token_url} did not answer: {type(exc).__name__}") from None
    finally:
        session.close()
