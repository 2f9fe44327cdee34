"""The people in the config: staff, clients and their contacts, indexed for look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
)

from maildesk.core.config.base import Language, _Model


class Staff(_Model):
    """A member of the support team; their mail in a ticket's thread is a staff reply."""

    name: str
    email: str
    language: Language | None = None
    """The language of staff mail to them (the queue digest); the service's when unset."""

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class Contact(_Model):
    """A person at a client. Only authorised contacts may draw on the client's hours."""

    email: str
    name: str = ""
    authorised: bool = False
    language: Language | None = None
    """The language of mail to this person; the client's when unset."""

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class Client(_Model):
    """A customer organisation of the support provider."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    name: str
    policy: str = "default"
    language: Language | None = None
    contacts: tuple[Contact, ...] = ()
    domains: tuple[str, ...] = ()
    match_domain: bool = False
    allow_priority_markers: bool = False
    default_priority: Literal["high", "normal", "low"] | None = None
    require_authentication: bool = False
    account_manager: str | None = None
    """E-mail address copied on balance notices and weekly statements."""
    timesheet_after_task: bool | None = None
    """Overrides the policy's ``billing.timesheet_after_task`` for this client."""
    weekly_statement: Literal["activity", "always", "never"] = "activity"
    """Send the weekly statement for weeks with ledger movements, every week, or never."""

    @field_validator("domains")
    @classmethod
    def _lower_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip("@") for d in value)

    @field_validator("account_manager")
    @classmethod
    def _lower_manager(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "@" not in value:
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.strip().lower()


@dataclass(frozen=True)
class _Indexed:
    """The configured clients by id, by contact address and by matched domain."""

    by_id: dict[str, Client]
    by_contact: dict[str, tuple[Client, Contact]]
    by_domain: dict[str, Client]

    @classmethod
    def build(cls, clients: tuple[Client, ...]) -> _Indexed:
        by_domain: dict[str, Client] = {}
        for client in clients:
            if client.match_domain:
                for domain in client.domains:
                    by_domain.setdefault(domain, client)  # the first in the config wins
        return cls(
            by_id={c.id: c for c in clients},
            by_contact={contact.email: (c, contact) for c in clients for contact in c.contacts},
            by_domain=by_domain,
        )


class _ClientIndex:
    """A memo of the clients for :meth:`Settings.client` and friends, built on first use.

    It remembers the tuple it indexes (``model_copy`` shares private
    attributes, so a copy with other clients must rebuild, not reuse) and swaps
    in the pair at once, so threads never see half an index. Being a cache, it
    compares equal to any other: two settings stay equal whether or not one
    was looked up.
    """

    __slots__ = ("_built",)

    def __init__(self) -> None:
        self._built: tuple[tuple[Client, ...], _Indexed] | None = None

    def of(self, clients: tuple[Client, ...]) -> _Indexed:
        built = self._built
        if built is None or built[0] is not clients:
            built = (clients, _Indexed.build(clients))
            self._built = built
        return built[1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ClientIndex)

    __hash__ = object.__hash__
