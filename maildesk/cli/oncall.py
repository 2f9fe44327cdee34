"""`maildesk oncall`: who would be paged, from the rota, overrides and chain in the config.

Answers from the same rules the daemon pages with (``sla.oncall`` and ``sla.paging``), so
what it prints is who gets woken: chain entries are resolved to staff members, and one
that names nobody is shown as such, since it cannot be paged.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import typer

from maildesk.cli.common import ConfigOption, JsonOption, fail, load_config
from maildesk.cli.sla import (
    AtOption,
    ClientOption,
    client_policy,
    command,
    local_time,
    parse_at,
)
from maildesk.sla import oncall
from maildesk.sla.clock import calendar_for
from maildesk.sla.paging import resolve_person

app = typer.Typer(
    help="The on-call rota and escalation chain.",
    no_args_is_help=True,
)


@command(app, "who")
def who(
    at: AtOption = None,
    client: ClientOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who is on call at --at (default now), and who is paged next if nobody acks.

    Level 0 is the person on call (an override for that date, else the weekly rota); the
    policy's chain follows. Also says whether the office is open then (in business hours
    nothing is paged) and which priorities page. Exit status 1 when nobody can be paged.
    """
    settings = load_config(config)
    name, policy = client_policy(settings, client)
    tz = policy.calendar.timezone
    when = parse_at(at, tz)
    cal = calendar_for(policy)
    zone = ZoneInfo(tz)
    on_call = oncall.on_call(policy.oncall, when, tz)
    levels: list[dict[str, Any]] = []
    for level, entry in enumerate(oncall.chain(policy.oncall, when, tz)):
        person = resolve_person(settings, entry)
        levels.append(
            {
                "level": level,
                "entry": entry,
                "name": person.name if person else None,
                "email": person.email if person else None,
            }
        )
    office_open = cal.is_open(when)
    pageable = [lv for lv in levels if lv["email"]]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "at": when.astimezone(zone).isoformat(),
                    "policy": name,
                    "office_open": office_open,
                    "pages": list(policy.oncall.pages),
                    "ack_minutes": policy.oncall.ack_minutes,
                    "on_call": on_call,
                    "chain": levels,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(f"at {local_time(when, zone)}, policy {name}:")
        if office_open:
            typer.echo("  the office is open: nothing is paged now, the team queue handles tickets")
        else:
            typer.echo(
                f"  out of business hours: {', '.join(policy.oncall.pages) or 'no'} priority "
                f"tickets page; the next level after {policy.oncall.ack_minutes} min without ack"
            )
        typer.echo(f"  on call: {on_call or 'nobody'}")
        for lv in levels:
            who_text = f"{lv['name']} <{lv['email']}>" if lv["email"] else "names no staff member"
            typer.echo(f"  level {lv['level']}: {lv['entry']} - {who_text}")
    if not pageable:
        fail(f"nobody can be paged under policy {name}: set its [oncall] rota or chain", 1)
