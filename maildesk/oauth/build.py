"""The token source a mailbox's ``oauth2`` block describes."""

from __future__ import annotations

import os

from maildesk.core.config.oauth import GenericOAuth, GoogleOAuth, MicrosoftOAuth, OAuthProvider
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.source import TokenSource
from maildesk.oauth.store import TokenStore


def _secret(env: str | None, key: str) -> str | None:
    if env is None:
        return None
    value = os.environ.get(env)
    if not value:
        raise OAuthError(
            f"environment variable {env} (named by {key}.client_secret_env) is not set; "
            f"export {env}=... before starting maildesk"
        )
    return value


def token_source(
    name: str, user: str, cfg: OAuthProvider, store: TokenStore, key: str
) -> TokenSource:
    """Tokens for mailbox ``name`` logging in as ``user``; ``key`` is its place in the config."""
    secret = _secret(cfg.client_secret_env, f"{key}.oauth2")
    if isinstance(cfg, MicrosoftOAuth):
        from maildesk.oauth.microsoft import MicrosoftTokens

        return MicrosoftTokens(name, user, cfg, secret, store)
    if isinstance(cfg, GoogleOAuth):
        from maildesk.oauth.google import GoogleTokens

        return GoogleTokens(name, user, cfg, secret, store)
    assert isinstance(cfg, GenericOAuth)
    from maildesk.oauth.generic import GenericTokens

    return GenericTokens(name, user, cfg, secret, store)
