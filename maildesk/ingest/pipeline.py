"""The one function that applies everything maildesk does to one inbound mail.

``process`` runs inside the caller's transaction: the message, the ticket
change, its events and every mail it causes (outbox rows) are written
together or not at all. It knows nothing of where the mail came from; both
intake paths (IMAP, LMTP) reach it through ``ingest.receive``.

The steps, in order: recognise a mail seen before; classify it (loops,
bounces, auto-replies — never answered); find who wrote it (staff, a client's
contact, a stranger); find the ticket it continues; then hand it to the step
for its case. Each case lives in its own module.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from maildesk.ingest.automatic import AUTOMATIC, handle_automatic
from maildesk.ingest.classify import Kind, classify
from maildesk.ingest.context import (
    OWN_MAIL_BACK,
    Outcome,
    PipelineContext,
    Receipt,
    already_seen,
    hold,
)
from maildesk.ingest.match import Match, match_ticket
from maildesk.ingest.reports import follow_up, open_report
from maildesk.ingest.roles import Role, Sender, sender_of
from maildesk.ingest.rules._common import null_reverse_path
from maildesk.ingest.staff import refuse_staff_mail, staff_gate, staff_mail
from maildesk.mail.parse import InboundMail
from maildesk.notify.outbox import Draft, enqueue_auto
from maildesk.store.models import Event

log = logging.getLogger(__name__)


def reject(
    session: Session,
    mail: InboundMail | None,
    source_key: str,
    raw_sha256: str,
    reason: str,
    detail: str,
    notice: str | None,
    ctx: PipelineContext,
) -> Receipt:
    """Quarantine a mail and, where a person is waiting, tell them why (rate-limited).

    ``notice`` names the template of the polite notice (``unknown_sender``,
    ``too_large``); machine-written mail never gets one.
    """
    now = ctx.clock.now()
    hold(session, raw_sha256, source_key, reason, detail, mail, now)
    session.add(
        Event(
            ticket_id=None,
            at=now,
            kind="quarantined",
            actor=mail.sender if mail else "",
            detail={
                "reason": reason,
                "detail": detail[:500],
                "message_id": mail.message_id if mail else None,
            },
        )
    )
    if (
        notice
        and mail is not None
        and not null_reverse_path(mail)
        and classify(mail, ctx.rules).kind not in AUTOMATIC
    ):
        rendered = ctx.renderer.render(
            notice,
            ctx.settings.service.language,
            subject=mail.subject or "(no subject)",
            support_name=ctx.identity.name,
            support_address=ctx.identity.address,
            limit_mb=ctx.settings.service.max_message_bytes // (1024 * 1024),
        )
        enqueue_auto(
            session,
            Draft(
                kind=notice,
                to=(mail.sender,),
                subject=rendered.subject,
                body=rendered.body,
                in_reply_to=mail.message_id,
            ),
            ctx.identity,
            now,
            ctx.settings.service.auto_mails_per_hour,
        )
    return Receipt(
        Outcome.QUARANTINED, mail.message_id if mail else "", None, f"{reason}: {detail}"
    )


def _own_mail_back(session: Session, mail: InboundMail, ctx: PipelineContext) -> None:
    """Record a mail whose Message-ID is one maildesk sent: our own mail came back."""
    session.add(
        Event(
            ticket_id=None,
            at=ctx.clock.now(),
            kind="loop_received",
            actor=mail.sender,
            detail={"message_id": mail.message_id, "rule": "sent_message_id"},
        )
    )


def _record_refusals(
    session: Session,
    mail: InboundMail,
    sender: Sender,
    refused: tuple[Match, ...],
    ctx: PipelineContext,
) -> None:
    """One ``pointer_refused`` event on each ticket the mail pointed at but may not join."""
    for found in refused:
        session.add(
            Event(
                ticket_id=found.ticket.id,
                at=ctx.clock.now(),
                kind="pointer_refused",
                actor=mail.sender,
                detail={
                    "how": found.how,
                    "number": found.ticket.number,
                    "message_id": mail.message_id,
                    "sender_role": sender.role.value,
                    "sender_client": sender.client_key,
                },
            )
        )


def process(
    session: Session,
    mail: InboundMail,
    raw: bytes,
    source_key: str,
    raw_sha256: str,
    ctx: PipelineContext,
) -> Receipt:
    """Apply maildesk to ``mail`` inside the caller's transaction and say what happened."""
    seen = already_seen(session, mail.message_id, source_key)
    if seen is not None:
        if seen.detail == OWN_MAIL_BACK:
            _own_mail_back(session, mail, ctx)
        return seen
    verdict = classify(mail, ctx.rules)
    sender = sender_of(session, mail, ctx.settings)
    matching = match_ticket(session, mail, sender, ctx.numbers, ctx.settings.service.addresses)
    match = matching.match
    ticket = match.ticket if match else None

    if verdict.kind in AUTOMATIC:
        filed = matching.filed
        handle_automatic(session, mail, raw, verdict, filed, source_key, raw_sha256, ctx)
        ticket = filed
        return Receipt(
            Outcome.AUTOMATIC,
            mail.message_id,
            ticket.number if ticket else None,
            f"{verdict.kind}: {verdict.reason}",
        )
    if verdict.kind is Kind.TOO_LARGE:
        return reject(
            session,
            mail,
            source_key,
            raw_sha256,
            "too_large",
            f"{mail.size} bytes",
            "too_large",
            ctx,
        )
    if mail.from_flags:
        session.add(
            Event(
                ticket_id=ticket.id if ticket else None,
                at=ctx.clock.now(),
                kind="from_flagged",
                actor=mail.sender,
                detail={"message_id": mail.message_id, "flags": list(mail.from_flags)},
            )
        )
    _record_refusals(session, mail, sender, matching.refused, ctx)
    if sender.role is Role.UNKNOWN and ctx.settings.service.unknown_senders == "quarantine":
        # Only a stranger is told; a mail that failed authentication may have a
        # forged From, and a notice would go to the innocent owner (backscatter).
        reason = "unauthenticated" if sender.unauthenticated else "unknown_sender"
        notice = (
            "unknown_sender"
            if ctx.settings.service.unknown_sender_notice
            and not sender.unauthenticated
            and not sender.from_flags
            else None
        )
        return reject(session, mail, source_key, raw_sha256, reason, sender.reason, notice, ctx)
    if sender.role is Role.STAFF:
        refused = staff_gate(sender, ctx.settings)
        if refused is not None:
            refuse_staff_mail(session, mail, ticket, source_key, raw_sha256, refused, ctx)
            return Receipt(Outcome.QUARANTINED, mail.message_id, None, f"staff mail: {refused}")
        if ticket is not None:
            staff_mail(session, mail, ticket, source_key, raw_sha256, ctx)
            return Receipt(Outcome.APPENDED, mail.message_id, ticket.number, "staff reply")

    answer = (
        verdict.kind is not Kind.MAILING_LIST
        and not null_reverse_path(mail)
        and not sender.unauthenticated
    )
    if ticket is not None:
        result = follow_up(
            session, mail, ticket, sender, source_key, raw_sha256, ctx, answer=answer
        )
        outcome = Outcome.APPENDED if result.id == ticket.id else Outcome.CREATED
        return Receipt(outcome, mail.message_id, result.number, match.how if match else "")
    created = open_report(session, mail, sender, source_key, raw_sha256, ctx, answer=answer)
    return Receipt(
        Outcome.CREATED,
        mail.message_id,
        created.number,
        f"new ticket ({created.status}, {created.priority})"
        + "".join(f"; refused {r.how} to {r.ticket.number}" for r in matching.refused),
    )
