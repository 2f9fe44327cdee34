"""Decide what kind of mail arrived before anything answers it.

A helpdesk that acknowledges every mail will, sooner or later, acknowledge an
out-of-office reply, a bounce of its own acknowledgement, or its own mail
coming back, and then two machines mail each other forever. So every inbound
mail is first put through small named rules (one per file in
``maildesk/ingest/rules/``), in a declared order; the first rule that fires
decides the ``Kind`` and the verdict records which rule that was, so staff and
``maildesk inspect`` can see *why* a mail was not answered.

The order is data (``RULES``), not a chain of ifs: adding a rule is adding a
file and one line here. Rules only read the frozen ``InboundMail`` and the
``RuleContext``; they do no I/O. Facts a rule needs from elsewhere (the
database, the config) are put into the context by the caller.

Order of ``RULES`` and why:

1. ``own_mail`` (LOOP): our own mail coming back is the loop we must break
   first, whatever else it looks like.
2. ``feedback_report`` (FEEDBACK): an ARF abuse report (``report-type=
   feedback-report``) says a recipient marked our mail as spam. It is not a
   delivery failure, so it is checked before the bounce rule, whose sender
   heuristics (postmaster, null Return-Path) would otherwise claim it.
3. ``bounce`` (BOUNCE): before the auto-reply rule, because most DSNs also
   carry ``Auto-Submitted: auto-replied`` and must still be seen as bounces
   (they mark an address as failing). BOUNCE means "a delivery status report
   about mail we sent": it includes the rare *successful* DSN (Action:
   delivered/relayed) and delay warnings. Which recipients really failed is
   read from the raw mail with ``rules.bounce.bounce_details``; only
   recipients whose action is ``failed`` are failures.
4. ``auto_reply`` (AUTO_REPLY): RFC 3834 auto-replies, out-of-office mail,
   read receipts, ``Precedence: bulk/junk/auto_reply``.
5. ``mailing_list`` (MAILING_LIST): list traffic (``List-Id`` and the other
   RFC 2369 headers, ``Precedence: list``).
6. ``too_large`` (TOO_LARGE): last of the automatic-mail checks, so that an
   oversized bounce or auto-reply keeps its more telling kind.

None of these kinds is ever answered automatically. When no rule fires the
verdict is NORMAL with rule ``"default"``. Rules about the sender's role
(staff, client, unknown) go after these, as more entries in ``RULES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from maildesk.ingest.rules import (
    Rule,
    RuleContext,
    auto_reply,
    bounce,
    feedback_report,
    mailing_list,
    own_mail,
    too_large,
)
from maildesk.mail.parse import InboundMail


class Kind(StrEnum):
    """What a mail is, for deciding whether and how to answer it."""

    LOOP = "loop"
    """Our own mail came back to us."""
    FEEDBACK = "feedback"
    """An ARF abuse/complaint report about mail we sent (RFC 5965)."""
    BOUNCE = "bounce"
    """A delivery status report (DSN/NDR) about mail we sent."""
    AUTO_REPLY = "auto_reply"
    """An automatic answer: out-of-office, RFC 3834 auto-reply, read receipt."""
    MAILING_LIST = "mailing_list"
    """Traffic from a mailing list or newsletter."""
    TOO_LARGE = "too_large"
    """Larger than the configured limit."""
    NORMAL = "normal"
    """None of the above: a person wrote it."""


@dataclass(frozen=True)
class Verdict:
    """The outcome: the kind, which rule decided, and that rule's description."""

    kind: Kind
    rule: str
    reason: str


DEFAULT_RULE = "default"
DEFAULT_REASON = "No rule fired: an ordinary mail from a person."

RULES: tuple[tuple[Kind, Rule], ...] = (
    (Kind.LOOP, own_mail),
    (Kind.FEEDBACK, feedback_report),
    (Kind.BOUNCE, bounce),
    (Kind.AUTO_REPLY, auto_reply),
    (Kind.MAILING_LIST, mailing_list),
    (Kind.TOO_LARGE, too_large),
)
"""The declared order; the first rule whose ``check`` is true decides."""


def classify(
    mail: InboundMail,
    ctx: RuleContext,
    rules: Sequence[tuple[Kind, Rule]] = RULES,
) -> Verdict:
    """The verdict of the first rule in ``rules`` that fires, else NORMAL."""
    for kind, rule in rules:
        if rule.check(mail, ctx):
            return Verdict(kind=kind, rule=rule.NAME, reason=rule.DESCRIPTION)
    return Verdict(kind=Kind.NORMAL, rule=DEFAULT_RULE, reason=DEFAULT_REASON)


def explain(
    mail: InboundMail,
    ctx: RuleContext,
    rules: Sequence[tuple[Kind, Rule]] = RULES,
) -> list[tuple[str, bool]]:
    """Every rule's name and result, in order, for ``maildesk inspect``."""
    return [(rule.NAME, rule.check(mail, ctx)) for _, rule in rules]
