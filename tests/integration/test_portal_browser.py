"""The client portal in a real browser: headless Chromium driven by Playwright.

A client opens the link from a mail, reads the hours the ledger holds, and
accepts a quote with the button; the same works with JavaScript off, since
the page has none. SQLite is enough here: the HTTP tests run both databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from maildesk.core.durations import format_minutes
from maildesk.store.models import Event
from tests.integration.portal_helpers import BETA, BOSS, PortalDesk, tell_story

pytestmark = pytest.mark.integration

ARTIFACTS_ENV = "MAILDESK_TEST_ARTIFACTS"
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def artifacts() -> Path:
    folder = Path(os.environ.get(ARTIFACTS_ENV, "") or REPO / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_a_client_reads_the_hours_and_accepts_a_quote(
    browser: Any, sqlite_url: str, tmp_path: Path
) -> None:
    desk = PortalDesk(sqlite_url, tmp_path)
    story = tell_story(desk)
    problems: list[str] = []
    with desk.serve() as served:
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text))
        page.set_default_timeout(5000)
        page.goto(served.page(desk.token("acme", BOSS)))

        assert page.locator("#balance").inner_text() == format_minutes(desk.balance("acme"))
        assert page.locator("#used-week").inner_text() == "1 h 45 min"
        assert page.title() == "Support for Acme Learning"
        css = page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")
        assert css != "none", "portal.css was not applied"
        quote = page.locator(f"#quote-{story.acme_quote}")
        assert "Upgrade the LMS" in quote.inner_text()

        quote.get_by_role("button", name="Accept").click()
        page.wait_for_url(lambda url: url.endswith(f"?answered={story.acme_quote}"))
        flash = page.locator(".flash").inner_text()
        assert flash == f"Quote {story.script} accepted. Thank you."
        assert page.locator(f"#quote-{story.acme_quote}").count() == 0
        shot = artifacts() / "portal.png"
        shot.unlink(missing_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        context.close()
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000

    assert desk.quote_row(story.acme_quote).status == "accepted"
    assert desk.quote_row(story.acme_quote).answered_by == BOSS
    ticket_id = desk.ticket(story.script).id
    with desk.db.session() as session:
        events = session.scalars(
            select(Event).where(Event.ticket_id == ticket_id, Event.kind == "quote_accepted")
        ).all()
        assert [(e.actor, e.detail["via"]) for e in events] == [(BOSS, "portal")]
    desk.close()


def test_the_page_works_without_javascript(browser: Any, sqlite_url: str, tmp_path: Path) -> None:
    desk = PortalDesk(sqlite_url, tmp_path)
    story = tell_story(desk)
    with desk.serve() as served:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(served.page(desk.token("beta", BETA)))
        assert page.locator("#balance").inner_text() == format_minutes(desk.balance("beta"))
        page.get_by_role("button", name="Aanvaarden").click()
        page.wait_for_url(lambda url: url.endswith(f"?answered={story.beta_quote}"))
        assert page.locator(".flash").inner_text() == f"Offerte {story.beta} aanvaard. Dank u."
        context.close()
    assert desk.quote_row(story.beta_quote).status == "accepted"
    assert desk.quote_row(story.beta_quote).answered_by == BETA
    desk.close()
