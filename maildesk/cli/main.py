"""The ``maildesk`` command line: the top-level options and the table of commands.

Exit codes: 0 ok, 1 the work failed (a mailbox unreachable, a mail not
found), 2 bad usage or bad configuration (a read-only data folder, an unset
secret), 3 ``run`` stopped because its SQLite file was deleted or replaced.

Every command lives in its own module under ``maildesk/cli/`` and is imported only
when it runs: ``maildesk --help`` lists the commands from :data:`COMMANDS` below
without importing any of them (nor SQLAlchemy, Alembic, the daemon...), and
``maildesk tickets list`` imports the tickets module alone. To add a command, add a
line to :data:`COMMANDS`; never import a command module here.
``tests/unit/test_cli_lazy.py`` checks both rules.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from maildesk.logs import LogLevel, setup_logging

#: name -> ("module:attribute", one-line help). The attribute is a ``typer.Typer``
#: (a command group) or a function (one command). The help line is what
#: ``maildesk --help`` shows; it must be the first line of the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "maildesk.cli.run:run",
        "Run the helpdesk: take in mail, open and update tickets, send what is due.",
    ),
    "check-config": (
        "maildesk.cli.check:check_config",
        "Validate the config file and say what maildesk would do with it.",
    ),
    "status": (
        "maildesk.cli.status:status",
        "Show the outbox depth and its oldest unsent mail, quarantine, open tickets, mailboxes.",
    ),
    "tickets": (
        "maildesk.cli.tickets:app",
        "The ticket queue: list, look at and change tickets.",
    ),
    "clients": ("maildesk.cli.clients:app", "Clients and their prepaid hours."),
    "contacts": (
        "maildesk.cli.contacts:app",
        "A client's contacts: who may write in and draw on its hours.",
    ),
    "quarantine": (
        "maildesk.cli.quarantine:app",
        "Mail set aside: list, show, release or drop it.",
    ),
    "statements": ("maildesk.cli.statements:app", "Weekly statements of the clients' hours."),
    "billing": (
        "maildesk.cli.billing:app",
        "Invoicing: what is to be invoiced, and what was.",
    ),
    "sla": (
        "maildesk.cli.sla:app",
        "SLA deadlines: when a report is due, and how a ticket's deadline was reached.",
    ),
    "oncall": ("maildesk.cli.oncall:app", "The on-call rota and escalation chain."),
    "inspect": (
        "maildesk.cli.inspect:inspect",
        "Show how maildesk reads a mail and what it would decide, without storing anything.",
    ),
    "demo": (
        "maildesk.cli.demo:demo",
        "Replay a scripted week of an example contract and print what maildesk did.",
    ),
    "db": ("maildesk.cli.db:app", "The database: schema upgrades and backups."),
    "mailbox": (
        "maildesk.cli.mailbox:app",
        "Connect a mailbox (OAuth2 sign-in) and check that maildesk can use it.",
    ),
}


def load_command(name: str) -> Any:
    """Import command ``name`` and return it as a click command (what Typer runs)."""
    target, _ = COMMANDS[name]
    module_name, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    # Mounted on a root like ``app`` (plain help, no completion options), as
    # ``app.add_typer``/``app.command`` would, then taken out again.
    root = typer.Typer(add_completion=False, rich_markup_mode=None)
    if isinstance(obj, typer.Typer):
        root.add_typer(obj, name=name)
    else:
        root.command(name)(obj)
        root.callback()(lambda: None)  # keep the group: one command would become the root
    return typer.main.get_command(root).commands[name]  # type: ignore[attr-defined]


class _Listed(typer.core.TyperCommand):
    """A command as ``--help`` lists it: its name and help line, nothing imported."""


class LazyGroup(TyperGroup):
    """The top-level group: commands from :data:`COMMANDS`, imported when invoked."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = _Listed(cmd_name, help=COMMANDS[cmd_name][1])
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Listed) and name is not None:
            command = load_command(name)
        return name, command, rest


app = typer.Typer(
    cls=LazyGroup,
    help=(
        "maildesk turns a support mailbox into a helpdesk: ticket numbers, required "
        "information, SLA clocks over a business calendar, on-call paging and prepaid hours.\n\n"
        "Without --config (or MAILDESK_CONFIG) it runs on embedded defaults: SQLite under "
        "./var/, mail taken in by its own LMTP listener on 127.0.0.1:8024, outgoing mail "
        "written to the maildir ./var/sent/."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"maildesk {version('maildesk')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("maildesk (version unknown: not installed)")
        raise typer.Exit()


@app.callback()
def options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The TOML config file, for every command (same as MAILDESK_CONFIG; a "
            "command's own --config wins).",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            help="Least important log lines shown (same as MAILDESK_LOG_LEVEL; default info).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options given before the command apply to every command.

    They are passed on as the environment variables the commands already read,
    so that a command's own option still wins and no command needs to know.
    """
    if config is not None:
        os.environ["MAILDESK_CONFIG"] = str(config)
    if log_level is not None:
        os.environ["MAILDESK_LOG_LEVEL"] = log_level.value
        setup_logging(level=log_level.value)


def main() -> None:
    """Entry point of the ``maildesk`` console script."""
    app()
