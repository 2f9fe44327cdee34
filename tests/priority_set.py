"""The labelled reports of ``tests/data/priority/``, run through maildesk as a mail would be.

Each entry becomes a real RFC 5322 mail (plain text, or an HTML-only body; an
earlier mail quoted under an attribution line where the entry has ``quoted``),
is parsed by maildesk's parser and decided by the same code as ``maildesk
inspect`` (:func:`maildesk.ingest.explain.decide`) under a config file. The
figures are computed here from the labels and the decisions; nothing is copied
from maildesk's output. Used by ``bench/priority.py`` and the unit test of the
targets. Uses only APIs that predate the scope × impact rules, so the same code
measures the code before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import yaml

from maildesk.configfile import load_settings
from maildesk.ingest.explain import decide
from maildesk.mail.parse import parse

DATA = Path(__file__).parent / "data" / "priority"
LEARNING = Path(__file__).parents[1] / "config" / "examples" / "learning-helpdesk.toml"
LEVELS = ("high", "normal", "low")

#: Who writes, per file: a contact of a client of the learning-helpdesk example.
SENDERS = {
    "nl": "ict@hogeschool-west.example",
    "fr": "direction@lycee-sud.example",
    "en": "it@city-academy.example",
    "de": "it@city-academy.example",
    "mixed": "it@city-academy.example",
}
_SUPPORT = "Support <support@learning-helpdesk.example>"
ATTRIBUTION = {
    "en": f"On Mon, 2 Nov 2026 at 10:12, {_SUPPORT} wrote:",
    "nl": f"Op ma 2 nov. 2026 om 10:12 schreef {_SUPPORT}:",
    "fr": f"Le lun. 2 nov. 2026 à 10:12, {_SUPPORT} a écrit :",
    "de": f"Am Mo., 2. Nov. 2026 um 10:12 schrieb {_SUPPORT}:",
}


@dataclass(frozen=True)
class Case:
    """One labelled report."""

    id: str
    language: str
    subject: str
    body: str | None
    html: str | None
    quoted: str | None
    priority: str
    steps: bool


def load_cases(data: Path = DATA) -> list[Case]:
    """Every labelled report, file by file; a malformed entry raises ValueError."""
    cases: list[Case] = []
    for path in sorted(data.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            if entry["priority"] not in LEVELS or not isinstance(entry["steps"], bool):
                raise ValueError(f"{path.name}: {entry.get('id')}: bad priority or steps label")
            if ("body" in entry) == ("html" in entry):
                raise ValueError(f"{path.name}: {entry['id']}: give exactly one of body, html")
            cases.append(
                Case(
                    id=entry["id"],
                    language=path.stem,
                    subject=entry["subject"],
                    body=entry.get("body"),
                    html=entry.get("html"),
                    quoted=entry.get("quoted"),
                    priority=entry["priority"],
                    steps=entry["steps"],
                )
            )
    return cases


def mail_bytes(case: Case) -> bytes:
    """``case`` as the raw mail a client would send."""
    msg = EmailMessage()
    msg["From"] = SENDERS[case.language]
    msg["To"] = "support@learning-helpdesk.example"
    msg["Subject"] = case.subject
    msg["Date"] = format_datetime(datetime(2026, 11, 7, 22, 30, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(case.id, "clients.example")
    if case.html is not None:
        msg.set_content(case.html, subtype="html")
    else:
        text = case.body or ""
        if case.quoted:
            attribution = ATTRIBUTION.get(case.language, ATTRIBUTION["en"])
            quoted = "\n".join(f"> {line}" for line in case.quoted.splitlines())
            text = f"{text.rstrip()}\n\n{attribution}\n{quoted}\n"
        msg.set_content(text)
    return msg.as_bytes()


@dataclass
class Outcome:
    """What maildesk decided about one case."""

    case: Case
    priority: str
    rule: str
    steps_found: bool


@dataclass
class Figures:
    """The measures of one run over the set."""

    outcomes: list[Outcome]
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.confusion = {label: dict.fromkeys(LEVELS, 0) for label in LEVELS}
        for o in self.outcomes:
            self.confusion[o.case.priority][o.priority] += 1

    def precision(self, level: str) -> float:
        predicted = sum(self.confusion[label][level] for label in LEVELS)
        return self.confusion[level][level] / predicted if predicted else 1.0

    def recall(self, level: str) -> float:
        actual = sum(self.confusion[level].values())
        return self.confusion[level][level] / actual if actual else 1.0

    @property
    def non_outages(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.priority != "high"]

    @property
    def non_outages_paged(self) -> list[Outcome]:
        return [o for o in self.non_outages if o.priority == "high"]

    @property
    def paged_share(self) -> float:
        return len(self.non_outages_paged) / len(self.non_outages)

    @property
    def steps_counts(self) -> tuple[int, int, int]:
        """(true positives, false positives, false negatives) of "steps present"."""
        tp = sum(1 for o in self.outcomes if o.case.steps and o.steps_found)
        fp = sum(1 for o in self.outcomes if not o.case.steps and o.steps_found)
        fn = sum(1 for o in self.outcomes if o.case.steps and not o.steps_found)
        return tp, fp, fn

    @property
    def asked_for_sent_steps(self) -> list[Outcome]:
        """Clients who gave their steps and would be asked for them."""
        return [o for o in self.outcomes if o.case.steps and not o.steps_found]

    def steps_precision(self) -> float:
        tp, fp, _ = self.steps_counts
        return tp / (tp + fp) if tp + fp else 1.0

    def steps_recall(self) -> float:
        tp, _, fn = self.steps_counts
        return tp / (tp + fn) if tp + fn else 1.0


def evaluate(config: Path = LEARNING, data: Path = DATA) -> Figures:
    """Decide every case under ``config`` and measure against the labels."""
    settings = load_settings(config)
    outcomes: list[Outcome] = []
    for case in load_cases(data):
        decisions = decide(parse(mail_bytes(case)), settings)
        outcomes.append(
            Outcome(
                case=case,
                priority=decisions.priority,
                rule=decisions.priority_rule,
                steps_found="steps" in decisions.found,
            )
        )
    return Figures(outcomes)
