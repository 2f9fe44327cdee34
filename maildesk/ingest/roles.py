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

from sqlalchemy.orm import Session

from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Settings
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
    """The role of ``mail.sender``.

    Contacts and domains come from the config (the contacts table mirrors it,
    see ``store.directory.sync_clients``) and the client's row from the
    process's copy, so finding the sender costs no query.
    """
    address = mail.sender
    if address in settings.staff_addresses:
        return Sender(Role.STAFF, reason="staff address")
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
        return Sender(Role.UNKNOWN, reason="not a registered contact")
    if cfg_client.require_authentication and not authenticated(mail, settings.service.authserv_id):
        return Sender(Role.UNKNOWN, reason=f"no passing DKIM/DMARC verdict for {client.key}")
    return Sender(role, client.id, client.key, reason=f"{role.value} of {client.key}")
