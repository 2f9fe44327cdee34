"""Who gets the staff notices, as each contract's ``notices`` block says, over the daemon.

Real Dovecot, real SMTP sink, ``Maildesk.run_once``: a client's new report and then its
reply; the addresses the sink received each notice for are computed here from the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.core.clock import FakeClock
from maildesk.daemon import Maildesk
from maildesk.store.models import Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, settings_for
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
TUESDAY = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
CLIENT = "boss@acme.example"
ANN, BOB, CID = (f"{n}@helpdesk.example" for n in ("ann", "bob", "cid"))
TEAM = "team@helpdesk.example"
STAFF = "".join(
    f'\n[[staff]]\nname = "{a.split("@")[0].title()}"\nemail = "{a}"\n' for a in (ANN, BOB, CID)
)
ALL = sorted((ANN, BOB, CID))


def _rule(audience: str, assignee: str | None, rota: str | None) -> list[str]:
    """The rule as the docs state it, written out independently of maildesk."""
    if audience == "none":
        return []
    if audience == "team":
        return [TEAM]
    if audience == "assignee":
        return [assignee] if assignee else ALL
    if audience == "oncall":
        return [rota] if rota else ALL
    return ALL


CASES = [
    # (notices block or None for the default, rota person, assignee before the reply)
    (None, BOB, None),
    (None, BOB, CID),
    (None, None, None),
    ({"new_ticket": "all", "client_reply": "none"}, BOB, CID),
    ({"new_ticket": "none", "client_reply": "oncall"}, BOB, CID),
    ({"new_ticket": "team", "client_reply": "team", "team": TEAM}, BOB, None),
    ({"new_ticket": "assignee", "client_reply": "all"}, CID, ANN),
]


def _notified(sink: SmtpSink, since: int) -> list[list[str]]:
    """The recipients of each mail the sink got after the first ``since``, but the client's."""
    return [sorted(m.rcpt_tos) for m in sink.messages[since:] if m.rcpt_tos != [CLIENT]]


@pytest.mark.parametrize(("notices", "rota", "assignee"), CASES)
def test_each_choice_sends_to_exactly_the_right_addresses(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    notices: dict[str, str] | None,
    rota: str | None,
    assignee: str | None,
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    extra = STAFF
    if rota:
        extra += f'\n[policies.default.oncall]\nrota = ["{rota.split("@")[0].title()}"]\n'
    if notices:
        extra += "\n[policies.default.notices]\n" + "".join(
            f'{key} = "{value}"\n' for key, value in notices.items()
        )
    settings, _ = settings_for(db_url, tmp_path, dovecot, smtp_sink, extra=extra)
    desk = Maildesk(settings, clock=FakeClock(TUESDAY))
    desk.prepare()
    try:
        report, _ = mail(sender=CLIENT, subject="Quiz grades missing")
        dovecot.append("INBOX", report)
        desk.run_once()
        first = _notified(smtp_sink, 0)
        seen = len(smtp_sink.messages)
        with desk.db.transaction() as session:
            ticket = session.scalars(select(Ticket)).one()
            ticket.assignee = assignee
            tag = f"[#{ticket.number}]"
        answer, _ = mail(sender=CLIENT, subject=f"Re: Quiz grades missing {tag}", body="Still.\n")
        dovecot.append("INBOX", answer)
        desk.run_once()
        second = _notified(smtp_sink, seen)
    finally:
        desk.db.dispose()
    chosen = notices or {"new_ticket": "oncall", "client_reply": "assignee"}
    expect_new = _rule(chosen["new_ticket"], None, rota)
    expect_reply = _rule(chosen["client_reply"], assignee, rota)
    assert first == ([expect_new] if expect_new else [])
    assert second == ([expect_reply] if expect_reply else [])


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ('new_ticket = "team"', "needs a team address"),
        ('client_reply = "everyone"', "client_reply"),
        ('team = "not-an-address"', "not an email address"),
    ],
)
def test_a_bad_notices_block_names_the_key(tmp_path: Path, block: str, problem: str) -> None:
    from maildesk.core.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        settings_for(
            "sqlite:///x.db", tmp_path, extra=f"{STAFF}\n[policies.default.notices]\n{block}\n"
        )
    assert problem in str(caught.value)
    assert "notices" in str(caught.value)


def test_a_team_address_that_is_the_support_address_is_refused(tmp_path: Path) -> None:
    from maildesk.core.config import ConfigError
    from tests.integration.helpers import SUPPORT

    with pytest.raises(ConfigError) as caught:
        settings_for(
            "sqlite:///x.db",
            tmp_path,
            extra=f'{STAFF}\n[policies.default.notices]\nteam = "{SUPPORT.upper()}"\n',
        )
    assert "policies.default.notices.team is the support address" in str(caught.value)
