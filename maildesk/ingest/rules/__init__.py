"""The classification rules, one per module, and what a rule is: its protocol and context.

``ingest/classify.py`` runs the rules in a declared order. The protocol and the
context live here, in the package itself, so that no rule imports the module
that imports it; this file imports no rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from maildesk.mail.parse import InboundMail


@dataclass(frozen=True)
class RuleContext:
    """What the rules know about this maildesk instance, built from config."""

    own_addresses: frozenset[str]
    """The support addresses themselves, lower-case bare addresses."""
    own_message_id_domains: frozenset[str]
    """The domain part we put in our Message-IDs, lower-case."""
    loop_token: str
    """The value this instance writes into ``X-Maildesk-Loop``."""
    max_message_bytes: int
    """Mails larger than this are TOO_LARGE; 0 or less means no limit."""
    own_list_ids: frozenset[str] = frozenset()
    """List-Ids of lists that deliver *to* us (a Google Group used as the support
    address adds ``List-Id`` to every client mail): lower-case, without angle
    brackets. Their list headers are not a mailing-list signal."""


class Rule(Protocol):
    """A rule module: ``NAME``, a one-line ``DESCRIPTION`` and ``check``."""

    @property
    def NAME(self) -> str: ...

    @property
    def DESCRIPTION(self) -> str: ...

    def check(self, mail: InboundMail, ctx: RuleContext) -> bool: ...
