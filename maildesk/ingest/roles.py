"""Who wrote a mail: staff, a client's (authorised) contact, someone at a client's domain,
or a stranger.

The role decides what a mail may do: only staff and a client's own people may
join that client's tickets by quoting a ticket number, only authorised
contacts may draw on prepaid hours, and strangers cannot open tickets at all.
A client may require that our own receiving server vouches for the From
(``mail.authresults``: its topmost ``Authentication-Results``, DKIM or DMARC
aligned with the From domain) before a mail is trusted as theirs; a mail that
fails it is treated as a stranger's, and marked ``unauthenticated`` so that
nobody is told "you are not registered" (nor mailed at all: the From may be
forged). A From flagged by ``mail.address`` (several addresses, an address in
the display name) never counts as an authorised contact's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Settings
from maildesk.mail.authresults import Verdict, authenticate
from maildesk.mail.parse import InboundMail
from maildesk.store.directory import client_info_by_key


class Role(enum.StrEnum):
    STAFF = "staff"
    AUTHORISED = "authorised"
    CONTACT = "contact"
    DOMAIN = "domain"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Sender:
    """The sender's role and, for a client's people, which client (database id and config id)."""

    role: Role
    client_id: int | None = None
    client_key: str | None = None
    reason: str = ""
    verified: bool = False
    """Our receiving server vouches for the From (aligned DKIM/DMARC pass)."""
    verdict: str = ""
    """What our server's Authentication-Results say about the From, in words."""
    unauthenticated: bool = False
    """The address is known, but the mail failed the authentication it needed."""
    from_flags: tuple[str, ...] = ()
    """Why the From is suspicious; such a mail may not spend the client's money."""

    @property
    def is_client(self) -> bool:
        return self.client_id is not None


def verify(mail: InboundMail, settings: Settings) -> Verdict:
    """Our receiving server's verdict on the From of ``mail`` (``mail.authresults``)."""
    return authenticate(mail.headers, settings.service.authserv_id, mail.sender)


def sender_of(session: Session, mail: InboundMail, settings: Settings) -> Sender:
    """The role of ``mail.sender``.

    Contacts and domains come from the config (the contacts table mirrors it,
    see ``store.directory.sync_clients``) and the client's row from the
    process's copy, so finding the sender costs no query.
    """
    address = mail.sender
    flags = mail.from_flags
    if address in settings.staff_addresses:
        checked = verify(mail, settings)
        return Sender(
            Role.STAFF,
            reason="staff address",
            verified=checked.authenticated,
            verdict=checked.reason,
            from_flags=flags,
        )
    found = settings.contact(address)
    cfg_client: ClientConfig | None
    if found is not None:
        cfg_client, contact = found
        role = Role.AUTHORISED if contact.authorised else Role.CONTACT
    else:
        cfg_client = settings.client_for_domain(address.rpartition("@")[2])
        role = Role.DOMAIN
    client = client_info_by_key(session, cfg_client.id) if cfg_client is not None else None
    if cfg_client is None or client is None:
        return Sender(Role.UNKNOWN, reason="not a registered contact", from_flags=flags)
    checked = verify(mail, settings)
    if cfg_client.require_authentication and not checked.authenticated:
        return Sender(
            Role.UNKNOWN,
            reason=f"not authenticated for {client.key}: {checked.reason}",
            verdict=checked.reason,
            unauthenticated=True,
            from_flags=flags,
        )
    if flags and role is Role.AUTHORISED:
        role = Role.CONTACT  # a flagged From may not draw on the client's hours
    return Sender(
        role,
        client.id,
        client.key,
        reason=f"{role.value} of {client.key}",
        verified=checked.authenticated,
        verdict=checked.reason,
        from_flags=flags,
    )
