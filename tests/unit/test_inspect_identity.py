"""`maildesk inspect` shows why a From is suspicious and what our server's verdict says."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from maildesk.cli.main import app

CONFIG = """
[service]
support_address = "support@helpdesk.example"
authserv_id = "mx.helpdesk.example"
"""


def _inspect(tmp_path: Path, raw: bytes, *extra: str) -> str:
    (tmp_path / "maildesk.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mail.eml").write_bytes(raw)
    result = CliRunner().invoke(
        app,
        [
            "inspect",
            *extra,
            "--config",
            str(tmp_path / "maildesk.toml"),
            str(tmp_path / "mail.eml"),
        ],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


RAW = (
    b"Authentication-Results: mx.helpdesk.example; dmarc=fail header.from=evil.example\r\n"
    b"Received: from x by mx.helpdesk.example with ESMTP id 1\r\n"
    b"From: it@acme.example <mallory@evil.example>\r\nTo: support@helpdesk.example\r\n"
    b"Subject: Send the backups\r\nMessage-ID: <m.1@evil.example>\r\n\r\nPlease.\r\n"
)


def test_inspect_shows_the_flag_and_the_verdict(tmp_path: Path) -> None:
    out = _inspect(tmp_path, RAW)
    assert "from: mallory@evil.example" in out
    assert "from flag: the display name holds another address" in out
    assert "verdict:   not authenticated: dmarc=fail for evil.example" in out


def test_inspect_json_carries_them(tmp_path: Path) -> None:
    data = json.loads(_inspect(tmp_path, RAW, "--json"))
    assert data["from_flags"] == ["the display name holds another address"]
    assert data["decisions"]["authentication"].startswith("not authenticated")
