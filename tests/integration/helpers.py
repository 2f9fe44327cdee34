"""Building blocks for integration tests: settings for the real servers, test mails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path

from maildesk.core.clock import Clock
from maildesk.core.config import Settings
from maildesk.daemon import Maildesk
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp_sink import Received, SmtpSink

IMAP_PASSWORD_ENV = "MAILDESK_TEST_IMAP_PASSWORD"
SUPPORT = "support@helpdesk.example"


STAFF = "ann@helpdesk.example"
STAFF_ANN = f"""
[[staff]]
name = "Ann"
email = "{STAFF}"
"""

# A client whose people all write from acme.example (domain matching), one of them
# authorised. No staff: tests of staff behaviour add STAFF_ANN.
CLIENT_ACME = """
[[clients]]
id = "acme"
name = "Acme Learning"
domains = ["acme.example"]
match_domain = true
contacts = [{ email = "boss@acme.example", name = "Boss", authorised = true }]
"""


def settings_for(
    db_url: str,
    tmp_path: Path,
    dovecot: DovecotServer | None = None,
    sink: SmtpSink | None = None,
    extra: str = "",
) -> tuple[Settings, Path]:
    """Settings (and the TOML file they came from) wired to the test servers."""
    from maildesk.core.config import settings_from_toml

    parts = [
        f"""
[service]
support_address = "{SUPPORT}"
support_name = "Helpdesk"
timezone = "Europe/Brussels"
data_dir = "{tmp_path / "var"}"
instance_id = "maildesk-test"

[database]
url = "{db_url}"

[intake.listener]
enabled = false

[ops]
port = 0
"""
    ]
    if dovecot is not None:
        parts.append(
            f"""
[[intake.imap]]
name = "test"
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{dovecot.user}"
password_env = "{IMAP_PASSWORD_ENV}"
batch_size = 2
poll_interval = 0.5
timeout = 10
"""
        )
    if sink is not None:
        parts.append(
            f"""
[outgoing]
transport = "smtp"
flush_interval = 0.5
retry_base_seconds = 1

[outgoing.smtp]
host = "{sink.host}"
port = {sink.port}
security = "plain"
timeout = 10
"""
        )
    if "[[clients]]" not in extra:
        parts.append(CLIENT_ACME)
    parts.append(extra)
    text = "\n".join(parts)
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    return settings_from_toml(text, str(path)), path


def mail(
    sender: str = "client@acme.example",
    subject: str = "Login page broken",
    body: str = "Hello,\n\nthe login page shows an error.\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    to: str = SUPPORT,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> tuple[bytes, str]:
    """A plain test mail and its Message-ID (without brackets)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    mid = message_id or make_msgid(domain="acme.example")[1:-1]
    msg["Message-ID"] = f"<{mid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=SMTP_POLICY), mid


def png(size: int = 5000) -> tuple[str, str, bytes]:
    """A screenshot-sized PNG attachment (content is not decoded by maildesk)."""
    return ("screenshot.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256))


@contextmanager
def running(settings: Settings, clock: Clock | None = None) -> Iterator[Maildesk]:
    """``maildesk run`` in a thread of the test, stopped (and checked stopped) on exit."""
    desk = Maildesk(settings, clock=clock)
    desk.prepare()
    stop = threading.Event()
    runner = threading.Thread(target=desk.run_forever, args=(stop,), daemon=True)
    runner.start()
    try:
        yield desk
    finally:
        stop.set()
        runner.join(timeout=30)
        desk.db.dispose()
    assert not runner.is_alive(), "the daemon did not stop"


def on_test_servers(example: Settings, test: Settings, data_dir: Path) -> Settings:
    """An example contract as written, its database, intake, relay and ops on the test servers."""
    return example.model_copy(
        update={
            "service": example.service.model_copy(update={"data_dir": data_dir}),
            "database": test.database,
            "intake": test.intake,
            "outgoing": test.outgoing,
            "ops": test.ops,
        }
    )


def plain_text(received: Received) -> str:
    """A delivered mail's plain-text body, its white space folded to single spaces."""
    body = received.message.get_body(("plain",))
    assert body is not None
    return " ".join(body.get_content().split())
