"""The command line stays cheap: ``maildesk --help`` imports none of the heavy libraries
nor any command, and a command imports only its own module. Checked on ``sys.modules`` of
a real process, not with a timer; the CPU times are in ``bench/cli_startup.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maildesk.cli.main import COMMANDS, load_command

ROOT = Path(__file__).resolve().parents[2]

#: Libraries and maildesk modules that cost tenths of a second to import.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "pydantic",
    "openpyxl",
    "aiosmtpd",
    "apscheduler",
    "jinja2",
    "starlette",
    "uvicorn",
    "imapclient",
    "mailparser",
    "holidays",
    "rich",
    "maildesk.daemon",
    "maildesk.demo",
    "maildesk.store",
    "maildesk.core.config",
)

PROBE = """
import json, sys
from maildesk.cli.main import main
sys.argv = ["maildesk", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n@@MODULES@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imports(args: list[str], cwd: Path) -> tuple[int, set[str], str]:
    """Run ``maildesk ARGS`` in a fresh interpreter; its exit code, modules and output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MAILDESK_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )
    output, _, report = result.stdout.rpartition("\n@@MODULES@@")
    data = json.loads(report)
    return data["code"], set(data["modules"]), output + result.stderr


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


def test_help_imports_no_heavy_module_and_no_command(tmp_path: Path) -> None:
    code, modules, output = _imports(["--help"], tmp_path)
    assert code == 0, output
    for name in COMMANDS:
        assert name in output
    assert _loaded(modules, HEAVY) == []
    commands = {m for m in modules if m.startswith("maildesk.cli.")}
    assert commands == {"maildesk.cli.main"}


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    code, _, output = _imports(["db", "upgrade"], tmp_path)
    assert code == 0, output
    code, modules, output = _imports(["tickets", "list"], tmp_path)
    assert code == 0, output
    assert "no tickets" in output
    assert _loaded(modules, HEAVY) == [
        "holidays",  # the queue's SLA state is counted over the business calendar
        "maildesk.core.config",
        "maildesk.store",
        "pydantic",
        "sqlalchemy",
    ], "only the config and the database are needed to list tickets"
    commands = {m for m in modules if m.startswith("maildesk.cli.")}
    assert commands == {
        "maildesk.cli.main",
        "maildesk.cli.common",
        "maildesk.cli.tickets",
        "maildesk.cli.ticket_actions",  # the ticket group's commands that change tickets
        "maildesk.cli.client_edits",  # the --by option those share with clients
    }


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_line_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    first_paragraph = (command.help or "").split("\n\n")[0]
    assert " ".join(first_paragraph.split()) == COMMANDS[name][1]


def test_the_schema_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from maildesk.store.db import _listed_head, alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert _listed_head() == script.get_current_head()
