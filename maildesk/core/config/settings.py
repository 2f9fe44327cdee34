"""The whole configuration: its sections together, embedded defaults, and TOML loading."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from maildesk.core.config.base import ConfigError, _Model
from maildesk.core.config.mailboxes import Intake, Outgoing
from maildesk.core.config.people import Client, Contact, Staff, _ClientIndex
from maildesk.core.config.service import Database, Digest, Ops, Portal, Service, Tickets
from maildesk.core.policy import Policy, ProviderClosures


class Settings(_Model):
    """Everything maildesk is told; passed in, never global."""

    service: Service = Service()
    database: Database = Database()
    tickets: Tickets = Tickets()
    intake: Intake = Intake()
    outgoing: Outgoing = Outgoing()
    ops: Ops = Ops()
    portal: Portal = Portal()
    closures: ProviderClosures = ProviderClosures()
    digest: Digest = Digest()
    policies: dict[str, Policy] = Field(default_factory=lambda: {"default": Policy()})
    staff: tuple[Staff, ...] = ()
    clients: tuple[Client, ...] = ()
    source: str = "embedded defaults"
    _client_index: _ClientIndex = PrivateAttr(default_factory=lambda: _ClientIndex())

    @model_validator(mode="after")
    def _provider_closures(self) -> Settings:
        """Every policy's calendar gets the provider's closures (unless it opts out)."""
        policies = {
            name: policy.model_copy(update={"calendar": self.closures.applied_to(policy.calendar)})
            for name, policy in self.policies.items()
        }
        object.__setattr__(self, "policies", policies)  # frozen: set once, while validating
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        if "default" not in self.policies:
            raise ValueError(
                "[policies.default] is required: it applies to mail from senders "
                "who are not a client's contact"
            )
        if any(c.require_authentication for c in self.clients) and not self.service.authserv_id:
            raise ValueError(
                "a client has require_authentication = true: set "
                "service.authserv_id to the name your receiving server writes "
                "in Authentication-Results"
            )
        seen: set[str] = set()
        for client in self.clients:
            if client.id in seen:
                raise ValueError(f"client id {client.id!r} appears twice")
            if client.policy not in self.policies:
                raise ValueError(
                    f"client {client.id!r} follows policy {client.policy!r}, which "
                    f"is not defined (known: {', '.join(sorted(self.policies))})"
                )
            seen.add(client.id)
        mid = self.service.own_message_id_domain
        if any(s.email.rpartition("@")[2] == mid for s in self.staff):
            raise ValueError(
                f"service.message_id_domain {mid!r} is a staff member's mail domain: their own "
                "mail would be taken for maildesk's; use a subdomain only maildesk writes"
            )
        for name, policy in self.policies.items():
            if policy.notices.team == self.service.support_address.lower():
                raise ValueError(
                    f"policies.{name}.notices.team is the support address: each notice "
                    "would come back as a new mail"
                )
        staff = self.staff_addresses
        for address in self.digest.staff:
            if address not in staff:
                raise ValueError(f"digest.staff: {address} is not a staff member's address")
        emails: set[str] = set()
        for client in self.clients:
            for contact in client.contacts:
                if contact.email in emails:
                    raise ValueError(f"contact {contact.email} belongs to two clients")
                emails.add(contact.email)
        return self

    def client(self, client_id: str) -> Client | None:
        """The configured client with this id.

        Called per mail and per statement, so the clients are indexed by id on
        first use (10,000 clients made a scan cost 0.4 ms). The index remembers
        the tuple it was built from: ``model_copy(update={"clients": ...})``
        copies private attributes, and must not see the old index.
        """
        return self._client_index.of(self.clients).by_id.get(client_id)

    def contact(self, email: str) -> tuple[Client, Contact] | None:
        """The configured client and contact with this address (addresses are unique)."""
        return self._client_index.of(self.clients).by_contact.get(email)

    def client_for_domain(self, domain: str) -> Client | None:
        """The client that takes mail from anyone at ``domain`` (``match_domain``).

        When two clients list the same domain, the first in the config wins.
        """
        return self._client_index.of(self.clients).by_domain.get(domain)

    def with_clients(self, extra: tuple[Client, ...]) -> tuple[Settings, list[str]]:
        """These settings plus the clients kept in the database, and what was left out.

        The config wins where the two meet: a database client whose id or
        contact address the config already has is left out (or that contact
        is), and one that follows a policy the config no longer defines follows
        ``default``. The copy is not validated again (the clients were, when
        they were written), so reloading a few hundred clients stays cheap.
        """
        problems: list[str] = []
        ids = {c.id for c in self.clients}
        emails = {contact.email for c in self.clients for contact in c.contacts}
        kept: list[Client] = []
        for client in extra:
            if client.id in ids:
                problems.append(
                    f"client {client.id!r} is in the config; its database copy is ignored"
                )
                continue
            update: dict[str, object] = {}
            if client.policy not in self.policies:
                problems.append(
                    f"client {client.id!r} follows policy {client.policy!r}, which the config "
                    "does not define; it follows 'default'"
                )
                update["policy"] = "default"
            contacts = tuple(c for c in client.contacts if c.email not in emails)
            if len(contacts) != len(client.contacts):
                problems.append(
                    f"client {client.id!r}: a contact of a configured client is left out"
                )
                update["contacts"] = contacts
            emails.update(c.email for c in contacts)
            ids.add(client.id)
            kept.append(client.model_copy(update=update) if update else client)
        merged = self.model_copy(update={"clients": self.clients + tuple(kept)})
        merged._client_index = _ClientIndex()  # its own memo: the old one may still be in use
        return merged, problems

    def policy_for(self, client_id: str | None) -> tuple[str, Policy]:
        """The name and rules of the policy a client follows (``default`` for strangers)."""
        client = self.client(client_id) if client_id else None
        name = client.policy if client is not None else "default"
        return name, self.policies[name]

    @property
    def staff_addresses(self) -> frozenset[str]:
        return frozenset(s.email for s in self.staff)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL; SQLite in the data folder when none is configured."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.service.data_dir / 'maildesk.db'}"

    @property
    def maildir_path(self) -> Path:
        """Where outgoing mail is written when the transport is a maildir."""
        path = self.outgoing.maildir
        return path if path.is_absolute() else self.service.data_dir / path


def embedded_defaults(data_dir: Path | None = None) -> Settings:
    """Settings for a maildesk with no config file: everything local, nothing external.

    With no clients configured, mail from anyone opens a ticket, so that a new
    user trying maildesk out sees it work.
    """
    service = Service(unknown_senders="accept")
    if data_dir is not None:
        service = service.model_copy(update={"data_dir": data_dir})
    return Settings(service=service)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def settings_from_toml(text: str, source: str) -> Settings:
    """Validate TOML ``text``; raise ``ConfigError`` naming ``source``, the key and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    data["source"] = source
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {exc.error_count()} problem(s):"]
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (see config/maildesk.example.toml for the keys)"
            lines.append(f"  {_location(tuple(error['loc']))}: {message}")
        raise ConfigError("\n".join(lines)) from None
