"""Service-wide sections: who maildesk is, its database, ticket numbers, ops, the portal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from maildesk.core.config.base import Language, _Model
from maildesk.core.policy import Weekday

_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


class Service(_Model):
    """Who maildesk is to the outside world."""

    support_address: str = "support@maildesk.localhost"
    support_name: str = "Support"
    extra_addresses: tuple[str, ...] = ()
    timezone: str = "UTC"
    language: Language = "en"
    data_dir: Path = Path("var")
    max_message_bytes: Annotated[int, Field(gt=0)] = 25 * 1024 * 1024
    instance_id: str = "maildesk"
    auto_mails_per_hour: Annotated[int, Field(ge=1)] = 5
    unknown_senders: Literal["quarantine", "accept"] = "quarantine"
    templates_dir: Path | None = None
    unknown_sender_notice: bool = True
    authserv_id: str = ""
    require_staff_authentication: bool | None = None
    """Obey and relay a staff mail only when our server vouches for its From.
    Unset: on whenever ``authserv_id`` is set (see ``staff_authentication``)."""
    statement_weekday: Weekday = "mon"
    statement_hour: Annotated[int, Field(ge=0, le=23)] = 8
    statement_timezone: str | None = None
    sweep_interval: Annotated[float, Field(gt=0)] = 30.0
    message_id_domain: str = ""
    """The domain of the Message-IDs maildesk writes; empty: ``<instance_id>.maildesk.<domain>``."""

    @field_validator("support_address", "extra_addresses")
    @classmethod
    def _lower(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(value, str):
            if "@" not in value:
                raise ValueError(f"{value!r} is not an e-mail address")
            return value.strip().lower()
        return tuple(v.strip().lower() for v in value)

    @field_validator("message_id_domain")
    @classmethod
    def _mid_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if value and not _DOMAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a domain name (such as 'md.helpdesk.example')")
        return value

    @model_validator(mode="after")
    def _mid_domain_is_ours(self) -> Service:
        mine = self.message_id_domain
        if mine and any(mine == a.rpartition("@")[2] for a in self.addresses):
            raise ValueError(
                f"message_id_domain {mine!r} is the domain of a support address: people's mail "
                "programs write Message-IDs there too; use a subdomain only maildesk writes, "
                f"such as '{self.instance_id}.maildesk.{mine}'"
            )
        return self

    @field_validator("timezone", "statement_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as 'Europe/Brussels')"
            ) from None
        return value

    @property
    def staff_authentication(self) -> bool:
        """Whether staff mail must be aligned-authenticated (default: if ``authserv_id`` is set)."""
        if self.require_staff_authentication is None:
            return bool(self.authserv_id)
        return self.require_staff_authentication

    @model_validator(mode="after")
    def _staff_authentication_needs_authserv_id(self) -> Service:
        if self.require_staff_authentication and not self.authserv_id:
            raise ValueError(
                "require_staff_authentication = true: set authserv_id to the name your "
                "receiving server writes in Authentication-Results"
            )
        return self

    @property
    def statement_zone(self) -> str:
        """The zone whose ISO weeks the weekly statements cover (default: ``timezone``)."""
        return self.statement_timezone or self.timezone

    @property
    def addresses(self) -> frozenset[str]:
        """Every address that is maildesk's own (mail to them is intake)."""
        return frozenset((self.support_address, *self.extra_addresses))

    @property
    def domain(self) -> str:
        """The support address's domain."""
        return self.support_address.rsplit("@", 1)[1]

    @property
    def own_message_id_domain(self) -> str:
        """The domain of the Message-IDs maildesk writes, which no person's mail program uses.

        Mail programs such as Thunderbird and Apple Mail write Message-IDs in the
        sender's domain, which staff share with the support address; a per-instance
        subdomain tells our own mail coming back from a staff member's reply.
        """
        if self.message_id_domain:
            return self.message_id_domain
        label = re.sub(r"[^a-z0-9-]+", "-", self.instance_id.lower()).strip("-") or "maildesk"
        return f"{label[:63]}.maildesk.{self.domain}"


class Database(_Model):
    """Where the data lives. Empty ``url``: SQLite in the data folder."""

    url: str = ""


class Tickets(_Model):
    """How ticket numbers look and how they appear in subjects."""

    number_format: str = "{year}-{seq:06d}"
    subject_tag: str = "[#{number}]"

    @field_validator("number_format")
    @classmethod
    def _format(cls, value: str) -> str:
        if "{seq" not in value:
            raise ValueError("must contain {seq}, e.g. '{year}-{seq:06d}'")
        try:
            value.format(year=2026, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"not a valid format ({exc}); fields: {{year}}, {{seq}}") from None
        return value

    @field_validator("subject_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if "{number}" not in value:
            raise ValueError("must contain {number}, e.g. '[#{number}]'")
        return value


class Digest(_Model):
    """The daily queue digest mailed to staff: their tickets and the unassigned ones."""

    enabled: bool = False
    time: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = None
    """Local time (HH:MM, service time zone) to send it on business days; unset: when
    the default policy's business hours start."""
    staff: tuple[str, ...] = ()
    """The staff addresses that get it; empty: every staff member."""

    @field_validator("staff")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value)


class Ops(_Model):
    """The operator endpoints (/healthz, /metrics) and who is told when a source fails.

    Keep the endpoints on loopback. A mailbox or outgoing delivery that has
    failed for ``alert_after_minutes`` is mailed about once per outage to
    ``operator_address`` (the staff when it is unset), and again when it works.
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, lt=65536)] = 8025
    operator_address: str | None = None
    alert_after_minutes: Annotated[float, Field(gt=0)] = 15.0

    @field_validator("operator_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        local, at, domain = value.partition("@")
        if not (local and at and "." in domain) or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not a mail address (name@example.com)")
        return value


class Portal(_Model):
    """The clients' page: balance, tickets and quotes, reached through a signed link.

    Off unless configured: links in mails point at ``base_url``, so maildesk
    must be told the address clients reach it on (usually a reverse proxy).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, lt=65536)] = 8026
    base_url: str = ""
    """The portal as clients reach it, e.g. ``https://support.example.com/portal``."""
    secret_env: str = "MAILDESK_PORTAL_SECRET"
    """The environment variable holding the secret that signs links (32+ characters)."""
    link_days: Annotated[int, Field(ge=1, le=366)] = 30
    requests_per_minute: Annotated[int, Field(ge=1)] = 60

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) address")
        return value

    @model_validator(mode="after")
    def _needs_address(self) -> Portal:
        if self.enabled and not self.base_url:
            raise ValueError(
                "enabled = true needs base_url: the address clients open, "
                "e.g. 'https://support.example.com/portal'"
            )
        return self
