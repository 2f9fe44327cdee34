"""Staff commands written in the new text of a reply (``#time 1h30`` …).

Staff answer a ticket by replying to its mail. Lines of their new text that
start with ``#`` and a letter are commands to maildesk; they are taken out
before the text is relayed to the client, and each one either becomes a typed
:class:`Command` or a :class:`CommandProblem` whose message is mailed back to
the staff member.

Commands:

``#time DURATION``
    Work time, in any form :func:`~maildesk.core.durations.parse_duration`
    reads (``1h30``, ``45m``, ``1:30``, ``1.5h`` …), then, optionally, what the
    work was: ``#time 1h30 migrated the course backups`` (the task's timesheet
    shows it). When the whole rest of the line is not a duration, its first
    word must be one with a unit (``1h30``, ``45m``, ``1:30``; a bare ``1`` is
    ambiguous) and the rest is the description; otherwise the line is a
    problem, never silently dropped.
``#internal``
    The reply is an internal note: nothing goes to the client.
``#priority high|normal|low`` / ``#status open|waiting|resolved|closed``
``#ack``
    Acknowledges the ticket (or its page).
``#assign NAME``
    The rest of the line, as written; whether it names a staff member is for
    the caller to check.
``#quote DURATION WHAT``
    A quote for work beyond the free scope. The duration is one word with no
    spaces (``3h``, ``1h30``, ``2:15``) and the description is the rest of the
    line. ``#quote 1h 30m upgrade`` is refused rather than read as one hour for
    "30m upgrade": the quote caps what is billed. Quotes have no 24-hour limit
    (a project may be quoted at 40 hours); the client sees and accepts them.
``#billable`` / ``#included``
    Whether the ticket's work is billed or within the included scope, from now
    on (see :mod:`maildesk.billing.contracts`). Written at the end of a
    ``#time`` line (``#time 30m #included``) it marks that line only, and comes
    back as the command's ``value``.
``#cc ADDRESS``
    Send this relay, and every later one on the ticket, also to ADDRESS (one
    bare address, ``name@example.com`` or ``<name@example.com>``), though it
    is not one of the client's people. Staff add it on purpose; the client is
    told in each relay who else receives it. Several ``#cc`` lines add several.

Choices:

* Only ``#`` followed by an ASCII letter, as the first non-blank character of a
  line, starts a command: ``#1 priority``, ``# heading``, ``##`` and ``see
  issue #42`` are text. Names are case-insensitive and may be followed by a
  colon (``#status: resolved``).
* Lines whose first non-blank character is ``>`` are quotes and stay text.
* Every line that looks like a command is removed from ``text``, even an unknown
  or malformed one, so nothing meant for maildesk reaches the client. Blank
  lines around removed commands are tidied: at the start and end of the text
  they go, between paragraphs one blank line remains. Everything else is kept
  verbatim; a reply without commands comes back unchanged.
* Several ``#time`` lines are several entries, one :class:`Command` each, and
  are not summed here: each is recorded (and shown on the timesheet) as its
  own line. Every other command may appear once; a repetition is a problem,
  and ``#billable`` with ``#included`` is a contradiction.
* A caller should not relay a reply that has problems: a mistyped ``#internal``
  (``#interal``) would otherwise send an internal note to the client. Hold the
  reply and mail the problems back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from maildesk.core.durations import DurationError, parse_duration

__all__ = [
    "KNOWN_COMMANDS",
    "PRIORITIES",
    "STATUSES",
    "Command",
    "CommandName",
    "CommandProblem",
    "ParsedReply",
    "parse_commands",
]

CommandName = Literal[
    "ack", "assign", "billable", "cc", "included", "internal", "priority", "quote", "status", "time"
]
KNOWN_COMMANDS: Final[tuple[CommandName, ...]] = get_args(CommandName)
PRIORITIES: Final = ("high", "normal", "low")
STATUSES: Final = ("open", "waiting", "resolved", "closed")

_COMMAND_RE: Final = re.compile(r"\s*#(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?P<rest>.*)", re.DOTALL)
_REPEATABLE: Final[frozenset[str]] = frozenset({"time", "cc"})
_ADDRESS: Final = re.compile(
    r"<?([^@\s<>,;:\"()\[\]\\]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z]{2,63})>?"
)
_SCOPE: Final[frozenset[str]] = frozenset({"billable", "included"})


@dataclass(frozen=True)
class Command:
    """One command line.

    ``minutes`` is set for ``time`` and ``quote``; ``value`` for ``priority``,
    ``status`` (lower-cased), ``cc`` (the address, lower-cased), ``assign`` (as
    written) and a ``time`` line's own scope (``billable``/``included``, or
    None); ``text`` is the description of a ``quote``. ``line_no`` counts from
    1 in the parsed text; ``raw`` is the line without its surrounding whitespace.
    """

    name: CommandName
    line_no: int
    raw: str
    minutes: int | None = None
    value: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class CommandProblem:
    """A command line that could not be used; ``message`` is for its writer."""

    line_no: int
    raw: str
    message: str


@dataclass(frozen=True)
class ParsedReply:
    """A staff reply split into the text for the client and the commands."""

    text: str
    commands: tuple[Command, ...]
    problems: tuple[CommandProblem, ...]


class _ArgumentError(Exception):
    """Arguments that do not fit the command; the message says the expected form."""


@dataclass(frozen=True)
class _Args:
    minutes: int | None = None
    value: str | None = None
    text: str | None = None


def _no_arguments(name: str, hint: str = "") -> Callable[[str], _Args]:
    def parse(args: str) -> _Args:
        if args:
            raise _ArgumentError(f"#{name} takes nothing after it{hint}")
        return _Args()

    return parse


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[str], _Args]:
    listed = ", ".join(choices[:-1]) + " or " + choices[-1]

    def parse(args: str) -> _Args:
        value = args.lower()
        if value not in choices:
            got = f", not {args!r}" if args else ""
            raise _ArgumentError(f"#{name} takes {listed}{got}")
        return _Args(value=value)

    return parse


def _time(args: str) -> _Args:
    if not args:
        raise _ArgumentError("#time takes a duration, such as #time 1h30, #time 45m")
    # A scope word at the end marks this line only: #time 30m #included.
    words = args.rsplit(maxsplit=1)
    scope = words[-1].lower().lstrip("#") if words[-1].startswith("#") else None
    if scope is not None:
        if scope not in _SCOPE or len(words) < 2:
            raise _ArgumentError(
                f"#time: {words[-1]!r} is not #billable or #included, such as #time 30m #included"
            )
        args = words[0]
    try:
        return _Args(minutes=parse_duration(args), value=scope)
    except DurationError as error:
        # What the work was may follow the duration: #time 1h30 migrated the backups.
        first, _, rest = args.partition(" ")
        try:
            if first.isdigit():
                raise DurationError(first)
            minutes = parse_duration(first)
        except DurationError:
            raise _ArgumentError(f"#time: {error}") from None
        return _Args(minutes=minutes, value=scope, text=rest.strip() or None)


def _assign(args: str) -> _Args:
    if not args:
        raise _ArgumentError("#assign takes the name of a staff member, such as #assign alice")
    return _Args(value=args)


def _cc(args: str) -> _Args:
    match = _ADDRESS.fullmatch(args.lower())
    if match is None:
        got = f", not {args!r}" if args else ""
        raise _ArgumentError(f"#cc takes one e-mail address, such as #cc it@example.com{got}")
    return _Args(value=match[1])


_QUOTE_FORM: Final = (
    "#quote takes a duration written without spaces and what the work is,"
    " such as #quote 3h migrate the database"
)


def _parses(text: str) -> bool:
    try:
        parse_duration(text, max_minutes=None)
    except DurationError:
        return False
    return True


def _quote(args: str) -> _Args:
    words = args.split(maxsplit=1)
    if len(words) < 2:
        raise _ArgumentError(_QUOTE_FORM)
    duration, description = words
    try:
        minutes = parse_duration(duration, max_minutes=None)
    except DurationError as error:
        raise _ArgumentError(f"{_QUOTE_FORM}; {error}") from None
    following = description.split(maxsplit=1)[0]
    if _parses(following) or _parses(duration + following):
        raise _ArgumentError(
            f"#quote: is {duration!r} followed by {following!r} one duration?"
            f" Write it without spaces, such as #quote 1h30 migrate the database"
        )
    return _Args(minutes=minutes, text=description)


_PARSERS: Final[dict[CommandName, Callable[[str], _Args]]] = {
    "ack": _no_arguments("ack"),
    "assign": _assign,
    "billable": _no_arguments("billable"),
    "cc": _cc,
    "included": _no_arguments("included"),
    "internal": _no_arguments("internal", "; write the note on the lines below it"),
    "priority": _choice("priority", PRIORITIES),
    "quote": _quote,
    "status": _choice("status", STATUSES),
    "time": _time,
}


def _known(name: str) -> CommandName | None:
    for known in KNOWN_COMMANDS:
        if known == name:
            return known
    return None


def _read_line(line: str, line_no: int) -> Command | CommandProblem | None:
    """The command on ``line``, its problem, or ``None`` if it is text."""
    match = _COMMAND_RE.match(line)
    if match is None:
        return None
    raw = line.strip()
    name = _known(match["name"].lower())
    if name is None:
        known = ", ".join(f"#{known}" for known in KNOWN_COMMANDS)
        return CommandProblem(line_no, raw, f"unknown command #{match['name']}; known: {known}")
    rest = match["rest"]
    args = (rest[1:] if rest.startswith(":") else rest).strip()
    try:
        parsed = _PARSERS[name](args)
    except _ArgumentError as error:
        return CommandProblem(line_no, raw, str(error))
    return Command(name, line_no, raw, parsed.minutes, parsed.value, parsed.text)


def _check_repeats(found: list[Command | CommandProblem]) -> list[Command | CommandProblem]:
    """Later repetitions of a once-only command, and contradictions, as problems."""
    first: dict[str, Command] = {}
    checked: list[Command | CommandProblem] = []
    for item in found:
        if isinstance(item, CommandProblem) or item.name in _REPEATABLE:
            checked.append(item)
            continue
        key = "scope" if item.name in _SCOPE else item.name
        earlier = first.get(key)
        if earlier is None:
            first[key] = item
            checked.append(item)
        elif earlier.name != item.name:
            checked.append(
                CommandProblem(
                    item.line_no,
                    item.raw,
                    f"#{item.name} contradicts #{earlier.name} on line {earlier.line_no};"
                    " keep one of them",
                )
            )
        else:
            checked.append(
                CommandProblem(
                    item.line_no,
                    item.raw,
                    f"#{item.name} was already given on line {earlier.line_no}; give it once",
                )
            )
    return checked


def _tidy(lines: list[str], removed: set[int]) -> list[str]:
    """``lines`` without the removed ones, blank lines around them tidied."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        if i not in removed and lines[i].strip():
            kept.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and (j in removed or not lines[j].strip()):
            j += 1
        run = range(i, j)
        if not any(k in removed for k in run):
            kept.extend(lines[i:j])
        elif i > 0 and j < len(lines):
            blanks = [lines[k] for k in run if k not in removed]
            kept.extend(blanks[:1])
        i = j
    return kept


def parse_commands(text: str) -> ParsedReply:
    """Split the new text of a staff reply into client text, commands and problems."""
    newline = "\r\n" if text.endswith("\r\n") else "\n" if text.endswith("\n") else ""
    lines = text[: len(text) - len(newline)].split("\n")
    found: list[Command | CommandProblem] = []
    removed: set[int] = set()
    for index, line in enumerate(lines):
        item = _read_line(line, index + 1)
        if item is not None:
            found.append(item)
            removed.add(index)
    kept = _tidy(lines, removed)
    checked = _check_repeats(found)
    return ParsedReply(
        text="\n".join(kept) + newline if kept else "",
        commands=tuple(item for item in checked if isinstance(item, Command)),
        problems=tuple(item for item in checked if isinstance(item, CommandProblem)),
    )
