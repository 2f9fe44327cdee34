"""The ``oauth2`` block of a mailbox: which provider issues its tokens, and how.

One block sits under each ``[[intake.imap]]`` and under ``[outgoing.smtp]``
whose ``auth = "oauth2"``. ``provider`` picks the shape: ``microsoft``
(Entra ID), ``google`` (Workspace) or ``generic`` (any OAuth2 token endpoint).
Secrets are never in the file: a client secret is named by ``*_env``, a key or
certificate by the path of a file the operator keeps private; refresh tokens
obtained by ``maildesk mailbox login`` are kept in the data folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from maildesk.core.config.base import _Model

# The SASL mechanism the mail server is offered the token with. XOAUTH2 is what
# Microsoft and Google document; OAUTHBEARER (RFC 7628) is the standard one.
Mechanism = Literal["xoauth2", "oauthbearer"]


class MicrosoftOAuth(_Model):
    """Microsoft 365 (Entra ID): app-only client credentials, or a delegated device login.

    ``flow = "app"`` takes the ``IMAP.AccessAsApp`` / ``SMTP.SendAsApp``
    application permissions and a client secret (``client_secret_env``) or a
    certificate (``certificate_file`` and ``certificate_thumbprint``); the
    mailbox must be shared with the app's service principal in Exchange Online.
    ``flow = "device"`` signs a user in once with ``maildesk mailbox login``
    (``IMAP.AccessAsUser.All``, ``SMTP.Send``, ``offline_access``); that user
    may be a delegate of a shared mailbox named by ``username``.
    """

    provider: Literal["microsoft"]
    flow: Literal["app", "device"]
    tenant: Annotated[str, Field(min_length=1)]
    client_id: Annotated[str, Field(min_length=1)]
    client_secret_env: str | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    mechanism: Mechanism = "xoauth2"

    @model_validator(mode="after")
    def _credentials(self) -> MicrosoftOAuth:
        if self.tenant.lower() in ("common", "consumers", "organizations") and self.flow == "app":
            raise ValueError(
                f"tenant = {self.tenant!r} cannot be used with flow = 'app': give the "
                "directory (tenant) ID or the tenant's domain, e.g. 'contoso.onmicrosoft.com'"
            )
        has_cert = self.certificate_file is not None or self.certificate_thumbprint is not None
        if self.flow == "app":
            if self.client_secret_env is None and not has_cert:
                raise ValueError(
                    "flow = 'app' needs client_secret_env (the environment variable holding "
                    "the client secret) or certificate_file and certificate_thumbprint"
                )
            if self.client_secret_env is not None and has_cert:
                raise ValueError("give client_secret_env or a certificate, not both")
            if has_cert and (self.certificate_file is None or not self.certificate_thumbprint):
                raise ValueError("certificate_file and certificate_thumbprint go together")
        elif self.client_secret_env is not None or has_cert:
            raise ValueError(
                "flow = 'device' signs a user in and takes no client secret or certificate "
                "(register the app as a public client: 'Allow public client flows')"
            )
        return self


class GoogleOAuth(_Model):
    """Google Workspace: a service account with domain-wide delegation, or a user's consent.

    ``flow = "service_account"`` reads the service account's JSON key from
    ``service_account_file`` and acts as the mailbox named by ``username``
    (domain-wide delegation of the scope ``https://mail.google.com/``).
    ``flow = "installed"`` signs a user in once with ``maildesk mailbox login``
    (an installed-app client: ``client_id`` and ``client_secret_env``).
    """

    provider: Literal["google"]
    flow: Literal["service_account", "installed"]
    service_account_file: Path | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    mechanism: Mechanism = "xoauth2"

    @model_validator(mode="after")
    def _credentials(self) -> GoogleOAuth:
        if self.flow == "service_account":
            if self.service_account_file is None:
                raise ValueError(
                    "flow = 'service_account' needs service_account_file (the JSON key of "
                    "a service account with domain-wide delegation)"
                )
            if self.client_id is not None or self.client_secret_env is not None:
                raise ValueError(
                    "flow = 'service_account' takes no client_id or client_secret_env "
                    "(they are in the key file)"
                )
        else:
            if not self.client_id or not self.client_secret_env:
                raise ValueError(
                    "flow = 'installed' needs client_id and client_secret_env (an OAuth "
                    "client of type 'Desktop app' in the Cloud project)"
                )
            if self.service_account_file is not None:
                raise ValueError("flow = 'installed' takes no service_account_file")
        return self


class GenericOAuth(_Model):
    """Any OAuth2 token endpoint: client credentials, or a refresh token given once."""

    provider: Literal["generic"]
    flow: Literal["client_credentials", "refresh_token"]
    token_url: Annotated[str, Field(pattern=r"^https?://")]
    client_id: Annotated[str, Field(min_length=1)]
    client_secret_env: str | None = None
    scope: str = ""
    mechanism: Mechanism = "xoauth2"

    @model_validator(mode="after")
    def _credentials(self) -> GenericOAuth:
        if self.flow == "client_credentials" and self.client_secret_env is None:
            raise ValueError("flow = 'client_credentials' needs client_secret_env")
        return self


OAuthProvider = Annotated[
    MicrosoftOAuth | GoogleOAuth | GenericOAuth, Field(discriminator="provider")
]
