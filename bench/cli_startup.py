"""CPU time of short ``maildesk`` commands: what every operator pays per command.

Runs each command several times as a child process and reports the median of its
CPU time (user + system, from ``wait4``, i.e. that one child's rusage) and wall time.
``tickets list`` runs against an empty SQLite database under a temporary folder, so
the figure is start-up plus one query, not the size of a database.

    .venv/bin/python -m bench.cli_startup            # 7 runs per command
    .venv/bin/python -m bench.cli_startup --runs 11 --json out.json
    .venv/bin/python -m bench.cli_startup --baseline /tmp/old-maildesk   # before/after

``--baseline DIR`` also measures the maildesk source tree in DIR (e.g. ``git archive``
of an older commit), alternating run by run with this one, so that both see the
same load on a shared machine.

Targets are reported, never asserted (issue 17: under 0.3 s of CPU for ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: (label, arguments after ``maildesk``); each needs the temp folder as working directory.
COMMANDS: list[tuple[str, list[str]]] = [
    ("maildesk --help", ["--help"]),
    ("maildesk tickets list", ["tickets", "list"]),
]


def maildesk_argv() -> list[str]:
    """The console script next to this interpreter, else the same entry point via ``-c``."""
    script = Path(sys.executable).with_name("maildesk")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from maildesk.cli.main import main; main()"]


def measure(argv: list[str], cwd: Path, source: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of the code in ``source``; exits on failure."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("MAILDESK_CONFIG", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    """Measure, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--baseline", type=Path, help="another maildesk source tree to compare")
    args = parser.parse_args()
    base = maildesk_argv()
    here = Path(__file__).resolve().parents[1]
    trees = {"this tree": here}
    if args.baseline:
        trees = {"baseline": args.baseline.resolve(), "this tree": here}
    results = []
    with tempfile.TemporaryDirectory(prefix="maildesk-cli-bench-") as tmp:
        folders = {}
        for label, source in trees.items():
            folder = Path(tmp) / label.replace(" ", "-")
            folder.mkdir()
            # Embedded defaults: SQLite under ./var/ of the working directory.
            env = {**os.environ, "PYTHONPATH": str(source)}
            env.pop("MAILDESK_CONFIG", None)
            subprocess.run(
                [*base, "db", "upgrade"], cwd=folder, env=env, check=True, capture_output=True
            )
            folders[label] = folder
        for command, extra in COMMANDS:
            runs: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
            for label, source in trees.items():
                measure([*base, *extra], folders[label], source)  # warm the file cache
            for _ in range(args.runs):
                for label, source in trees.items():
                    runs[label].append(measure([*base, *extra], folders[label], source))
            for label in trees:
                results.append(
                    {
                        "command": command,
                        "tree": label,
                        "runs": args.runs,
                        "cpu_median_s": statistics.median(r[0] for r in runs[label]),
                        "wall_median_s": statistics.median(r[1] for r in runs[label]),
                        "cpu_all_s": [round(r[0], 3) for r in runs[label]],
                    }
                )
    print(
        f"{'command':<26} {'tree':<10} {'CPU median':>11} {'wall median':>12}   ({args.runs} runs)"
    )
    for r in results:
        print(
            f"{r['command']:<26} {r['tree']:<10} {r['cpu_median_s']:>10.2f}s "
            f"{r['wall_median_s']:>11.2f}s"
        )
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
