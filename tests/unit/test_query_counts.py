"""How many SQL statements one mail costs, so that an N+1 or a repeated read shows up here.

Measured on SQLite, statements as the driver sees them (``before_cursor_execute``;
BEGIN counts, COMMIT does not). Issue 7 brought a new report from 28 to 22 and a
follow-up from 22 to 13 (the sender is now found without a query); a change that adds a
query raises these bounds on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import event

from maildesk.core.clock import FakeClock
from maildesk.core.config import settings_from_toml
from maildesk.daemon import Maildesk
from maildesk.store.directory import client_info, sync_clients

REPORT_STATEMENTS = 22
FOLLOW_UP_STATEMENTS = 13

CONFIG = """
[service]
support_address = "support@helpdesk.example"
support_name = "Helpdesk"
timezone = "Europe/Brussels"
data_dir = "{data}"

[database]
url = "sqlite:///{data}/maildesk.db"

[intake.listener]
enabled = false

[outgoing]
transport = "maildir"

[policies.default.required]
url = true
screenshot = true
steps = true

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[clients]]
id = "acme"
name = "Acme Learning"
domains = ["acme.example"]
match_domain = true
contacts = [{{ email = "boss@acme.example", name = "Boss", authorised = true }}]
"""


@dataclass
class Counted:
    desk: Maildesk
    statements: list[str] = field(default_factory=list)

    def receive(self, raw: bytes, key: str) -> list[str]:
        """The statements one mail took."""
        self.statements.clear()
        self.desk.receiver.receive(raw, key)
        return list(self.statements)


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[Counted]:
    settings = settings_from_toml(CONFIG.format(data=tmp_path), "test")
    desk = Maildesk(settings, FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)))
    desk.prepare()
    counted = Counted(desk)
    event.listen(
        desk.db.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: counted.statements.append(statement),
    )
    yield counted
    desk.db.dispose()


def _mail(number: int, body: str, reply_to: int | None = None, screenshots: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Joe <joe@acme.example>"
    msg["To"] = "support@helpdesk.example"
    msg["Subject"] = "Login broken" if reply_to is None else "Re: Login broken"
    msg["Message-ID"] = f"<m{number}@acme.example>"
    msg["Date"] = "Mon, 02 Mar 2026 10:00:00 +0100"
    if reply_to is not None:
        msg["In-Reply-To"] = msg["References"] = f"<m{reply_to}@acme.example>"
    msg.set_content(body)
    for i in range(screenshots):
        msg.add_attachment(b"\x89PNG" + bytes(40), "image", "png", filename=f"shot{i}.png")
    return msg.as_bytes()


def test_a_report_and_a_follow_up_take_few_statements(counted: Counted) -> None:
    report = counted.receive(_mail(1, "The login page is broken.\n"), "k1")
    follow_up = counted.receive(_mail(2, "It happens at https://x.example/login\n", 1), "k2")
    assert len(report) <= REPORT_STATEMENTS, "\n".join(report)
    assert len(follow_up) <= FOLLOW_UP_STATEMENTS, "\n".join(follow_up)


def test_a_follow_up_costs_the_same_however_long_the_thread(counted: Counted) -> None:
    """The intake check reads the whole thread: in one query, not one per message (N+1)."""
    counted.receive(_mail(1, "The login page is broken.\n"), "k1")
    first = counted.receive(_mail(2, "More: it fails.\n", 1, screenshots=2), "k2")
    for number in range(3, 9):
        counted.receive(
            _mail(number, f"Still broken ({number}).\n", 1, screenshots=2), f"k{number}"
        )
    later = counted.receive(_mail(9, "And again.\n", 1, screenshots=2), "k9")
    assert len(later) == len(first)
    assert sum("FROM attachments" in s for s in later) == 0
    assert sum("FROM messages" in s for s in later) == sum("FROM messages" in s for s in first)


def test_the_ledger_is_read_once_per_mail(counted: Counted) -> None:
    report = counted.receive(_mail(1, "The login page is broken.\n"), "k1")
    follow_up = counted.receive(_mail(2, "It happens at https://x.example/login\n", 1), "k2")
    for statements in (report, follow_up):
        assert sum("FROM ledger_entries" in s for s in statements) == 2  # bundles, sums


def test_client_rows_come_from_the_process_copy(counted: Counted) -> None:
    counted.receive(_mail(1, "The login page is broken.\n"), "k1")  # the copy is read here
    follow_up = counted.receive(_mail(2, "It happens at https://x.example/login\n", 1), "k2")
    # Recognising the sender (ingest/roles.py) reads neither contacts nor clients.
    assert sum("FROM clients" in s or "FROM contacts" in s for s in follow_up) == 0


def test_the_client_copy_follows_a_new_sync(counted: Counted) -> None:
    desk = counted.desk
    with desk.db.transaction() as session:
        before = client_info(session, 1)
    assert before is not None and before.name == "Acme Learning"
    renamed = desk.settings.clients[0].model_copy(update={"name": "Acme Academy"})
    with desk.db.transaction() as session:
        sync_clients(session, (renamed,))
    with desk.db.transaction() as session:
        after = client_info(session, 1)
        assert client_info(session, 999) is None
    assert after is not None and (after.key, after.name) == ("acme", "Acme Academy")
