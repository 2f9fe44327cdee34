"""The SLA warn columns: what ``sla.clock`` stores beside the due times, and what the sweep wants.

The sweep reads only tickets whose ``response_warn_at`` / ``resolution_warn_at`` or due time
is reached, and recomputes the warning point of what it reads. So the one property that
matters is: while a target runs and its warning is unsent, its warn column is set and no
later than the real warning point (``timers.warning_at``), or than the instant of the
transition itself when that point is already past (a sweep cannot run earlier anyway);
otherwise a warning would be late or lost. The examples pin each transition's rule; the
property test drives random sequences of transitions and checks the invariant after each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.policy import CalendarConfig, Policy
from maildesk.sla import timers
from maildesk.sla.clock import (
    calendar_for,
    mark_resolved,
    mark_responded,
    pause_clock,
    reprioritise,
    resume_clock,
    start_clock,
    targets_for,
)
from maildesk.sla.escalation import notice_key, pending_notices, warn_times
from maildesk.store.models import Ticket

BRUSSELS = ZoneInfo("Europe/Brussels")
POLICY = Policy(
    calendar=CalendarConfig(
        timezone="Europe/Brussels",
        hours={day: "08:30-18:00" for day in ("mon", "tue", "wed", "thu", "fri")},
        holidays="BE",
    )
)
CAL = calendar_for(POLICY)
NOTHING: frozenset[str] = frozenset()


def bxl(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BRUSSELS)


def new_ticket(priority: str = "normal") -> Ticket:
    """A transient ticket (no session: the clock records no events)."""
    return Ticket(id=7, number="2026-000007", status="open", priority=priority, policy="default")


def true_points(ticket: Ticket) -> timers.Warnings:
    return timers.warning_at(
        timers.SlaState.from_record(ticket),
        CAL,
        targets_for(POLICY, ticket.priority),
        POLICY.sla.warn_at_percent,
    )


def test_start_stores_the_warning_points() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))  # Tuesday; Normal 4 h / 2 days
    assert ticket.response_warn_at == bxl(11, 24, 13)  # 3 of 4 h used
    # 16 h: due Wednesday 16:30; 12 h used (4 h left) at Wednesday 12:30.
    assert ticket.resolution_due_at == bxl(11, 25, 16, 30)
    assert ticket.resolution_warn_at == bxl(11, 25, 12, 30)


def test_a_reply_stops_the_response_warning_and_keeps_the_resolution_one() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))
    mark_responded(ticket, bxl(11, 24, 11))
    assert ticket.response_warn_at is None
    assert ticket.resolution_warn_at == bxl(11, 25, 12, 30)


def test_a_warning_already_sent_is_not_re_armed_by_a_reply() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))
    ticket.resolution_warn_at = None  # what the sweep leaves once the warning is sent
    mark_responded(ticket, bxl(11, 24, 11))
    assert ticket.resolution_warn_at is None


def test_pause_and_resolve_clear_resume_and_reopen_look_at_once() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))
    pause_clock(ticket, CAL, bxl(11, 24, 11))
    assert (ticket.response_warn_at, ticket.resolution_warn_at) == (None, None)
    # resume does not know the policy: "look now", the sweep computes the exact point
    resume_clock(ticket, CAL, bxl(11, 24, 15))
    assert ticket.response_warn_at == ticket.resolution_warn_at == bxl(11, 24, 15)
    assert ticket.response_warn_at is not None and ticket.response_warn_at.tzinfo == UTC
    mark_resolved(ticket, CAL, bxl(11, 24, 16))
    assert ticket.response_warn_at is None
    assert ticket.resolution_warn_at is None
    resume_clock(ticket, CAL, bxl(11, 25, 9))  # reopened
    assert ticket.response_warn_at == ticket.resolution_warn_at == bxl(11, 25, 9)


def test_a_priority_change_stores_the_new_points() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))
    ticket.priority = "high"
    reprioritise(ticket, CAL, POLICY, "normal", bxl(11, 24, 10, 30))
    points = true_points(ticket)
    assert ticket.response_warn_at == points.response == bxl(11, 24, 10, 45)
    assert ticket.resolution_warn_at == points.resolution


def test_what_the_sweep_wants_stored() -> None:
    ticket = new_ticket()
    start_clock(ticket, CAL, POLICY, bxl(11, 24, 10))
    pause_clock(ticket, CAL, bxl(11, 24, 11))
    resume_clock(ticket, CAL, bxl(11, 24, 15))  # 3 h of response left: due 18:00
    assert ticket.response_due_at == bxl(11, 24, 18)
    at = bxl(11, 24, 15, 1)
    exact = true_points(ticket)
    assert exact.response == bxl(11, 24, 17)
    assert warn_times(ticket, POLICY, at, NOTHING) == {
        "response": exact.response,
        "resolution": exact.resolution,
    }
    sent = frozenset({notice_key(7, "response", "warning")})
    assert warn_times(ticket, POLICY, at, sent)["response"] is None
    # a target already due is selected by its due time; its warn column is not needed
    late = bxl(11, 24, 18)
    assert warn_times(ticket, POLICY, late, NOTHING)["response"] is None
    assert [n.level for n in pending_notices(ticket, POLICY, late, NOTHING)] == ["breach"]
    ticket.status = "closed"
    assert warn_times(ticket, POLICY, at, NOTHING) == {"response": None, "resolution": None}


STEPS = st.lists(
    st.tuples(
        st.sampled_from(("pause", "resume", "reply", "resolve", "priority", "sent")),
        st.integers(min_value=1, max_value=3 * 24 * 60),
        st.sampled_from(("high", "normal", "low")),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    start_minute=st.integers(min_value=0, max_value=14 * 24 * 60),
    priority=st.sampled_from(("high", "normal", "low")),
    steps=STEPS,
)
def test_a_warn_column_is_never_later_than_the_warning_point(
    start_minute: int, priority: str, steps: list[tuple[str, int, str]]
) -> None:
    """After any transitions: unsent warning of a running target => warn set and not late.

    Not late: no later than ``max(point, now)``, so that every sweep from ``now`` on finds
    the ticket exactly when it would find the warning due.
    """
    now = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(minutes=start_minute)
    ticket = new_ticket(priority)
    start_clock(ticket, CAL, POLICY, now)
    sent: set[str] = set()
    for action, minutes, other in steps:
        now += timedelta(minutes=minutes)
        if action == "pause":
            pause_clock(ticket, CAL, now)
        elif action == "resume":
            resume_clock(ticket, CAL, now)
        elif action == "reply":
            mark_responded(ticket, now)
        elif action == "resolve":
            mark_resolved(ticket, CAL, now)
        elif action == "priority":
            old, ticket.priority = ticket.priority, other
            reprioritise(ticket, CAL, POLICY, old, now)
        else:  # the sweep sent whatever warning is reached, and cleared its column
            for target in ("response", "resolution"):
                point = getattr(true_points(ticket), target)
                if point is not None and point <= now:
                    sent.add(target)
                    setattr(ticket, f"{target}_warn_at", None)
        points = true_points(ticket)
        for target in ("response", "resolution"):
            stored = getattr(ticket, f"{target}_warn_at")
            point = getattr(points, target)
            if point is None:
                assert stored is None, f"{target} does not run but has a warn time"
            elif target not in sent:
                assert stored is not None and stored <= max(point, now), (target, stored, point)
