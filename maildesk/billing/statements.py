"""The weekly statement: a client's hours over one ISO week, with the timesheet attached.

Rules:

- **Period**: an ISO week (Monday 00:00 to Monday 00:00) in the statement
  zone (``service.statement_timezone``, else ``service.timezone``).
- **Numbers**: the opening and closing balances are the sums of the
  client's entries dated before the week's start and end; the movements are
  the week's purchases, grants, expiries and manual adjustments; each work
  line is one ``#time`` entry (date, ticket, who, raw and billed, with what
  was billed at the hourly rate); "hours remaining" is the balance when the
  statement is made. Opening + movements − time drawn from prepaid hours =
  closing.
- **When**: :func:`send_weekly_statements` sends the statement of the last
  complete week once it is due, on ``service.statement_weekday`` at
  ``statement_hour`` (statement zone) of the following week, so it may run
  from a cron job or every few minutes alike, and a daemon that was down at
  that hour sends it when it is back (within the week). A claimed marker
  ``statement:CLIENT:YYYY-Www``, taken in the transaction that queues the
  mail, makes it exactly once across restarts and daemons.
- **Who**: clients whose ``weekly_statement`` is ``"activity"`` (the default)
  get one for weeks with any ledger entry; ``"always"`` every week; ``"never"``
  none. It goes to the authorised contacts and the account manager, in the
  client's language; a client with nobody to send to is skipped (logged) and
  its week is not marked, so adding a contact later still sends it.
- **Attachments**: the timesheet as CSV and as .xlsx, the same rows
  (:mod:`maildesk.billing.sheets`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.billing.ledger import RATE_REFERENCE, STARTER_REFERENCE, balance, balances_before
from maildesk.billing.lines import WorkLine, work_lines
from maildesk.billing.mailing import client_language, recipients_of, staff_name
from maildesk.billing.sheets import Cell, csv_bytes, xlsx_bytes
from maildesk.billing.words import WORDS, date_range
from maildesk.core.config import Client as ClientConfig
from maildesk.core.config import Service, Settings
from maildesk.core.durations import format_compact, format_minutes
from maildesk.core.policy import WEEKDAYS
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, MailAttachment, enqueue
from maildesk.notify.render import Rendered
from maildesk.store.db import Database
from maildesk.store.directory import ClientInfo, client_info_by_key
from maildesk.store.models import Client, Contact, Event, LedgerEntry, Once

__all__ = [
    "Statement",
    "build_statement",
    "describe",
    "last_complete_week",
    "parse_week",
    "render_statement",
    "send_weekly_statements",
    "statement_due",
    "week_label",
]

log = logging.getLogger(__name__)

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


def statement_due(monday: date, service: Service) -> datetime:
    """When the statement of the week starting ``monday`` is due (UTC)."""
    day = monday + timedelta(days=7 + WEEKDAYS.index(service.statement_weekday))
    local = datetime.combine(day, time(service.statement_hour), ZoneInfo(service.statement_zone))
    return local.astimezone(UTC)


_MOVEMENTS = (
    select(LedgerEntry)
    .where(
        LedgerEntry.client_id == bindparam("client_id"),
        LedgerEntry.at >= bindparam("start"),
        LedgerEntry.at < bindparam("end"),
        LedgerEntry.kind.in_(("purchase", "grant", "expiry", "adjustment")),
        LedgerEntry.reference != RATE_REFERENCE,
    )
    .order_by(LedgerEntry.at, LedgerEntry.id)
)


def build_statement(
    session: Session, settings: Settings, client: Client | ClientInfo, monday: date, now: datetime
) -> Statement:
    """The statement of ``client`` for the week starting ``monday`` (writes due expiries)."""
    zone = settings.service.statement_zone
    start, end = _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone)
    remaining = balance(session, client.id, now).minutes
    movements = session.scalars(
        _MOVEMENTS, {"client_id": client.id, "start": start, "end": end}
    ).all()
    opening, closing = balances_before(session, client.id, start, end)
    return Statement(
        client_key=client.key,
        client_name=client.name,
        language=client_language(settings, client),
        monday=monday,
        zone=zone,
        opening=opening,
        closing=closing,
        remaining=remaining,
        movements=tuple(movements),
        lines=tuple(work_lines(session, client_id=client.id, start=start, end=end)),
    )


def _day(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).date().isoformat()


def describe(entry: LedgerEntry, language: str) -> str:
    """A purchase, grant, expiry or adjustment as the statement lists it."""
    words = WORDS[language]
    if entry.reference == STARTER_REFERENCE:  # the grant, or its expired remainder
        return words["grant"] if entry.kind == "grant" else f"{words['expiry']} {words['grant']}"
    return f"{words[entry.kind]} {entry.reference}".strip()


def _billed_text(line: WorkLine, words: dict[str, str]) -> str:
    text = format_minutes(line.billed)
    if line.at_rate:
        text += f" ({format_minutes(line.at_rate)} {words['at_rate']})"
    elif line.category == "included":
        text += f" ({words['included']})"
    return text


def timesheet_rows(statement: Statement, settings: Settings) -> list[list[Cell]]:
    """Header, one row per work line, totals: the table both attachments hold."""
    words = WORDS[statement.language]
    rows: list[list[Cell]] = [list(words["header"].split("|"))]
    for line in statement.lines:
        rows.append(
            [
                _day(line.at, statement.zone),
                line.ticket_number,
                line.ticket_subject,
                staff_name(settings, line.actor),
                line.raw,
                line.billed,
                line.drawn,
                line.at_rate,
            ]
        )
    totals = [sum(int(r[i]) for r in rows[1:]) for i in range(4, 8)]
    rows.append([words["total"], "", "", "", *totals])
    return rows


def render_statement(
    ctx: MailContext, statement: Statement, portal_url: str | None = None
) -> tuple[Rendered, tuple[MailAttachment, ...]]:
    """The statement's mail text (with a link to the client's page) and its two timesheets."""
    words = WORDS[statement.language]
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
    entries = [
        {
            "date": _day(line.at, zone),
            "number": line.ticket_number,
            "subject": line.ticket_subject,
            "who": staff_name(ctx.settings, line.actor),
            "raw": format_compact(line.raw) if line.raw else "0m",
            "billed": _billed_text(line, words),
        }
        for line in statement.lines
    ]
    rendered = ctx.renderer.render(
        "weekly_statement",
        statement.language,
        client_name=statement.client_name,
        period=period,
        opening=format_minutes(statement.opening),
        purchases=purchases,
        entries=entries,
        closing=format_minutes(statement.closing),
        remaining=format_minutes(statement.remaining),
        support_name=ctx.identity.name,
        portal_url=portal_url,
    )
    rows = timesheet_rows(statement, ctx.settings)
    name = f"timesheet-{statement.client_key}-{statement.week}"
    attachments = (
        MailAttachment(f"{name}.csv", "text/csv", csv_bytes(rows)),
        MailAttachment(f"{name}.xlsx", XLSX, xlsx_bytes(statement.week, rows)),
    )
    return rendered, attachments


def _statement_key(client_key: str, monday: date) -> str:
    return f"statement:{client_key}:{week_label(monday)}"


@dataclass(frozen=True)
class _Run:
    """What one run reads once for all its clients, instead of once per client.

    ``sent``: the week's statements claimed before the run started. Only a
    shortcut that spares building a statement that went out before (a run
    every few minutes finds them all sent); the ``once`` key inserted with
    each statement is what makes it go out once.

    ``authorised``: each client's authorised contacts. Contacts change only
    when a process mirrors the config at start-up (``sync_clients``), so one
    read as the run starts serves every client of the run (a run takes
    seconds; a process restarting with another config meanwhile is the only
    way it could miss a change).
    """

    sent: frozenset[str]
    authorised: dict[int, tuple[str, ...]]

    @classmethod
    def read(cls, db: Database, monday: date) -> _Run:
        with db.session() as session:
            pattern = _statement_key("%", monday)
            sent = frozenset(session.scalars(select(Once.key).where(Once.key.like(pattern))))
            contacts = session.execute(
                select(Contact.client_id, Contact.email)
                .where(Contact.authorised.is_(True))
                .order_by(Contact.id)
            )
            authorised: dict[int, tuple[str, ...]] = {}
            for client_id, email in contacts:
                authorised[client_id] = (*authorised.get(client_id, ()), email)
        return cls(sent, authorised)


def _send_one(
    session: Session, ctx: MailContext, cfg: ClientConfig, monday: date, now: datetime, run: _Run
) -> bool:
    client = client_info_by_key(session, cfg.id)
    if client is None:
        return False
    statement = build_statement(session, ctx.settings, client, monday, now)
    if cfg.weekly_statement == "activity" and not (statement.lines or statement.movements):
        return False
    to = recipients_of(ctx.settings, client.key, run.authorised.get(client.id, ()))
    if not to:
        log.warning("no statement for %s %s: no authorised contact", cfg.id, statement.week)
        return False
    # The week's exactly-once marker, flushed with the mail: a process that
    # claimed it meanwhile makes this commit fail (the unique key), and
    # nothing of this statement is queued. claim() would check first and
    # take a savepoint: four round trips per client instead of one insert.
    session.add(Once(key=_statement_key(cfg.id, monday), at=now))
    rendered, attachments = render_statement(ctx, statement, ctx.portal_url(cfg.id, to))
    enqueue(
        session,
        Draft(
            kind="weekly_statement",
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            attachments=attachments,
        ),
        ctx.identity,
        now,
    )
    session.add(
        Event(
            at=now,
            kind="statement_sent",
            detail={"client": cfg.id, "week": statement.week, "to": list(to)},
        )
    )
    return True


def send_weekly_statements(
    db: Database, ctx: MailContext, now: datetime, *, week: date | None = None
) -> int:
    """Queue each client's statement for the last complete week once it is due; returns how many.

    ``week`` (a Monday) sends that week's statements instead, due or not
    (still once each). Each client has its own transaction: one that fails is
    logged and retried at the next run without holding up the others.
    """
    service = ctx.settings.service
    monday = week or last_complete_week(now, service.statement_zone)
    if week is None and now < statement_due(monday, service):
        return 0
    sent = 0
    run = _Run.read(db, monday)
    for cfg in ctx.settings.clients:
        if cfg.weekly_statement == "never" or _statement_key(cfg.id, monday) in run.sent:
            continue
        try:
            with db.transaction() as session:
                queued = _send_one(session, ctx, cfg, monday, now, run)
        except IntegrityError as exc:
            # Most likely another process sent it meanwhile (its once key).
            log.warning("weekly statement for %s not queued: %s", cfg.id, exc.orig or exc)
        except Exception:
            log.exception("weekly statement for %s failed; retried at the next run", cfg.id)
        else:
            sent += queued  # counted once committed
    return sent
