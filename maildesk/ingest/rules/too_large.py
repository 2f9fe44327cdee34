"""A mail larger than the configured limit is not taken in as a normal request.

Checked after every automatic-mail rule, so that an oversized bounce or
auto-reply keeps its more telling kind. The size is the raw size as received.
A limit of 0 (or less) means no limit, as with an MTA's size setting.
"""

from __future__ import annotations

from maildesk.ingest.rules import RuleContext
from maildesk.mail.parse import InboundMail

NAME = "too_large"
DESCRIPTION = "The mail is larger than the configured maximum message size"


def check(mail: InboundMail, ctx: RuleContext) -> bool:
    return 0 < ctx.max_message_bytes < mail.size
