"""Who is on call, who comes next, and whether a ticket pages anyone (the pure part).

Some contracts promise an emergency service out of office hours for the most urgent
priority only: the on-call technician is paged, and if nobody acknowledges within a few
minutes the page goes up the chain (a second technician, a manager). These rules decide who
gets woken at night, so they are pure functions of the policy's ``[oncall]`` section and an
instant; the sweep that sends and escalates the pages lives elsewhere.

Rules:

- **Overrides first.** An override names a person for an inclusive range of *local* dates
  (whole days, midnight to midnight in the policy's time zone). When several cover the same
  day, the first one in the config wins.
- **Then the rota.** The rota hands over weekly on ``handover_weekday`` at ``handover_time``
  local wall-clock time (so a DST change does not move the handover hour). Person 0 takes
  over at the first handover on or before ``rota_start``: when ``rota_start`` is itself a
  handover day (the expected case), at ``handover_time`` that day. Each later handover
  moves to the next person, cycling; before the anchor the rota counts backwards, so every
  instant has someone. An empty rota and no override give None.
- **Chain.** Level 0 is whoever is on call now, then the configured chain in order, each
  person once (a name already earlier in the chain is skipped).
- **Paging.** A ticket pages when it arrives out of business hours and its priority is one
  the policy pages for. Escalation to the next level is due ``ack_minutes`` of real time
  after a page: at night there are no business minutes to count.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from maildesk.core.policy import WEEKDAYS, OnCallConfig
from maildesk.sla.calendar import BusinessCalendar

__all__ = ["chain", "next_level_due", "on_call", "rota_index", "should_page"]

_WEEK = timedelta(days=7)


def on_call(cfg: OnCallConfig, at: datetime, tz: str) -> str | None:
    """The person on call at ``at``: an override covering the local date, else the rota."""
    local = _aware(at).astimezone(ZoneInfo(tz))
    today = local.date()
    for override in cfg.overrides:
        if override.start <= today <= override.end:
            return override.person
    if not cfg.rota:
        return None
    return cfg.rota[rota_index(cfg, local.replace(tzinfo=None)) % len(cfg.rota)]


def rota_index(cfg: OnCallConfig, local_wall: datetime) -> int:
    """How many handovers separate person 0's first shift from the local wall time given.

    0 during person 0's first week, 1 the week after, -1 the week before; not reduced
    modulo the rota's length.
    """
    handover_day = WEEKDAYS.index(cfg.handover_weekday)
    anchor_day = cfg.rota_start - timedelta(days=(cfg.rota_start.weekday() - handover_day) % 7)
    anchor = datetime.combine(anchor_day, _handover_time(cfg))
    return (local_wall - anchor) // _WEEK


def chain(cfg: OnCallConfig, at: datetime, tz: str) -> tuple[str, ...]:
    """Who to page, level by level: on call now, then ``cfg.chain``, without repeats."""
    now = on_call(cfg, at, tz)
    people = (now, *cfg.chain) if now is not None else cfg.chain
    return tuple(dict.fromkeys(people))


def should_page(cfg: OnCallConfig, priority: str, cal: BusinessCalendar, at: datetime) -> bool:
    """Whether a ticket of ``priority`` arriving at ``at`` pages the on-call person."""
    return priority in cfg.pages and not cal.is_open(at)


def next_level_due(paged_at: datetime, cfg: OnCallConfig) -> datetime:
    """When an unacknowledged page goes to the next level: ``ack_minutes`` of real time later."""
    return _aware(paged_at).astimezone(UTC) + timedelta(minutes=cfg.ack_minutes)


def _handover_time(cfg: OnCallConfig) -> time:
    try:
        return time.fromisoformat(cfg.handover_time)
    except ValueError:
        raise ValueError(
            f"on-call handover_time {cfg.handover_time!r} is not a time of day (HH:MM)"
        ) from None


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"on-call times need a timezone-aware datetime, got {at!r}")
    return at
