"""`maildesk inspect` on every mail of the shared corpus: read, or refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maildesk.cli.main import app
from tests.corpus import corpus_dir, message_files

pytestmark = pytest.mark.corpus

KINDS = {"loop", "feedback", "bounce", "auto_reply", "mailing_list", "too_large", "normal"}
SOURCES = (
    "zammad",
    "flanker",
    "ruby-mail",
    "enmime",
    "request-tracker",
    "otrs-3.1",
    "django-helpdesk",
    "sisimai-set-of-emails",
)


def test_every_corpus_message_goes_through_inspect() -> None:
    root = corpus_dir()
    runner = CliRunner()
    files = list(message_files(*SOURCES))
    assert len(files) > 1000, f"expected the whole corpus under {root}"
    problems: list[str] = []
    unparseable = 0
    kinds: dict[str, int] = {}
    null_senders = 0
    for path in files:
        result = runner.invoke(app, ["inspect", "--json", str(path)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            problems.append(f"{path.relative_to(root)}: {result.exception!r}")
            continue
        data = json.loads(result.stdout)
        if result.exit_code == 0:
            assert data["parsed"] is True
            # A null sender (From: <>) parses; the pipeline quarantines such mail
            # unless a rule recognises it as machine-written (most are bounces).
            null_senders += not data["from"]
            assert data["message_id"], path
            assert data["decisions"]["kind"] in KINDS, path
            kinds[data["decisions"]["kind"]] = kinds.get(data["decisions"]["kind"], 0) + 1
        elif result.exit_code == 1:
            assert data["parsed"] is False and data["reason"], path
            unparseable += 1
        else:
            problems.append(f"{path.relative_to(root)}: exit {result.exit_code}")
    assert problems == []
    assert null_senders < 60, "an empty From is rare outside bounces"
    assert kinds.get("bounce", 0) > 500, f"the corpus is mostly bounces: {kinds}"
    assert unparseable < len(files) * 0.05, "most real-world mail must be readable"


def test_inspect_text_output(tmp_path: Path) -> None:
    mail = tmp_path / "m.eml"
    mail.write_bytes(
        b"From: Eva <eva@acme.example>\r\nTo: support@helpdesk.example\r\n"
        b"Subject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <a1@acme.example>\r\n\r\nHello\r\n"
    )
    result = CliRunner().invoke(app, ["inspect", str(mail)])
    assert result.exit_code == 0, result.output
    assert "eva@acme.example" in result.stdout
    assert "Café" in result.stdout
    assert "a1@acme.example" in result.stdout
    assert "kind:      normal (rule default" in result.stdout
    assert "priority:  normal (policy default)" in result.stdout
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\xff\xfe garbage without headers")
    refused = CliRunner().invoke(app, ["inspect", str(junk)])
    assert refused.exit_code == 1
    assert "unparseable:" in refused.stdout
