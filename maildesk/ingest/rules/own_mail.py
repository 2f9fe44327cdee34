"""Mail loop: our own mail has come back to us.

This is checked first because answering our own mail is how two machines end
up mailing each other forever. Three signals, each enough on its own:

- an ``X-Maildesk-Loop`` header carrying *this* instance's token (we write it
  on every mail we send; a client's mail client does not copy it into a reply,
  but a redirect or a misrouted copy keeps it). Another maildesk instance's
  token is not ours: its mail is some other helpdesk's auto-reply, left to the
  auto-reply rule;
- a Message-ID in the domain only maildesk writes (``service.message_id_domain``,
  by default ``<instance_id>.maildesk.<support domain>``), i.e. a mail we
  generated. Only the mail's *own* Message-ID counts: a client's reply quite
  rightly names our Message-IDs in In-Reply-To/References. A Message-ID the
  parser had to invent (the mail had none) is never ours. It is never the
  support address's own domain: Thunderbird, Apple Mail, Gnus and Foxmail put
  the From domain in their Message-IDs, and staff share that domain, so their
  replies would be dropped as loops. (A mail whose Message-ID is one we sent
  and stored is recognised before the rules run, see
  ``ingest.context.already_seen``.);
- a From that is one of the support addresses themselves.
"""

from __future__ import annotations

from maildesk.ingest.rules import RuleContext
from maildesk.ingest.rules._common import domain_of
from maildesk.mail.parse import InboundMail

NAME = "own_mail"
DESCRIPTION = "Our own mail came back (our loop header, our Message-ID, or from a support address)"

LOOP_HEADER = "x-maildesk-loop"


def check(mail: InboundMail, ctx: RuleContext) -> bool:
    loop_header = bool(ctx.loop_token) and any(
        value.strip() == ctx.loop_token for value in mail.header_all(LOOP_HEADER)
    )
    own_message_id = (
        not mail.message_id_synthesized and domain_of(mail.message_id) in ctx.own_message_id_domains
    )
    return loop_header or own_message_id or mail.sender.lower() in ctx.own_addresses
