"""Tokens from Microsoft Entra ID for Exchange Online; the only module that imports msal.

App-only (``flow = "app"``): the client credentials grant with a secret or a
certificate, scope ``https://outlook.office365.com/.default`` (it carries the
``IMAP.AccessAsApp`` / ``SMTP.SendAsApp`` permissions granted to the app).
Delegated (``flow = "device"``): a person signs in once with the device code
flow (``maildesk mailbox login``), so no redirect URL or public address is
needed; msal keeps the refresh token in its cache, which is stored with the
other tokens and refreshed silently after that. The mailbox (``username``) may
be a shared mailbox the signed-in person is a delegate of.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msal
import requests

from maildesk.core.config.oauth import MicrosoftOAuth
from maildesk.oauth.errors import LoginRequired, OAuthError, TokenRefused, TokenUnavailable
from maildesk.oauth.source import LoginUI, Token, TokenSource
from maildesk.oauth.store import TokenStore
from maildesk.oauth.words import microsoft_error

EXCHANGE = "https://outlook.office365.com"
APP_SCOPES = [f"{EXCHANGE}/.default"]
# msal adds offline_access (the refresh token), openid and profile itself.
DELEGATED_SCOPES = [f"{EXCHANGE}/IMAP.AccessAsUser.All", f"{EXCHANGE}/SMTP.Send"]
TIMEOUT_SECONDS = 30


class MicrosoftTokens(TokenSource):
    """Exchange Online tokens for one mailbox, app-only or delegated."""

    def __init__(
        self,
        name: str,
        user: str,
        cfg: MicrosoftOAuth,
        client_secret: str | None,
        store: TokenStore,
    ) -> None:
        super().__init__(name, user, cfg.mechanism, store)
        self.cfg = cfg
        self.client_secret = client_secret
        self.needs_login = cfg.flow == "device"
        self._app: msal.ClientApplication | None = None
        self._cache = msal.SerializableTokenCache()
        self._kept: str | None = None  # the cache as last read from or written to the store

    @property
    def authority(self) -> str:
        return f"{self.cfg.authority_host.rstrip('/')}/{self.cfg.tenant}"

    def _credential(self) -> str | dict[str, str]:
        if self.client_secret is not None:
            return self.client_secret
        path = self.cfg.certificate_file
        assert path is not None and self.cfg.certificate_thumbprint  # validated by the config
        try:
            key = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenRefused(
                f"{self.name}: cannot read certificate_file {path}: {exc.strerror}"
            ) from None
        return {"private_key": key, "thumbprint": self.cfg.certificate_thumbprint}

    def _reload(self) -> None:
        """Take up the stored cache when another process (``mailbox login``) replaced it.

        A running daemon thus resumes after a new sign-in without a restart, and
        never writes its stale cache over the new one.
        """
        saved = self.store.load(self.name).get("msal_cache")
        if isinstance(saved, str) and saved != self._kept:
            self._cache.deserialize(saved)
            self._cache.has_state_changed = False
            self._kept = saved

    def _application(self) -> msal.ClientApplication:
        self._reload()
        if self._app is not None:
            return self._app
        try:
            if self.cfg.flow == "app":
                app: msal.ClientApplication = msal.ConfidentialClientApplication(
                    self.cfg.client_id,
                    client_credential=self._credential(),
                    authority=self.authority,
                    token_cache=self._cache,
                    timeout=TIMEOUT_SECONDS,
                    # The configured authority_host is trusted as it is (Microsoft's
                    # own hosts need no discovery anyway).
                    instance_discovery=False,
                )
            else:
                app = msal.PublicClientApplication(
                    self.cfg.client_id,
                    authority=self.authority,
                    token_cache=self._cache,
                    timeout=TIMEOUT_SECONDS,
                    # The configured authority_host is trusted as it is (Microsoft's
                    # own hosts need no discovery anyway).
                    instance_discovery=False,
                )
        except ValueError as exc:  # msal's word for an authority it cannot find
            raise TokenRefused(
                f"{self.name}: Microsoft does not know the tenant {self.cfg.tenant!r}: check "
                f"`tenant` ({exc})"
            ) from None
        except requests.RequestException as exc:
            raise TokenUnavailable(
                f"{self.name}: {self.cfg.authority_host} did not answer: {type(exc).__name__}"
            ) from None
        self._app = app
        return app

    def _keep_cache(self) -> None:
        if self._cache.has_state_changed:
            self._kept = self._cache.serialize()
            self.store.save(self.name, {"msal_cache": self._kept})
            self._cache.has_state_changed = False

    def _result(self, result: dict[str, Any] | None) -> Token:
        self._keep_cache()
        if not result:
            raise LoginRequired(self.name, f"{self.name}: nobody has signed in for this mailbox")
        if "access_token" not in result:
            raise microsoft_error(
                self.name,
                str(result.get("error", "error")),
                str(result.get("error_description", "")),
                self.cfg.client_secret_env,
            )
        expires_in = float(result.get("expires_in", 3600))
        return Token(str(result["access_token"]), time.time() + expires_in)

    def _fetch(self) -> Token:
        with self.store.locked(self.name):
            return self._fetch_locked()

    def _fetch_locked(self) -> Token:
        app = self._application()
        try:
            if isinstance(app, msal.ConfidentialClientApplication):
                return self._result(app.acquire_token_for_client(scopes=APP_SCOPES))
            accounts = app.get_accounts()
            if not accounts:
                raise LoginRequired(self.name, f"{self.name}: nobody has signed in yet")
            return self._result(
                app.acquire_token_silent_with_error(DELEGATED_SCOPES, account=accounts[0])
            )
        except requests.RequestException as exc:
            raise TokenUnavailable(
                f"{self.name}: {self.cfg.authority_host} did not answer: {type(exc).__name__}"
            ) from None

    def login(self, ui: LoginUI) -> None:
        """The device code flow: print the URL and code, wait for the sign-in, keep the grant."""
        if self.cfg.flow != "device":
            super().login(ui)
        app = self._application()
        assert isinstance(app, msal.PublicClientApplication)
        try:
            flow = app.initiate_device_flow(scopes=DELEGATED_SCOPES)
            if "user_code" not in flow:
                raise microsoft_error(
                    self.name,
                    str(flow.get("error", "error")),
                    str(flow.get("error_description", "")),
                    None,
                )
            ui.say(str(flow["message"]))
            ui.say(
                f"Sign in as {self.user} or as a user with Full Access to that mailbox; "
                "waiting for the sign-in..."
            )
            result = app.acquire_token_by_device_flow(flow)
        except requests.RequestException as exc:
            raise TokenUnavailable(
                f"{self.name}: {self.cfg.authority_host} did not answer: {type(exc).__name__}"
            ) from None
        token = self._result(result)
        self._keep_cache()
        if not token.value:
            raise OAuthError(f"{self.name}: the sign-in gave no token")
        self.invalidate()
        signed_in = (result or {}).get("id_token_claims", {}).get("preferred_username", "")
        ui.say(f"{self.name}: signed in{f' as {signed_in}' if signed_in else ''}; token stored.")
