"""``maildesk demo``: replay an example contract's story and print its timeline."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from maildesk.cli.common import fail
from maildesk.core.config import ConfigError
from maildesk.demo.stories import STORIES
from maildesk.demo.story import balances, example_settings, header_lines, portal_lines, replay

DEFAULT_POLICY = "learning-helpdesk"


def demo(
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            "-p",
            help=f"The example contract to replay: {', '.join(STORIES)}.",
        ),
    ] = DEFAULT_POLICY,
) -> None:
    """Replay a scripted week of an example contract and print what maildesk did.

    Runs the real pipeline on a simulated clock, with SQLite and outgoing mail in a
    temporary folder: no server, no config file, nothing left behind.
    """
    story = STORIES.get(policy)
    if story is None:
        fail(f"no example contract {policy!r}; choose one of: {', '.join(STORIES)}", 2)
    # The timeline is the output; log lines of the daemon would only interleave with it.
    logger = logging.getLogger("maildesk")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        _play(policy)
    finally:
        logger.setLevel(level)


def _play(policy: str) -> None:
    story = STORIES[policy]
    with tempfile.TemporaryDirectory(prefix="maildesk-demo-") as folder:
        try:
            settings = example_settings(policy, Path(folder))
        except (FileNotFoundError, ConfigError) as exc:
            fail(str(exc), 2)
        run = replay(story, settings)
        try:
            for line in header_lines(story, settings):
                typer.echo(line)
            for lines in run.play():
                typer.echo("\n".join(lines))
            typer.echo("")
            typer.echo("Balances at the end:")
            for line in balances(run.desk) or ["    (no prepaid hours under this contract)"]:
                typer.echo(line)
            links = portal_lines(run.desk)
            if links:
                typer.echo("\nThe client portal (hours, tickets, quotes, a copy of the data):")
                for line in links:
                    typer.echo(line)
            typer.echo(f"\n{len(run.labels)} ticket(s), {len(run.lines)} timeline lines.")
        finally:
            run.desk.db.dispose()
