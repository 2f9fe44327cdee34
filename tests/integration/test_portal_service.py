"""The portal's "Service level" page in headless Chromium: the figures and the 12-month chart.

Tickets of ten months are driven through the SLA clock functions; the test works out
from its own specs which months have decided targets and what share was met, then
counts the chart's bars in the rendered page and measures their heights.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from maildesk.sla.clock import calendar_for, mark_resolved, mark_responded, start_clock
from maildesk.store.models import Client, Ticket
from tests.integration.portal_helpers import BOSS, PortalDesk
from tests.integration.sla_scenario import bxl
from tests.integration.test_portal_browser import artifacts, browser  # noqa: F401

pytestmark = pytest.mark.integration

# month of 2026: (tickets handled on time, tickets handled late); each is High (1 h / 4 h),
# opened on the month's 2nd at 09:00 or, outside business hours, at the next opening.
MONTHS = {1: (2, 0), 2: (1, 1), 3: (0, 2), 5: (3, 1), 7: (1, 0), 9: (2, 2), 11: (1, 3)}
NOW = bxl(2026, 12, 2, 10)


def fill(desk: PortalDesk) -> None:
    policy = desk.settings.policies["default"]
    cal = calendar_for(policy)
    with desk.db.transaction() as session:
        acme = session.scalars(select(Client).where(Client.key == "acme")).one()
        n = 0
        for month, (good, late) in MONTHS.items():
            start: datetime = cal.next_open(bxl(2026, month, 2, 9))
            for i in range(good + late):
                n += 1
                ticket = Ticket(
                    number=f"2026-9{n:05d}",
                    subject=f"Case {n}",
                    client_id=acme.id,
                    requester=BOSS,
                    priority="high",
                    created_at=start,
                    updated_at=start,
                )
                session.add(ticket)
                session.flush()
                start_clock(ticket, cal, policy, start)
                # on time: answered after 30 business minutes and solved after 2 hours;
                # late: answered after 90 minutes and solved after 5 hours.
                on_time = i < good
                mark_responded(ticket, cal.add_business(start, 30 if on_time else 90))
                mark_resolved(ticket, cal, cal.add_business(start, 120 if on_time else 300))


def test_the_chart_has_a_bar_per_month_with_targets(
    browser: Any,  # noqa: F811
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    desk = PortalDesk(sqlite_url, tmp_path)
    fill(desk)
    desk.at(NOW)
    # The rule, from the specs: both targets of an on-time ticket met, of a late one missed.
    expected = {f"2026-{m:02d}": round(100 * g / (g + late), 1) for m, (g, late) in MONTHS.items()}
    with desk.serve() as served:
        context = browser.new_context(viewport={"width": 1000, "height": 1100})
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text))
        page.set_default_timeout(5000)
        page.goto(served.page(desk.token("acme", BOSS)))
        page.locator("#service-link").click()
        page.wait_for_url(lambda url: url.endswith("/service"))

        bars = page.locator("#chart rect.bar")
        assert bars.count() == len(expected), "one bar per month with a decided target"
        titles = [bars.nth(i).locator("title").text_content() or "" for i in range(bars.count())]
        shown = {t.split(":")[0]: float(t.split("(")[1].split(" ")[0]) for t in titles}
        assert shown == expected
        heights = [bars.nth(i).bounding_box()["height"] for i in range(bars.count())]
        tallest = max(heights)
        for height, percent in zip(heights, shown.values(), strict=True):
            assert abs(height / tallest - percent / max(shown.values())) < 0.02
        assert page.locator("#chart text").filter(has_text="–").count() == 12 - len(expected)

        november = MONTHS[11]
        total = sum(november)
        assert page.locator("#met-response").inner_text() == (
            f"{november[0]} / {total} ({round(100 * november[0] / total, 1)} %)"
        )
        assert page.locator("#breaches tbody tr").count() == 2 * november[1]
        assert page.locator("#satisfaction").inner_text() == "0 satisfied, 0 not satisfied"
        page.screenshot(path=str(artifacts() / "portal-service-level.png"), full_page=True)
        assert not [p for p in problems if "Content Security Policy" in p], problems
        context.close()
    desk.close()
