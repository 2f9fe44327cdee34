"""Who wrote a mail: staff, a client's (authorised) contact, someone at a client's domain,
or a stranger.

The role decides what a mail may do: only staff and a client's own people may
join that client's tickets by quoting a ticket number, only authorised
contacts may draw on prepaid hours, and strangers cannot open tickets at all.
A client may require a passing DKIM/SPF/DMARC verdict (recorded by our own
receiving server in ``Authentication-Results``) before a mail is trusted as
theirs; a mail that fails it is treated as a stranger's.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.ingest.parse import InboundMail
from maildesk.store.models import Client, Contact


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

    @property
    def is_client(self) -> bool:
        return self.client_id is not None


_VERDICT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)", re.I)


def authenticated(mail: InboundMail, authserv_id: str) -> bool:
    """True when our own server's Authentication-Results says DMARC (or DKIM) passed.

    Only a header whose authserv-id is ours counts: anything else in the mail
    may have been written by the sender.
    """
    for value in mail.header_all("authentication-results"):
        server = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if server != authserv_id.lower():
            continue
        verdicts = {k.lower(): v.lower() for k, v in _VERDICT.findall(value)}
        if verdicts.get("dmarc") == "pass" or verdicts.get("dkim") == "pass":
            return True
    return False


def sender_of(session: Session, mail: InboundMail, settings: Settings) -> Sender:
    """The role of ``mail.sender``."""
    address = mail.sender
    if address in settings.staff_addresses:
        return Sender(Role.STAFF, reason="staff address")
    contact = session.scalar(select(Contact).where(Contact.email == address))
    client: Client | None = None
    role = Role.UNKNOWN
    if contact is not None:
        client = session.get(Client, contact.client_id)
        role = Role.AUTHORISED if contact.authorised else Role.CONTACT
    else:
        domain = address.rpartition("@")[2]
        for cfg in settings.clients:
            if cfg.match_domain and domain in cfg.domains:
                client = session.scalar(select(Client).where(Client.key == cfg.id))
                role = Role.DOMAIN
                break
    if client is None:
        return Sender(Role.UNKNOWN, reason="not a registered contact")
    cfg_client = settings.client(client.key)
    if (
        cfg_client is not None
        and cfg_client.require_authentication
        and not authenticated(mail, settings.service.authserv_id)
    ):
        return Sender(Role.UNKNOWN, reason=f"no passing DKIM/DMARC verdict for {client.key}")
    return Sender(role, client.id, client.key, reason=f"{role.value} of {client.key}")
