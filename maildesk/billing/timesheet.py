"""The task's timesheet: when a ticket is resolved, its client gets the work it took.

Rules:

- **When**: a staff mail that resolves (or closes) a ticket, when the client's
  ``timesheet_after_task`` (else the policy's) says so, and the ticket has
  work booked since its last timesheet. Sent once per task: the mail's marker
  ``timesheet:TICKET:LAST-ROW`` names the last ledger row it shows, claimed in
  the transaction that queues it; a ticket reopened and resolved again gets a
  timesheet of the work booked since (the new intervention) only.
- **To whom**: the ticket's requester, in the ticket's language.
- **Lines**: one per ``#time`` entry (however many ledger rows it took): the
  date (in the service's zone), who, what the work was (the text after the
  duration, ``#time 1h30 migrated the course backups``, else the first line
  of the staff reply, else where it came from), worked, billed, whether it is
  included or billable (or held, refused, not quoted), and the amount at the
  rate where one applies (:mod:`maildesk.billing.amounts`); then the totals
  and the prepaid hours left, or the time owed beyond them.
- **Attachments**: the same table as .xlsx and CSV
  (:mod:`maildesk.billing.sheets`), printable on one A4 landscape page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.amounts import Amounts
from maildesk.billing.ledger import balance
from maildesk.billing.lines import WorkLine, work_lines
from maildesk.billing.mailing import queue, staff_name
from maildesk.billing.sheets import Cell, Duration, Layout, csv_bytes, xlsx_bytes
from maildesk.billing.statements import XLSX, balance_text, billed_text
from maildesk.billing.words import WORDS
from maildesk.core.durations import format_minutes
from maildesk.core.localtime import format_day
from maildesk.core.money import Price, spreadsheet_format
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import MailAttachment
from maildesk.store.models import Client, Event, Ticket
from maildesk.store.once import claim

__all__ = ["TaskLine", "send_task_timesheet", "task_rows", "timesheet_enabled"]

SENT = "timesheet_sent"
HELD = ("held", "refused", "unquoted")


def timesheet_enabled(ctx: MailContext, client: Client) -> bool:
    """The client's ``timesheet_after_task``, else its policy's."""
    cfg = ctx.settings.client(client.key)
    if cfg is not None and cfg.timesheet_after_task is not None:
        return cfg.timesheet_after_task
    _, policy = ctx.settings.policy_for(client.key)
    return policy.billing.timesheet_after_task


@dataclass(frozen=True)
class TaskLine:
    """One line of a task's timesheet, as the client reads it."""

    day: date
    who: str
    description: str
    line: WorkLine
    price: Price | None


def scope_word(line: WorkLine, language: str) -> str:
    """Included, billable, or why billable work is not billed (yet)."""
    words = WORDS[language]
    if line.category == "included":
        return words["included"]
    return words[line.category] if line.category in HELD else words["billable"]


def _last_sent(session: Session, ticket_id: int) -> int:
    """The last ledger row the ticket's previous timesheet showed (0: none yet)."""
    detail = session.scalars(
        select(Event.detail)
        .where(Event.ticket_id == ticket_id, Event.kind == SENT)
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    return int(detail["last_row"]) if detail else 0


def _descriptions(session: Session, ticket_id: int) -> dict[str, str]:
    """Each booking's description, by key, from its ``time_booked`` event."""
    found: dict[str, str] = {}
    for detail in session.scalars(
        select(Event.detail).where(Event.ticket_id == ticket_id, Event.kind == "time_booked")
    ):
        if detail.get("description"):
            found[str(detail["key"])] = str(detail["description"])
    return found


def task_lines(
    session: Session, ctx: MailContext, ticket: Ticket, amounts: Amounts, after: int
) -> list[TaskLine]:
    """The ticket's bookings after ledger row ``after``, described and priced."""
    zone = ZoneInfo(ctx.settings.service.timezone)
    described = _descriptions(session, ticket.id)
    return [
        TaskLine(
            day=line.at.astimezone(zone).date(),
            who=staff_name(ctx.settings, line.actor),
            description=described.get(line.key) or line.note,
            line=line,
            price=amounts.price(line.at_rate) if line.at_rate else None,
        )
        for line in work_lines(session, ticket_id=ticket.id, after_id=after)
    ]


def task_rows(lines: list[TaskLine], amounts: Amounts, remaining: int | None) -> list[list[Cell]]:
    """Header, one row per line, the totals, and the hours left (or owed): both files' table."""
    language = amounts.language
    words = WORDS[language]
    rows: list[list[Cell]] = [[*words["task_header"].split("|"), *amounts.headers()]]
    for task in lines:
        rows.append(
            [
                task.day,
                task.who,
                task.description,
                Duration(task.line.raw),
                Duration(task.line.billed),
                scope_word(task.line, language),
                *amounts.cells(task.price),
            ]
        )
    total = amounts.total(t.price for t in lines)
    rows.append(
        [
            words["total"],
            "",
            "",
            Duration(sum(t.line.raw for t in lines)),
            Duration(sum(t.line.billed for t in lines)),
            "",
            *amounts.cells(total),
        ]
    )
    if remaining is not None:
        label = words["hours_left"] if remaining >= 0 else words["time_owed"]
        rows.append([label, "", "", "", Duration(abs(remaining))])
    return rows


def send_task_timesheet(session: Session, ctx: MailContext, ticket: Ticket, now: datetime) -> bool:
    """Mail the requester the timesheet of the work since the last one; False if none is due."""
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    if client is None or not timesheet_enabled(ctx, client):
        return False
    _, policy = ctx.settings.policy_for(client.key)
    language = ticket.language
    amounts = Amounts.of(policy.billing, language)
    lines = task_lines(session, ctx, ticket, amounts, _last_sent(session, ticket.id))
    if not lines:
        return False
    last_row = max(t.line.last_id for t in lines)
    if not claim(session, f"timesheet:{ticket.id}:{last_row}", now):
        return False
    remaining = (
        balance(session, client.id, now).minutes if policy.billing.kind == "prepaid" else None
    )
    rows = task_rows(lines, amounts, remaining)
    layout = Layout(spreadsheet_format(amounts.currency, language), one_page=True)
    name = f"timesheet-{ticket.number}"
    total = amounts.total(t.price for t in lines)
    sent = queue(
        session,
        ctx,
        "timesheet",
        language,
        (ticket.requester,),
        now,
        ticket=ticket,
        attachments=(
            MailAttachment(f"{name}.xlsx", XLSX, xlsx_bytes(ticket.number, rows, layout)),
            MailAttachment(f"{name}.csv", "text/csv", csv_bytes(rows)),
        ),
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        client_name=client.name,
        entries=[
            {
                "date": format_day(t.day, language),
                "who": t.who,
                "description": t.description,
                "raw": format_minutes(t.line.raw),
                "billed": billed_text(t.line, language),
                "amount": amounts.text(t.price) if t.price is not None else "",
            }
            for t in lines
        ],
        worked=format_minutes(sum(t.line.raw for t in lines)),
        billed=format_minutes(sum(t.line.billed for t in lines)),
        amount=amounts.text(total) if total is not None and total.excl else None,
        remaining=balance_text(remaining, language) if remaining is not None else None,
    )
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind=SENT,
            detail={"last_row": last_row, "lines": len(lines), "queued": sent},
        )
    )
    return sent
