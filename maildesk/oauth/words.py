"""A token endpoint's error, told as what is wrong and what to do.

OAuth2 errors (RFC 6749 section 5.2) are terse codes; Entra ID adds an
``AADSTS`` number to the description, Google a short phrase. These functions
turn them into an :class:`~maildesk.oauth.errors.OAuthError` an operator can
act on. Pure: the provider modules call them with what the library raised.
"""

from __future__ import annotations

import re

from maildesk.oauth.errors import LoginRequired, OAuthError, TokenRefused

_AADSTS = re.compile(r"AADSTS(\d+)")

# Entra ID codes seen when connecting mailboxes, and what the operator should do.
_MICROSOFT: dict[str, str] = {
    "90002": "the tenant was not found: check `tenant` (the directory ID or the "
    "tenant's domain, e.g. contoso.onmicrosoft.com)",
    "900023": "the tenant is not a valid directory ID or domain: check `tenant`",
    "700016": "the app (client_id) is not registered in this tenant: check `client_id` "
    "and `tenant` (wrong tenant?), or grant admin consent in the tenant",
    "7000215": "the client secret is wrong: put the secret's Value (not its ID) in {secret}",
    "7000222": "the client secret has expired: create a new one under Certificates & "
    "secrets and put it in {secret}",
    "700027": "the certificate was refused: upload its public part to the app "
    "registration and check `certificate_thumbprint`",
    "65001": "admin consent is missing: an administrator must grant consent for the "
    "app's permissions (API permissions > Grant admin consent)",
    "7000112": "the app is disabled in the tenant",
    "70011": "the requested permission (scope) is not valid for this app",
    "50020": "the user is not in this tenant: sign in with an account of the tenant",
    "50034": "the user account does not exist in this tenant",
    "500011": "Office 365 Exchange Online is not available to this tenant",
    "7000218": "the app is not a public client: enable 'Allow public client flows' "
    "in the app registration (Authentication) for the device login",
}
# Codes after which the stored grant is no longer any good: sign in again.
_MICROSOFT_LOGIN_AGAIN = {"50173", "70008", "700082", "70043", "50076", "50079", "50078"}


def microsoft_error(name: str, error: str, description: str, secret_env: str | None) -> OAuthError:
    """The words for an Entra ID error response (``error``, ``error_description``)."""
    code_match = _AADSTS.search(description)
    code = code_match.group(1) if code_match else ""
    first_line = description.splitlines()[0] if description else error
    if code in _MICROSOFT_LOGIN_AGAIN or error in ("invalid_grant", "interaction_required"):
        return LoginRequired(
            name, f"{name}: Microsoft no longer accepts the sign-in ({first_line})"
        )
    if code in _MICROSOFT:
        words = _MICROSOFT[code].format(secret=f"${secret_env}" if secret_env else "the secret")
        return TokenRefused(f"{name}: {words} (Microsoft said: {first_line})")
    return TokenRefused(f"{name}: Microsoft refused the token request: {error}: {first_line}")


def google_error(name: str, error: str, description: str, *, service_account: bool) -> OAuthError:
    """The words for a Google token endpoint error."""
    text = f"{error}: {description}".strip(": ")
    if error == "unauthorized_client" and service_account:
        return TokenRefused(
            f"{name}: domain-wide delegation is not granted: in the Admin console "
            "(Security > API controls > Domain-wide delegation) add the service account's "
            f"client ID with the scope https://mail.google.com/ (Google said: {text})"
        )
    if error == "invalid_grant" and service_account:
        return TokenRefused(
            f"{name}: Google does not know the mailbox user, or the key was deleted: check "
            f"`username` is a user of the Workspace domain (Google said: {text})"
        )
    if error == "invalid_grant":
        return LoginRequired(name, f"{name}: Google no longer accepts the sign-in ({text})")
    if error in ("invalid_client", "deleted_client"):
        return TokenRefused(
            f"{name}: Google refused the OAuth client: check client_id and the secret "
            f"(Google said: {text})"
        )
    return TokenRefused(f"{name}: Google refused the token request ({text})")


def generic_error(name: str, error: str, description: str, secret_env: str | None) -> OAuthError:
    """The words for an RFC 6749 error from any token endpoint."""
    said = f"{error}: {description}" if description else error
    if error == "invalid_grant":
        return LoginRequired(name, f"{name}: the token endpoint refused the refresh token ({said})")
    if error == "invalid_client":
        where = f"${secret_env}" if secret_env else "the client secret"
        return TokenRefused(
            f"{name}: the token endpoint refused the client: check client_id and {where} ({said})"
        )
    if error in ("invalid_scope", "unauthorized_client"):
        return TokenRefused(
            f"{name}: the app may not have this permission: check `scope` and what the "
            f"provider grants the client ({said})"
        )
    return TokenRefused(f"{name}: the token endpoint refused the request ({said})")
