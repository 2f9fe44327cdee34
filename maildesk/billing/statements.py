"""The weekly statement: a client's hours over one ISO week, with the timesheet attached.

Rules (when and to whom it is sent: :mod:`maildesk.billing.weekly`):

- **Period**: an ISO week (Monday 00:00 to Monday 00:00) in the statement
  zone (``service.statement_timezone``, else ``service.timezone``).
- **Numbers**: the opening and closing balances are the sums of the
  client's entries dated before the week's start and end; the movements are
  the week's purchases, grants, expiries and manual adjustments; each work
  line is one ``#time`` entry (date, ticket, who, raw and billed, with what
  was billed at the hourly rate); the hours left "now" are the balance when
  the statement is made, and the mail says so beside the closing balance
  (named with the week's last day), since hours bought after the week differ.
  Opening + movements − time drawn from prepaid hours − time owed = closing; a
  balance below zero is time owed beyond a prepaid contract without a rate,
  which the next purchase pays first.
- **Attachments**: the timesheet as CSV and as .xlsx, the same rows
  (:mod:`maildesk.billing.sheets`): dates as dates, durations as ``h:mm``,
  amounts at the rate (where the policy has one) as currency cells, printed
  A4 landscape one page wide, like a task's timesheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.billing.amounts import Amounts
from maildesk.billing.ledger import (
    DEBT_REFERENCE,
    RATE_REFERENCE,
    STARTER_REFERENCE,
    balances,
    balances_before,
)
from maildesk.billing.lines import WorkLine, work_lines_by_client
from maildesk.billing.mailing import client_language, staff_name
from maildesk.billing.sheets import Cell, Duration, Layout, csv_bytes, xlsx_bytes
from maildesk.billing.words import WORDS, date_range
from maildesk.core.config import Settings
from maildesk.core.durations import format_minutes
from maildesk.core.localtime import format_day
from maildesk.core.money import spreadsheet_format
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import MailAttachment
from maildesk.notify.render import Rendered
from maildesk.store.directory import ClientInfo
from maildesk.store.models import Client, LedgerEntry

__all__ = [
    "Statement",
    "build_statement",
    "build_statements",
    "describe",
    "last_complete_week",
    "parse_week",
    "render_statement",
    "week_label",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Statement:
    """Everything one client's statement for one week says."""

    client_key: str
    client_name: str
    language: str
    monday: date
    zone: str
    opening: int
    closing: int
    remaining: int
    movements: tuple[LedgerEntry, ...]
    lines: tuple[WorkLine, ...]

    @property
    def week(self) -> str:
        return week_label(self.monday)

    @property
    def billed_total(self) -> int:
        return sum(line.billed for line in self.lines)


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> date:
    """The Monday of ISO week ``YYYY-Www`` (``2026-W47``); ValueError when it is not one."""
    year, sep, week = text.strip().upper().partition("-W")
    if not (sep and year.isdigit() and week.isdigit()):
        raise ValueError(f"{text!r} is not an ISO week; write it as 2026-W47")
    try:
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"{text!r}: {year} has no week {int(week)}") from None


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def last_complete_week(now: datetime, zone: str) -> date:
    """The Monday of the last ISO week that has ended at ``now`` in ``zone``."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return today - timedelta(days=today.weekday() + 7)


_MOVEMENTS = (
    select(LedgerEntry)
    .where(
        LedgerEntry.client_id.in_(bindparam("client_ids", expanding=True)),
        LedgerEntry.at >= bindparam("start"),
        LedgerEntry.at < bindparam("end"),
        LedgerEntry.kind.in_(("purchase", "grant", "expiry", "adjustment")),
        # Rate-billed time's counter-entries and a debt's payment net out.
        LedgerEntry.reference.not_in((RATE_REFERENCE, DEBT_REFERENCE)),
    )
    .order_by(LedgerEntry.at, LedgerEntry.id)
)


def build_statement(
    session: Session, settings: Settings, client: Client | ClientInfo, monday: date, now: datetime
) -> Statement:
    """The statement of ``client`` for the week starting ``monday`` (writes due expiries)."""
    return build_statements(session, settings, (client,), monday, now)[0]


def build_statements(
    session: Session,
    settings: Settings,
    clients: Sequence[Client | ClientInfo],
    monday: date,
    now: datetime,
) -> list[Statement]:
    """The statements of ``clients`` for the week starting ``monday``, in their order.

    Five queries however many clients, plus, the first time a card is seen
    expired, writing its expiry. The balances come first: they write the
    expiries that are due, and an expiry dated inside the week is one of its
    movements.
    """
    zone = settings.service.statement_zone
    start, end = _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone)
    ids = [client.id for client in clients]
    remaining = balances(session, ids, now)
    movements: dict[int, list[LedgerEntry]] = {cid: [] for cid in ids}
    for entry in session.scalars(_MOVEMENTS, {"client_ids": ids, "start": start, "end": end}):
        movements[entry.client_id].append(entry)
    opening_closing = balances_before(session, ids, start, end)
    lines = work_lines_by_client(session, ids, start, end)
    return [
        Statement(
            client_key=client.key,
            client_name=client.name,
            language=client_language(settings, client),
            monday=monday,
            zone=zone,
            opening=opening_closing[client.id][0],
            closing=opening_closing[client.id][1],
            remaining=remaining[client.id].minutes,
            movements=tuple(movements[client.id]),
            lines=tuple(lines[client.id]),
        )
        for client in clients
    ]


def _day(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).date().isoformat()


def describe(entry: LedgerEntry, language: str) -> str:
    """A purchase, grant, expiry or adjustment as the statement lists it."""
    words = WORDS[language]
    if entry.reference == STARTER_REFERENCE:  # the grant, or its expired remainder
        return words["grant"] if entry.kind == "grant" else f"{words['expiry']} {words['grant']}"
    return f"{words[entry.kind]} {entry.reference}".strip()


def billed_text(line: WorkLine, language: str, amounts: Amounts | None = None) -> str:
    """A line's billed time with what it is: at the rate (and its amount), owed, included, held."""
    words = WORDS[language]
    text = format_minutes(line.billed)
    if line.at_rate:
        price = amounts.price(line.at_rate) if amounts is not None else None
        cost = f": {amounts.text(price)}" if amounts is not None and price is not None else ""
        text += f" ({format_minutes(line.at_rate)} {words['at_rate']}{cost})"
    if line.owed:
        text += f" ({format_minutes(line.owed)} {words['owed']})"
    if not line.billed and line.category in ("included", "held", "refused", "unquoted"):
        text += f" ({words[line.category]})"
    return text


def line_subject(line: WorkLine, language: str) -> str:
    """The ticket's subject, and for a correction what it is and why."""
    if line.category != "correction":
        return line.ticket_subject
    said = f"{WORDS[language]['correction']}: {line.reason}"
    return f"{line.ticket_subject} ({said})" if line.ticket_subject else said[0].upper() + said[1:]


def balance_text(minutes: int, language: str) -> str:
    """Hours left, or, below zero, the time owed and that the next purchase pays it."""
    if minutes >= 0:
        return format_minutes(minutes)
    return f"{format_minutes(-minutes)} {WORDS[language]['owed']}"


def timesheet_rows(statement: Statement, settings: Settings) -> list[list[Cell]]:
    """Header, one row per work line, totals: the table both attachments hold.

    Dates are dates and durations ``h:mm`` cells; where the client's policy has
    a rate, the amount of the time billed at it (excl. and incl. VAT), rounded
    once per line (:mod:`maildesk.billing.amounts`).
    """
    words = WORDS[statement.language]
    amounts = _amounts(statement, settings)
    rows: list[list[Cell]] = [[*words["header"].split("|"), *amounts.headers()]]
    prices = []
    for line in statement.lines:
        price = amounts.price(line.at_rate) if line.at_rate else None
        prices.append(price)
        rows.append(
            [
                _local_day(line.at, statement.zone),
                line.ticket_number,
                line_subject(line, statement.language),
                staff_name(settings, line.actor),
                Duration(line.raw),
                Duration(line.billed),
                Duration(line.drawn),
                Duration(line.at_rate),
                *amounts.cells(price),
            ]
        )
    totals = [
        Duration(sum(getattr(line, name) for line in statement.lines))
        for name in ("raw", "billed", "drawn", "at_rate")
    ]
    rows.append([words["total"], "", "", "", *totals, *amounts.cells(amounts.total(prices))])
    return rows


def _amounts(statement: Statement, settings: Settings) -> Amounts:
    _, policy = settings.policy_for(statement.client_key)
    return Amounts.of(policy.billing, statement.language)


def _local_day(when: datetime, zone: str) -> date:
    return when.astimezone(ZoneInfo(zone)).date()


def render_statement(
    ctx: MailContext, statement: Statement, portal_url: str | None = None
) -> tuple[Rendered, tuple[MailAttachment, ...]]:
    """The statement's mail text (with a link to the client's page) and its two timesheets."""
    zone = statement.zone
    sunday = statement.monday + timedelta(days=6)
    period = f"{statement.week} ({date_range(statement.monday, sunday, statement.language)})"
    purchases = [
        {
            "date": _day(m.at, zone),
            "description": describe(m, statement.language),
            "amount": format_minutes(m.minutes),
        }
        for m in statement.movements
    ]
    amounts = _amounts(statement, ctx.settings)
    entries = [
        {
            "date": _day(line.at, zone),
            "number": line.ticket_number,
            "subject": line_subject(line, statement.language),
            "who": staff_name(ctx.settings, line.actor),
            "raw": format_minutes(line.raw),
            "billed": billed_text(line, statement.language, amounts),
        }
        for line in statement.lines
    ]
    rendered = ctx.renderer.render(
        "weekly_statement",
        statement.language,
        client_name=statement.client_name,
        period=period,
        opening=balance_text(statement.opening, statement.language),
        purchases=purchases,
        entries=entries,
        closing=balance_text(statement.closing, statement.language),
        week_end=format_day(sunday, statement.language),
        remaining=balance_text(statement.remaining, statement.language),
        support_name=ctx.identity.name,
        portal_url=portal_url,
    )
    rows = timesheet_rows(statement, ctx.settings)
    name = f"timesheet-{statement.client_key}-{statement.week}"
    currency = spreadsheet_format(amounts.currency, statement.language)
    layout = Layout(currency, one_page=False)
    attachments = (
        MailAttachment(f"{name}.csv", "text/csv", csv_bytes(rows)),
        MailAttachment(f"{name}.xlsx", XLSX, xlsx_bytes(statement.week, rows, layout)),
    )
    return rendered, attachments
