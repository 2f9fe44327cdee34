"""Staff commands in the new text of a reply, and the text left for the client."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.ingest.commands import (
    KNOWN_COMMANDS,
    Command,
    CommandProblem,
    ParsedReply,
    parse_commands,
)

SETTINGS = settings(max_examples=150, deadline=None)


def only_command(text: str) -> Command:
    """The single command in ``text``, which must have no problems."""
    reply = parse_commands(text)
    assert reply.problems == ()
    assert len(reply.commands) == 1
    return reply.commands[0]


def only_problem(text: str) -> CommandProblem:
    """The single problem in ``text``, which must yield no command."""
    reply = parse_commands(text)
    assert reply.commands == ()
    assert len(reply.problems) == 1
    return reply.problems[0]


# -- each command ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "minutes"),
    [
        ("#time 1h30", 90),
        ("#time 1h 30m", 90),
        ("#time 45 min", 45),
        ("#time 1:30", 90),
        ("#time 1,5h", 90),
        ("#TIME 2H", 120),
        ("#Time: 15m", 15),
        ("   #time 0.25h", 15),
    ],
)
def test_time(line: str, minutes: int) -> None:
    command = only_command(line)
    assert command == Command("time", 1, line.strip(), minutes=minutes)


@pytest.mark.parametrize(
    ("line", "minutes", "scope"),
    [
        ("#time 30m #included", 30, "included"),
        ("#time 1h 30m #Billable", 90, "billable"),
        ("#time 45m", 45, None),
    ],
)
def test_time_line_may_carry_its_own_scope(line: str, minutes: int, scope: str | None) -> None:
    command = only_command(line)
    assert (command.minutes, command.value) == (minutes, scope)


@pytest.mark.parametrize("line", ["#time 30m #free", "#time #included"])
def test_time_line_with_another_mark_is_a_problem(line: str) -> None:
    assert "#time" in only_problem(line).message


def test_internal_ack_billable_included_are_flags() -> None:
    reply = parse_commands("#internal\n#ack\n#billable")
    assert reply.problems == ()
    assert reply.commands == (
        Command("internal", 1, "#internal"),
        Command("ack", 2, "#ack"),
        Command("billable", 3, "#billable"),
    )
    assert only_command("#Included") == Command("included", 1, "#Included")


@pytest.mark.parametrize("value", ["high", "normal", "low", "HIGH", "Low"])
def test_priority(value: str) -> None:
    command = only_command(f"#priority {value}")
    assert command.name == "priority"
    assert command.value == value.lower()


@pytest.mark.parametrize("value", ["waiting", "resolved", "closed", "open", "Resolved"])
def test_status(value: str) -> None:
    command = only_command(f"#status {value}")
    assert command.name == "status"
    assert command.value == value.lower()


def test_assign_keeps_the_name_as_written() -> None:
    assert only_command("#assign Jan Peeters ").value == "Jan Peeters"
    assert only_command("#assign alice").value == "alice"


@pytest.mark.parametrize(
    ("line", "minutes", "description"),
    [
        (
            "#quote 3h migrate the database to the new server",
            180,
            "migrate the database to the new server",
        ),
        ("#quote 1h30 upgrade the LMS plugin", 90, "upgrade the LMS plugin"),
        ("#quote 2:15 restore last week's backup", 135, "restore last week's backup"),
        ("#quote 40h rebuild the course catalogue", 2400, "rebuild the course catalogue"),
        ("#quote 2h 2FA setup for all teachers", 120, "2FA setup for all teachers"),
    ],
)
def test_quote(line: str, minutes: int, description: str) -> None:
    command = only_command(line)
    assert command == Command("quote", 1, line, minutes=minutes, text=description)


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("#time", "#time takes a duration, such as #time 1h30"),
        ("#time 90", "#time: '90' has no unit: write 90m for minutes or 90h for hours"),
        ("#time 0m", "is zero"),
        ("#time -1h", "cannot be negative"),
        ("#time 30h", "more than 24 h in one entry"),
        ("#time 0.3m", "minutes must be a whole number"),
        ("#time 0.01h", "not a whole number of minutes"),
        ("#time lots", "'lots' is not a duration"),
        ("#time 90 fixing the login page", "is not a duration"),
        ("#time lots of work", "is not a duration"),
        ("#priority urgent", "#priority takes high, normal or low, not 'urgent'"),
        ("#priority", "#priority takes high, normal or low"),
        ("#status done", "#status takes open, waiting, resolved or closed, not 'done'"),
        ("#status", "#status takes open, waiting, resolved or closed"),
        ("#assign", "#assign takes the name of a staff member"),
        ("#internal note to self", "#internal takes nothing after it; write the note on the lines"),
        ("#ack please", "#ack takes nothing after it"),
        ("#ack.", "#ack takes nothing after it"),
        ("#billable yes", "#billable takes nothing after it"),
        ("#included 1h", "#included takes nothing after it"),
        ("#quote", "#quote takes a duration written without spaces and what the work is"),
        ("#quote 3h", "#quote takes a duration written without spaces and what the work is"),
        ("#quote migrate the database", "'migrate' is not a duration"),
        ("#quote 3 h migrate", "'3' has no unit"),
        ("#quote 0h nothing", "is zero"),
        ("#quote 1h 30m upgrade", "is '1h' followed by '30m' one duration?"),
        ("#quote 2h 3 pages redesign", "is '2h' followed by '3' one duration?"),
        ("#tiem 1h", "unknown command #tiem; known: #ack, #assign, #billable"),
        ("#interal", "unknown command #interal"),
        ("#Hello team,", "unknown command #Hello"),
    ],
)
def test_problems_say_the_expected_form(line: str, fragment: str) -> None:
    problem = only_problem(line)
    assert problem.line_no == 1
    assert problem.raw == line
    assert fragment in problem.message


def test_unknown_command_lists_every_known_command() -> None:
    message = only_problem("#foo").message
    for name in KNOWN_COMMANDS:
        assert f"#{name}" in message


# -- what is and is not a command -------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "#1 priority for us is the login page",
        "# heading",
        "## Steps",
        "#!/bin/sh",
        "see issue #42",
        "please #time it",
        "> #time 3h",
        "  > #status closed",
        "#",
        "#é",
    ],
)
def test_not_a_command(line: str) -> None:
    reply = parse_commands(line)
    assert reply == ParsedReply(text=line, commands=(), problems=())


def test_quoted_block_commands_are_ignored() -> None:
    text = "Done.\n#time 30m\n\n> On Monday Jan wrote:\n> #time 3h\n> #status closed\n"
    reply = parse_commands(text)
    assert [c.name for c in reply.commands] == ["time"]
    assert reply.commands[0].minutes == 30
    assert reply.text == "Done.\n\n> On Monday Jan wrote:\n> #time 3h\n> #status closed\n"


def test_each_time_line_is_its_own_entry() -> None:
    reply = parse_commands("#time 1h\nMore work later:\n#time 30m\n")
    assert reply.problems == ()
    assert [(c.line_no, c.minutes) for c in reply.commands] == [(1, 60), (3, 30)]


@pytest.mark.parametrize("line", ["#priority low", "#ack", "#assign bob", "#status open"])
def test_once_only_commands_repeated_are_a_problem(line: str) -> None:
    first = line.replace("low", "high").replace("bob", "alice").replace("open", "waiting")
    reply = parse_commands(f"{first}\n\n{line}")
    assert [c.line_no for c in reply.commands] == [1]
    assert reply.problems == (
        CommandProblem(3, line, f"{line.split()[0]} was already given on line 1; give it once"),
    )


def test_billable_and_included_contradict() -> None:
    reply = parse_commands("#included\ntext\n#billable")
    assert [c.name for c in reply.commands] == ["included"]
    assert reply.problems == (
        CommandProblem(
            3, "#billable", "#billable contradicts #included on line 1; keep one of them"
        ),
    )


def test_problem_line_numbers_follow_the_text() -> None:
    reply = parse_commands("Hello,\n\nall fixed.\n#priority soon\n#time 1h\n#status gone")
    assert [p.line_no for p in reply.problems] == [4, 6]
    assert [c.line_no for c in reply.commands] == [5]


# -- the text relayed to the client -----------------------------------------------


def test_commands_at_the_top_are_removed_with_their_blank_lines() -> None:
    reply = parse_commands("#time 1h30\n#status resolved\n\nHello Anna,\n\nIt works again.\n")
    assert reply.text == "Hello Anna,\n\nIt works again.\n"


def test_commands_at_the_bottom_are_removed_with_their_blank_lines() -> None:
    reply = parse_commands("Hello Anna,\n\nIt works again.\n\n#time 1h30\n#status resolved\n\n")
    assert reply.text == "Hello Anna,\n\nIt works again.\n"


def test_commands_between_paragraphs_leave_one_blank_line() -> None:
    reply = parse_commands("First.\n\n#time 1h\n\n\nSecond.")
    assert reply.text == "First.\n\nSecond."


def test_command_inside_a_paragraph_leaves_no_gap() -> None:
    reply = parse_commands("Line one\n#ack\nLine two")
    assert reply.text == "Line one\nLine two"


def test_unrelated_blank_lines_and_spacing_stay_verbatim() -> None:
    text = "  Indented.\n\n\n\nTrailing spaces   \n#time 1h\nTabs\there\n\n\n-- \nJan\n"
    reply = parse_commands(text)
    assert reply.text == "  Indented.\n\n\n\nTrailing spaces   \nTabs\there\n\n\n-- \nJan\n"


def test_unknown_and_malformed_commands_are_removed_too() -> None:
    reply = parse_commands("#interal\nOur admin password is in the vault.\n#priority asap\n")
    assert reply.text == "Our admin password is in the vault.\n"
    assert len(reply.problems) == 2


def test_only_commands_leave_no_text() -> None:
    assert parse_commands("#internal\n#time 20m\n\n").text == ""


def test_crlf_line_endings_are_kept() -> None:
    reply = parse_commands("Hello,\r\n\r\n#time 1h\r\n\r\nDone.\r\n")
    assert reply.commands[0].raw == "#time 1h"
    assert reply.commands[0].minutes == 60
    assert reply.text == "Hello,\r\n\r\nDone.\r\n"


def test_empty_reply() -> None:
    assert parse_commands("") == ParsedReply(text="", commands=(), problems=())


# -- properties -------------------------------------------------------------------

# Lines that can never be commands: no '#' followed by a letter at their start.
plain_lines = st.text(
    alphabet=st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]),
    max_size=30,
).filter(lambda line: not line.lstrip().startswith("#"))
command_lines = st.sampled_from(
    ["#time 1h", "#ack", "#internal", "#status resolved", "#foo", "#priority x"]
)


@SETTINGS
@given(st.lists(plain_lines, max_size=12), st.sampled_from(["", "\n", "\r\n"]))
def test_text_without_commands_is_unchanged(lines: list[str], ending: str) -> None:
    text = "\n".join(lines) + ending
    assert parse_commands(text) == ParsedReply(text=text, commands=(), problems=())


@SETTINGS
@given(st.lists(st.one_of(plain_lines, command_lines), max_size=15))
def test_every_non_blank_text_line_survives_in_order(lines: list[str]) -> None:
    reply = parse_commands("\n".join(lines))
    expected = [line for line in lines if line.strip() and not line.startswith("#")]
    assert [line for line in reply.text.split("\n") if line.strip()] == expected
    found = len(reply.commands) + len(reply.problems)
    assert found == sum(line.startswith("#") for line in lines)
    assert "\n#" not in "\n" + reply.text


@pytest.mark.parametrize(
    ("line", "minutes", "text", "scope"),
    [
        ("#time 1h30 migrated the course backups", 90, "migrated the course backups", None),
        ("#time 45m fixed our own mistake #included", 45, "fixed our own mistake", "included"),
        ("#time 1 h 30", 90, None, None),
        ("#time 1:15 call", 75, "call", None),
    ],
)
def test_time_may_say_what_the_work_was(
    line: str, minutes: int, text: str | None, scope: str | None
) -> None:
    """The text after the duration describes the work (it goes on the task's timesheet)."""
    [command] = parse_commands(line).commands
    assert (command.minutes, command.text, command.value) == (minutes, text, scope)
