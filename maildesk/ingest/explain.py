"""What maildesk would decide about a mail, without a database: for ``maildesk inspect``.

It runs the same rules as the pipeline — classification, the sender's role as
far as the config tells it, the priority and the required-information check
under the sender's client's policy — and says which rule decided each.
"""

from __future__ import annotations

from dataclasses import dataclass

from maildesk.core.config import Settings
from maildesk.core.numbers import NumberFormat
from maildesk.ingest.classify import classify, explain
from maildesk.ingest.intake import ReportPart, check_report
from maildesk.ingest.match import PLUS, TAG, THREAD, plus_numbers
from maildesk.ingest.priority import decide_priority
from maildesk.ingest.rules import RuleContext
from maildesk.mail.authresults import authenticate
from maildesk.mail.parse import InboundMail
from maildesk.mail.reply import extract_new_text


@dataclass(frozen=True)
class Decisions:
    """Every intake decision about one mail, in the order the pipeline takes them."""

    rules: list[tuple[str, bool]]
    kind: str
    deciding_rule: str
    reason: str
    role: str
    client: str | None
    policy: str
    priority: str
    priority_rule: str
    priority_unsure: str | None
    missing: list[str]
    found: dict[str, str]
    password_suspected: bool
    pointers: list[tuple[str, str]]
    """Each way the mail points at a ticket: (how, Message-ID or ticket number)."""
    joins: str
    """Which ticket such a pointer may join, by the sender's role (``ingest.match``)."""
    authentication: str = ""
    """Our receiving server's verdict on the From (``mail.authresults``); "" without
    ``service.authserv_id``."""


def _role(mail: InboundMail, settings: Settings) -> tuple[str, str | None]:
    if mail.sender in settings.staff_addresses:
        return "staff", None
    found = settings.contact(mail.sender)
    if found is not None:
        client, contact = found
        return ("authorised" if contact.authorised else "contact"), client.id
    by_domain = settings.client_for_domain(mail.sender.rpartition("@")[2])
    if by_domain is not None:
        return "domain", by_domain.id
    return "unknown", None


def _pointers(mail: InboundMail, settings: Settings) -> list[tuple[str, str]]:
    numbers = NumberFormat(settings.tickets.number_format, settings.tickets.subject_tag)
    thread = [*([mail.in_reply_to] if mail.in_reply_to else []), *mail.references]
    found = [(THREAD, mid) for mid in dict.fromkeys(thread)]
    found += [(TAG, n) for n in numbers.find_numbers(mail.subject)]
    found += [(PLUS, n) for n in plus_numbers(mail, settings.service.addresses)]
    return found


def _joins(role: str, client: str | None, settings: Settings) -> str:
    if role == "staff":
        return "any ticket (staff)"
    if client is not None:
        cfg = settings.client(client)
        auth = " when authenticated" if cfg is not None and cfg.require_authentication else ""
        return (
            f"only a ticket of client {client}{auth}; a pointer to another ticket is "
            "refused and the mail handled as a new report"
        )
    then = (
        "a new ticket of its own"
        if settings.service.unknown_senders == "accept"
        else "quarantine, as any stranger's mail"
    )
    return f"only a ticket without a client that this address opened; otherwise {then}"


def decide(mail: InboundMail, settings: Settings) -> Decisions:
    """The pipeline's decisions about ``mail`` under ``settings`` (nothing is stored)."""
    service = settings.service
    ctx = RuleContext(
        own_addresses=service.addresses,
        own_message_id_domains=frozenset({service.own_message_id_domain}),
        loop_token=service.instance_id,
        max_message_bytes=service.max_message_bytes,
    )
    verdict = classify(mail, ctx)
    role, client_id = _role(mail, settings)
    policy_name, policy = settings.policy_for(client_id)
    client = settings.client(client_id) if client_id else None
    decision = decide_priority(
        mail.subject,
        extract_new_text(mail.text),
        policy.priority,
        allow_markers=bool(client and client.allow_priority_markers),
        client_default=client.default_priority if client else None,
    )
    check = check_report([ReportPart.from_mail(mail, mail.text)], policy.required)
    return Decisions(
        rules=explain(mail, ctx),
        kind=verdict.kind.value,
        deciding_rule=verdict.rule,
        reason=verdict.reason,
        role=role,
        client=client_id,
        policy=policy_name,
        priority=decision.priority,
        priority_rule=decision.rule,
        priority_unsure=decision.unsure,
        missing=list(check.missing),
        found=dict(check.found),
        password_suspected=check.password_suspected,
        authentication=_verdict(mail, settings),
        pointers=_pointers(mail, settings),
        joins=_joins(role, client_id, settings),
    )


def _verdict(mail: InboundMail, settings: Settings) -> str:
    if not settings.service.authserv_id:
        return ""
    verdict = authenticate(mail.headers, settings.service.authserv_id, mail.sender)
    return f"{'authenticated' if verdict.authenticated else 'not authenticated'}: {verdict.reason}"
