"""What can go wrong getting a token, in words an operator can act on."""

from __future__ import annotations


class OAuthError(Exception):
    """No access token; the message says why and what to do."""


class LoginRequired(OAuthError):
    """No refresh token, or the provider no longer accepts it: sign in again.

    A password change, revoked consent or an expired grant all end here.
    """

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{why}; log in again with `maildesk mailbox login {name}`")
        self.name = name


class TokenRefused(OAuthError):
    """The provider refused the app itself (secret, certificate, tenant, permission)."""


class TokenUnavailable(OAuthError):
    """The token endpoint could not be reached or failed; try again later."""


class EndpointError(Exception):
    """A token endpoint's RFC 6749 error, before a provider module words it."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
