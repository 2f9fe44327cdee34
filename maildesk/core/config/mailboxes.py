"""Where mail comes from and where it goes: the listener, IMAP sources, the SMTP relay."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from maildesk.core.config.base import Security, _is_loopback, _Model
from maildesk.core.config.oauth import OAuthProvider

Auth = Literal["password", "oauth2"]


def _check_auth(auth: Auth, password_env: str | None, oauth2: object | None) -> None:
    """``auth`` decides which of ``password_env`` and the ``oauth2`` block is given."""
    if auth == "password" and oauth2 is not None:
        raise ValueError("an oauth2 block needs auth = 'oauth2'")
    if auth == "oauth2":
        if oauth2 is None:
            raise ValueError(
                "auth = 'oauth2' needs an oauth2 block with provider = 'microsoft', "
                "'google' or 'generic' (see config/maildesk.example.toml)"
            )
        if password_env is not None:
            raise ValueError("auth = 'oauth2' takes no password_env")


class Listener(_Model):
    """The built-in LMTP/SMTP listener an MTA (or a user) delivers to."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8024
    protocol: Literal["lmtp", "smtp"] = "lmtp"


class ImapSource(_Model):
    """One IMAP mailbox that maildesk polls (IDLE where the server has it)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = "imap"
    host: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 993
    security: Security = "tls"
    allow_plain: bool = False
    username: str
    auth: Auth = "password"
    password_env: Annotated[str | None, Field(validate_default=True)] = None
    oauth2: OAuthProvider | None = None
    folders: tuple[str, ...] = ("INBOX",)
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: Annotated[int, Field(gt=0, le=1000)] = 50
    poll_interval: Annotated[float, Field(gt=0)] = 60.0
    timeout: Annotated[float, Field(gt=0)] = 30.0
    # A failing mailbox is retried with growing waits, at most this far apart.
    retry_max_seconds: Annotated[float, Field(gt=0)] = 300.0

    @field_validator("password_env", mode="after")
    @classmethod
    def _password_needed(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("auth", "password") == "password":
            raise ValueError("Field required (with auth = 'password', the default)")
        return value

    @model_validator(mode="after")
    def _plain_only_where_safe(self) -> ImapSource:
        _check_auth(self.auth, self.password_env, self.oauth2)
        if self.security == "plain" and not (self.allow_plain or _is_loopback(self.host)):
            raise ValueError(
                f"security = 'plain' would send the password in clear text to {self.host}; "
                "use 'tls' or 'starttls', or set allow_plain = true if the network is trusted"
            )
        return self


class Intake(_Model):
    """Where mail comes from."""

    listener: Listener = Listener()
    imap: tuple[ImapSource, ...] = ()

    @model_validator(mode="after")
    def _names_unique(self) -> Intake:
        names = [src.name for src in self.imap]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(
                    f"two [[intake.imap]] mailboxes are named {name!r}: give each its "
                    "own name (it keys the mailbox's health, alerts, source keys and "
                    "`maildesk mailbox login/check NAME`)"
                )
        return self


class SmtpRelay(_Model):
    """The SMTP server that carries maildesk's outgoing mail."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = "outgoing"
    host: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 587
    security: Security = "starttls"
    allow_plain: bool = False
    username: str | None = None
    auth: Auth = "password"
    password_env: str | None = None
    oauth2: OAuthProvider | None = None
    timeout: Annotated[float, Field(gt=0)] = 30.0

    @model_validator(mode="after")
    def _checks(self) -> SmtpRelay:
        _check_auth(self.auth, self.password_env, self.oauth2)
        if self.auth == "oauth2" and self.username is None:
            raise ValueError("auth = 'oauth2' needs username (the mailbox that sends)")
        if self.oauth2 is not None and self.oauth2.mechanism != "xoauth2":
            raise ValueError(
                "SMTP logs in with XOAUTH2 only: leave mechanism out of [outgoing.smtp.oauth2]"
            )
        if self.auth == "password" and (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together")
        if (
            self.security == "plain"
            and self.username is not None
            and not (self.allow_plain or _is_loopback(self.host))
        ):
            raise ValueError(
                f"security = 'plain' would send the password in clear text to {self.host}; "
                "use 'tls' or 'starttls', or set allow_plain = true if the network is trusted"
            )
        return self


class Outgoing(_Model):
    """How queued mail leaves: an SMTP relay, or a local maildir to look at."""

    transport: Literal["smtp", "maildir"] = "maildir"
    maildir: Path = Path("sent")
    smtp: SmtpRelay | None = None
    flush_interval: Annotated[float, Field(gt=0)] = 5.0
    max_attempts: Annotated[int, Field(gt=0)] = 10
    retry_base_seconds: Annotated[float, Field(gt=0)] = 60.0
    retry_max_seconds: Annotated[float, Field(gt=0)] = 6 * 3600.0

    @model_validator(mode="after")
    def _relay_needed(self) -> Outgoing:
        if self.transport == "smtp" and self.smtp is None:
            raise ValueError("transport = 'smtp' needs an [outgoing.smtp] section")
        return self
