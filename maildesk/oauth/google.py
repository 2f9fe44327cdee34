"""Tokens from Google for Gmail in a Workspace domain; the only module that imports google-auth.

Service account (``flow = "service_account"``): the account's JSON key signs a
request to act as the mailbox (``subject``), allowed by domain-wide delegation
of the scope ``https://mail.google.com/``; nobody signs in. Installed app
(``flow = "installed"``): a person consents once (``maildesk mailbox login``);
Google's device flow does not allow the Gmail scope, so the login prints a
consent URL whose redirect goes to ``http://127.0.0.1`` — the browser need not
reach maildesk: the operator pastes back the address it was sent to. The code
exchange is ``generic.consent_in_browser`` (Authlib, with PKCE); google-auth
refreshes the token afterwards.
"""

from __future__ import annotations

import datetime as dt

from google.auth import exceptions as google_exceptions
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from maildesk.core.config.oauth import GoogleOAuth
from maildesk.oauth.errors import (
    EndpointError,
    LoginRequired,
    OAuthError,
    TokenRefused,
    TokenUnavailable,
)
from maildesk.oauth.generic import consent_in_browser
from maildesk.oauth.source import LoginUI, Token, TokenSource
from maildesk.oauth.store import TokenStore
from maildesk.oauth.words import google_error

MAIL_SCOPE = "https://mail.google.com/"
AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
# Loopback redirect of an installed app; nothing needs to listen there.
REDIRECT_URI = "http://127.0.0.1:8765/"


class GoogleTokens(TokenSource):
    """Gmail tokens for one Workspace mailbox."""

    def __init__(
        self,
        name: str,
        user: str,
        cfg: GoogleOAuth,
        client_secret: str | None,
        store: TokenStore,
    ) -> None:
        super().__init__(name, user, cfg.mechanism, store)
        self.cfg = cfg
        self.client_secret = client_secret
        self.needs_login = cfg.flow == "installed"

    def _credentials(self) -> service_account.Credentials | user_credentials.Credentials:
        if self.cfg.flow == "service_account":
            path = self.cfg.service_account_file
            try:
                sa: service_account.Credentials = (
                    service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                        str(path), scopes=[MAIL_SCOPE], subject=self.user
                    )
                )
                return sa
            except (OSError, ValueError) as exc:
                raise TokenRefused(
                    f"{self.name}: cannot use service_account_file {path}: {exc}"
                ) from None
        refresh = self.store.load(self.name).get("refresh_token")
        if not refresh:
            raise LoginRequired(self.name, f"{self.name}: nobody has signed in yet")
        return user_credentials.Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=refresh,
            token_uri=TOKEN_URL,
            client_id=self.cfg.client_id,
            client_secret=self.client_secret,
            scopes=[MAIL_SCOPE],
        )

    def _fetch(self) -> Token:
        creds = self._credentials()
        try:
            creds.refresh(Request())  # type: ignore[no-untyped-call]
        except google_exceptions.RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            error = str(data.get("error") or str(exc.args[0]).split(":")[0])
            raise google_error(
                self.name,
                error,
                str(data.get("error_description", "")),
                service_account=self.cfg.flow == "service_account",
            ) from None
        except google_exceptions.TransportError as exc:
            raise TokenUnavailable(
                f"{self.name}: Google's token endpoint did not answer: {exc}"
            ) from None
        expiry = creds.expiry or (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
        if expiry.tzinfo is None:  # google-auth keeps naive UTC
            expiry = expiry.replace(tzinfo=dt.UTC)
        return Token(str(creds.token), expiry.timestamp())

    def login(self, ui: LoginUI) -> None:
        """Consent in a browser anywhere; paste back the address it was sent to."""
        if self.cfg.flow != "installed":
            super().login(ui)
        try:
            token = consent_in_browser(
                ui,
                client_id=self.cfg.client_id or "",
                client_secret=self.client_secret,
                scope=MAIL_SCOPE,
                auth_url=AUTH_URL,
                token_url=TOKEN_URL,
                redirect_uri=REDIRECT_URI,
                login_hint=self.user,
            )
        except EndpointError as exc:
            raise google_error(
                self.name, exc.error, exc.description, service_account=False
            ) from None
        refresh = token.get("refresh_token")
        if not refresh:
            raise OAuthError(
                f"{self.name}: Google gave no refresh token; remove maildesk's access at "
                "https://myaccount.google.com/permissions and log in again"
            )
        self.store.save(self.name, {"refresh_token": refresh})
        self.invalidate()
        ui.say(f"{self.name}: signed in; token stored.")
