"""Mailing list: list or newsletter traffic is not a support request to answer.

Signals: a ``List-Id`` (RFC 2919) or any other RFC 2369 list header
(``List-Post``, ``List-Unsubscribe``, ``List-Subscribe``, ``List-Help``,
``List-Owner``, ``List-Archive``), the older ``Mailing-List`` /
``X-Mailing-List`` headers, or ``Precedence: list``. ``List-Unsubscribe`` alone
counts: one-to-one mail from a person does not carry it, newsletters must.

One exception: when the support address is itself a list (a Google Group in
front of maildesk adds ``List-Id`` and friends to every client mail), its
List-Id is configured in ``RuleContext.own_list_ids`` and then none of the list
headers count, since they were written by our own relay, not by the sender.

``Precedence: bulk``/``junk`` without list headers are handled by the
auto-reply rule, which runs first (see there); with list headers (a
newsletter) the mail is left to this rule.
"""

from __future__ import annotations

import re

from maildesk.ingest.rules import RuleContext
from maildesk.ingest.rules._common import has_list_headers
from maildesk.mail.parse import InboundMail

NAME = "mailing_list"
DESCRIPTION = "Mail from a mailing list or newsletter (List-Id, List-Unsubscribe, Precedence: list)"


def list_id(value: str) -> str:
    """The identifier of a ``List-Id`` value: inside the angle brackets, lower-cased."""
    match = re.search(r"<([^<>]*)>", value)
    return (match.group(1) if match else value).strip().lower()


def check(mail: InboundMail, ctx: RuleContext) -> bool:
    ids = {list_id(value) for value in mail.header_all("list-id")}
    if ids & ctx.own_list_ids:
        return False
    precedence = (mail.header("precedence") or "").strip().lower()
    return has_list_headers(mail) or precedence.startswith("list")
