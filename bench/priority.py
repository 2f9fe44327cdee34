"""Priority and "steps present" measured on the labelled reports of ``tests/data/priority/``.

Prints, as Markdown: precision and recall of High, Normal and Low, the confusion
matrix (rows: the label, columns: maildesk), the share of non-outages that
would page the on-call technician, precision and recall of "steps present", and
every case decided wrongly with the rule that decided it. Targets are reported,
not asserted (the unit test ``tests/unit/test_priority_set.py`` asserts them).

    .venv/bin/python -m bench.priority
    .venv/bin/python -m bench.priority --config config/examples/learning-helpdesk.toml

To measure older code, put its checkout first on ``PYTHONPATH`` and give its
config: the set and this script use only APIs the older code has.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.priority_set import DATA, LEARNING, LEVELS, Figures, evaluate


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def report(figures: Figures) -> str:
    """The figures as Markdown."""
    n = len(figures.outcomes)
    lines = [f"{n} labelled reports.", "", "| priority | precision | recall | reports |"]
    lines.append("|---|---|---|---|")
    for level in LEVELS:
        count = sum(figures.confusion[level].values())
        lines.append(
            f"| {level} | {_pct(figures.precision(level))} | {_pct(figures.recall(level))}"
            f" | {count} |"
        )
    lines += ["", "Confusion matrix (rows: label, columns: maildesk):", ""]
    lines.append("| label \\ maildesk | " + " | ".join(LEVELS) + " |")
    lines.append("|---|---|---|---|")
    for label in LEVELS:
        row = " | ".join(str(figures.confusion[label][level]) for level in LEVELS)
        lines.append(f"| {label} | {row} |")
    paged = figures.non_outages_paged
    lines += [
        "",
        f"Non-outages paged as High: {len(paged)} of {len(figures.non_outages)}"
        f" ({_pct(figures.paged_share)}).",
    ]
    tp, fp, fn = figures.steps_counts
    lines.append(
        f'"Steps present": precision {_pct(figures.steps_precision())},'
        f" recall {_pct(figures.steps_recall())} ({tp} found, {fp} found wrongly,"
        f" {fn} clients asked for steps they sent)."
    )
    wrong = [o for o in figures.outcomes if o.priority != o.case.priority]
    missed = figures.asked_for_sent_steps
    lines += ["", "Decided wrongly:", ""]
    for o in wrong:
        lines.append(f"- {o.case.id}: {o.case.priority} → {o.priority} ({o.rule})")
    for o in missed:
        lines.append(f"- {o.case.id}: steps sent but reported missing")
    for o in figures.outcomes:
        if o.steps_found and not o.case.steps:
            lines.append(f"- {o.case.id}: steps found where the report has none")
    return "\n".join(lines)


def main() -> None:
    """Run the set and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=LEARNING)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(report(evaluate(args.config, args.data)))


if __name__ == "__main__":
    main()
