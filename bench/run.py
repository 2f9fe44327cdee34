"""The benchmark's entry point: ``python -m bench.run [--quick] [--n 2000] [--db both]``.

Runs the sections (throughput against the floor, ack latency, scale, memory),
prints a table and writes a JSON report with the machine and the versions.
Targets are reported, never asserted: the exit status is 0 unless a section
failed to run or a correctness check (every mail stored once, INBOX empty)
failed. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SECTIONS = ("throughput", "latency", "scale", "statements", "memory")
QUICK = {
    "n": 300,
    "latency_seconds": 10.0,
    "scale_tickets": 10_000,
    "scale_messages": 100_000,
    "memory_n": 1_000,
    "statements_clients": 100,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; ``--quick`` lowers every size the user did not set."""
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0] if __doc__ else None
    )
    p.add_argument("--n", type=int, default=2000, help="mails for throughput (default 2000)")
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument(
        "--json",
        type=Path,
        help="write the report here (default: maildesk-bench-<date>.json in $TMPDIR)",
    )
    p.add_argument("--quick", action="store_true", help="small sizes: a run of about 2 minutes")
    p.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--latency-rate", type=float, default=2.0, help="mails per second")
    p.add_argument("--latency-seconds", type=float, default=30.0)
    p.add_argument(
        "--poll-interval", type=float, default=60.0, help="IMAP poll when IDLE is not there"
    )
    p.add_argument("--flush-interval", type=float, default=5.0, help="outbox look without a wake")
    p.add_argument("--scale-tickets", type=int, default=100_000)
    p.add_argument("--scale-messages", type=int, default=1_000_000)
    p.add_argument(
        "--statements-clients",
        type=int,
        default=1_000,
        help="clients for weekly statements (the target is for 10,000; extrapolated)",
    )
    p.add_argument("--memory-n", type=int, default=10_000, help="mails for the memory run")
    p.add_argument("--memory-db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--workdir", type=Path, help="keep run files here (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="do not delete the work dir")
    args = p.parse_args(argv)
    if args.quick:
        defaults = p.parse_args([])
        for key, value in QUICK.items():
            if getattr(args, key) == getattr(defaults, key):
                setattr(args, key, value)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    return args


# -- machine and versions -----------------------------------------------------------


def _dependency_versions() -> dict[str, str]:
    out = {"maildesk": importlib.metadata.version("maildesk")}
    for req in importlib.metadata.requires("maildesk") or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0]
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info(pg_url: str | None) -> dict[str, Any]:
    """Cores, CPU, memory and the versions that matter for the figures."""
    from bench.servers import find_dovecot, postgres_version

    dovecot = find_dovecot()
    dovecot_version = "not found"
    if dovecot:
        run = subprocess.run([dovecot, "--version"], capture_output=True, text=True, check=False)
        dovecot_version = run.stdout.strip()
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(pg_url) if pg_url else "not used",
        "dovecot": dovecot_version,
        "dependencies": _dependency_versions(),
    }
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# -- targets ------------------------------------------------------------------------


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 7 with the figure measured against it (None: not measured)."""
    out: list[dict[str, Any]] = []
    tp = [
        r for r in report.get("throughput", []) if r.get("db") == "sqlite" and "ratio_to_floor" in r
    ]
    if tp:
        r = tp[0]
        note = "" if r["n"] == 2000 else f"measured at N={r['n']}, target is for N=2000"
        out.append(
            _target(
                "throughput >= 70% of floor (SQLite, N=2000)",
                f"{r['ratio_to_floor']:.0%} ({r['maildesk']['mails_per_s']} vs "
                f"{r['floor']['mails_per_s']} mails/s)",
                r["ratio_to_floor"] >= 0.70,
                note,
            )
        )
    durable = [r for r in tp if "cpu_ratio_to_durable_floor" in r]
    if durable:
        r = durable[0]
        note = "" if r["n"] == 2000 else f"measured at N={r['n']}, target is for N=2000"
        out.append(
            _target(
                "CPU per mail >= 50% of the durable floor's (SQLite, N=2000; issue 20)",
                f"{r['cpu_ratio_to_durable_floor']:.0%} ({r['maildesk']['cpu_s']} vs "
                f"{r['durable_floor']['cpu_s']} CPU s)",
                r["cpu_ratio_to_durable_floor"] >= 0.50,
                note,
            )
        )
    lat = report.get("latency")
    if lat and lat.get("ack_latency_s", {}).get("n"):
        a = lat["ack_latency_s"]
        note = (
            f"IMAP IDLE; poll_interval {lat['poll_interval_s']} s, "
            f"flush_interval {lat['flush_interval_s']} s (the courier is woken by the commit)"
        )
        out.append(_target("ack latency p50 < 1 s", f"{a['p50']} s", a["p50"] < 1.0, note))
        out.append(_target("ack latency p99 < 3 s", f"{a['p99']} s", a["p99"] < 3.0, note))
    for sc in report.get("scale", []):
        size = "" if sc.get("tickets") == 100_000 else f"measured with {sc.get('tickets')} tickets"
        real = sc.get("real_sweep", {})
        if real.get("available"):
            steady = real["steady_s"]
            which = real["runs"][-1]["run"]
            out.append(
                _target(
                    f"one SLA sweep over 100k open tickets < 1 s ({sc['db']})",
                    f"{steady} s per steady-state sweep, {which} (maildesk.sla.escalation.sweep)",
                    steady < 1.0,
                    "; ".join(
                        filter(
                            None,
                            [size, "warm sweep skipped: the cold one took > 10 s"]
                            if which == "cold"
                            else [size],
                        )
                    ),
                )
            )
        query = sc.get("sweep", {}).get("response_or_resolution_due")
        if query:
            out.append(
                _target(
                    f"due-time query over 100k open tickets < 1 s, indexed ({sc['db']})",
                    f"{query['median_ms']} ms, {query['rows']} rows, "
                    f"index {'used' if query['uses_index'] else 'NOT used'}",
                    query["median_ms"] < 1000 and query["uses_index"],
                    "; ".join(
                        filter(
                            None,
                            [size, "" if real.get("available") else "the sweep job is missing"],
                        )
                    ),
                )
            )
    for st in report.get("statements", []):
        if not st.get("available"):
            note = st.get("note") or st.get("error", "")
            out.append(_target("statements for 10,000 clients < 60 s", "not measured", None, note))
            continue
        exact = st["clients"] == 10_000
        value = st["s"] if exact else st["extrapolated_10k_s"]
        out.append(
            _target(
                f"statements for 10,000 clients < 60 s ({st['db']})",
                f"{st['s']} s for {st['clients']:,} clients ({st['ms_per_client']} ms each)"
                + ("" if exact else f", ~{value} s for 10,000"),
                value < 60,
                "" if exact else "extrapolated linearly from the clients measured",
            )
        )
    mem = report.get("memory")
    if mem and "summary" in mem and "start_mb" in mem["summary"]:
        s = mem["summary"]
        peak = mem["maildesk"]["peak_rss_mb"]
        flat = s["growth_mb"] <= 10
        note = "" if mem["n"] >= 50_000 else f"measured at N={mem['n']}, target is for N=50,000"
        out.append(
            _target(
                "peak RSS < 200 MB, no growth",
                f"peak {peak} MB; {s['start_mb']} -> {s['end_mb']} MB "
                f"({s['slope_mb_per_10k_mails']:+} MB per 10k mails)",
                peak < 200 and flat,
                note,
            )
        )
    return out


def _target(name: str, measured: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": name, "measured": measured, "met": met, "note": note}


# -- the table ----------------------------------------------------------------------


def _table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [f"\n== {title}"]
    for j, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(report: dict[str, Any]) -> str:
    """The report as plain-text tables."""
    m = report["machine"]
    parts = [
        f"maildesk benchmark {report['date']}  ({report['wall_s']:.0f} s)",
        f"machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB; {m['platform']}",
        f"python {m['python']}, sqlite {m['sqlite']}, postgresql {m['postgresql']}, "
        f"dovecot {m['dovecot']}",
        "deps: " + ", ".join(f"{k} {v}" for k, v in m["dependencies"].items()),
    ]
    tp = report.get("throughput", [])
    if tp:
        rows = []
        for r in tp:
            if "error" in r:
                rows.append([r["db"], r["n"], "ERROR", r["error"][:60], *[""] * 7])
                continue
            md, fl, ck = r["maildesk"], r.get("floor", {}), r["check"]
            du = r.get("durable_floor", {})
            per_mail = [
                f"{1000 * x['cpu_s'] / r['n']:.1f}" if x.get("cpu_s") else "-" for x in (md, du, fl)
            ]
            rows.append(
                [
                    r["db"],
                    r["n"],
                    du.get("mails_per_s"),
                    fl.get("mails_per_s"),
                    md["mails_per_s"],
                    " / ".join(per_mail),
                    f"{r['cpu_ratio_to_durable_floor']:.0%}"
                    if "cpu_ratio_to_durable_floor" in r
                    else None,
                    f"{r['ratio_to_floor']:.0%}" if "ratio_to_floor" in r else None,
                    f"{md['peak_rss_mb']} / {fl.get('peak_rss_mb')}",
                    f"{ck['outbox']}",
                    "ok" if ck["ok"] else "FAILED",
                ]
            )
        parts.append(
            _table(
                "throughput: maildesk run --once vs the durable floor and the old floor",
                [
                    "db",
                    "N",
                    "durable/s",
                    "old floor/s",
                    "maildesk/s",
                    "CPU ms/mail (md/durable/old)",
                    "durable CPU / md CPU",
                    "old ratio",
                    "peak RSS MB (md/floor)",
                    "outbox",
                    "stored once, INBOX empty",
                ],
                rows,
            )
        )
    lat = report.get("latency")
    if lat and "ack_latency_s" in lat:
        rows = []
        for name in ("ack_latency_s", "append_to_pickup_s", "pickup_to_ack_s"):
            q = lat[name]
            rows.append([name, q["n"], q["p50"], q["p95"], q["p99"], q["max"]])
        parts.append(
            _table(
                f"ack latency ({lat['db']}, {lat['rate_per_s']}/s for {lat['seconds']} s, "
                f"IDLE, poll {lat['poll_interval_s']} s, outbox {lat['flush_interval_s']} s; "
                f"{lat['acked']}/{lat['mails']} acked)",
                ["seconds", "n", "p50", "p95", "p99", "max"],
                rows,
            )
        )
    for sc in report.get("scale", []):
        if "error" in sc:
            parts.append(f"\n== scale ({sc['db']}): ERROR {sc['error']}")
            continue
        rows = [
            [name, q["rows"], q["median_ms"], q["max_ms"], "yes" if q["uses_index"] else "NO"]
            for name, q in sc["sweep"].items()
        ]
        parts.append(
            _table(
                f"SLA due-time queries, {sc['tickets']:,} open tickets ({sc['db']})",
                ["query", "rows", "median ms", "max ms", "index used"],
                rows,
            )
        )
        for name, q in sc["sweep"].items():
            parts.append(f"  plan {name}: " + " | ".join(q["plan"][:8]))
        real = sc.get("real_sweep", {})
        if real.get("available"):
            rows = [
                [
                    r["run"],
                    r["s"],
                    r.get("read", "-"),
                    r["breaches"],
                    r["warnings"],
                    r["held"],
                    r["errors"],
                ]
                for r in real["runs"]
            ]
            parts.append(
                _table(
                    f"maildesk's SLA sweep over {sc['tickets']:,} open tickets ({sc['db']})",
                    ["sweep", "seconds", "rows read", "breaches", "warnings", "held", "errors"],
                    rows,
                )
            )
        elif real:
            parts.append(f"  SLA sweep: {real.get('note')}")
        rows = [
            [
                name,
                q["n"],
                q["mean_ms"],
                q["p50_ms"],
                q["p99_ms"],
                "yes" if q["uses_index"] else "NO",
            ]
            for name, q in sc["lookups"].items()
        ]
        parts.append(
            _table(
                f"look-ups with {sc['messages']:,} messages ({sc['db']}; "
                f"loaded in {sc['load_messages_s']} s)",
                ["look-up", "n", "mean ms", "p50 ms", "p99 ms", "index used"],
                rows,
            )
        )
    stmts = [st for st in report.get("statements", []) if st.get("available")]
    if stmts:
        rows = [
            [
                st["db"],
                st["clients"],
                st["entries_per_client"],
                st["s"],
                st["ms_per_client"],
                st["extrapolated_10k_s"],
                st["queued"],
                st["avg_mail_kb"],
            ]
            for st in stmts
        ]
        parts.append(
            _table(
                "weekly statements (send_weekly_statements: build, render, CSV + .xlsx, queue)",
                ["db", "clients", "entries each", "s", "ms/client", "~s for 10k", "queued", "KB"],
                rows,
            )
        )
    mem = report.get("memory")
    if mem and "summary" in mem:
        s = mem["summary"]
        if "start_mb" in s:
            parts.append(
                _table(
                    f"memory: maildesk run --once over {mem['n']:,} mails ({mem['db']})",
                    ["mails/s", "start MB", "end MB", "peak MB", "MB per 10k mails", "check"],
                    [
                        [
                            mem["maildesk"]["mails_per_s"],
                            s["start_mb"],
                            s["end_mb"],
                            mem["maildesk"]["peak_rss_mb"],
                            s["slope_mb_per_10k_mails"],
                            "ok" if mem["check"]["ok"] else "FAILED",
                        ]
                    ],
                )
            )
            curve = " ".join(f"{int(p['mails'])}:{p['rss_mb']:.0f}" for p in s["curve"][::4])
            parts.append(f"  RSS curve (mails:MB): {curve}")
    rows = [
        [t["target"], t["measured"], {True: "met", False: "MISSED", None: "-"}[t["met"]], t["note"]]
        for t in report["targets"]
    ]
    parts.append(
        _table("targets (reported, not asserted)", ["target", "measured", "", "note"], rows)
    )
    if report.get("load_average"):
        loads = ", ".join(f"{k} {a}->{b}" for k, (a, b) in report["load_average"].items())
        parts.append(f"load average (1 min) before->after each section: {loads}")
    for note in report["notes"]:
        parts.append(f"note: {note}")
    if report["errors"]:
        parts.append("\nERRORS:\n" + "\n".join(report["errors"]))
    return "\n".join(parts)


# -- main ---------------------------------------------------------------------------


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections, print the tables, write the JSON; see the module docstring."""
    args = parse_args(argv)
    from bench.servers import find_dovecot, postgres_admin_url, postgres_reachable

    if find_dovecot() is None:
        print("dovecot not found: apt-get install -y dovecot-imapd", file=sys.stderr)
        return 2
    notes: list[str] = []
    errors: list[str] = []
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    wanted = set(dbs)
    if "latency" in args.sections:
        wanted.add(args.latency_db)
    if "memory" in args.sections:
        wanted.add(args.memory_db)
    pg_url: str | None = None
    if "postgresql" in wanted:
        url = postgres_admin_url()
        why = postgres_reachable(url)
        if why is None:
            pg_url = url
        elif args.db == "both" and "postgresql" not in (args.latency_db, args.memory_db):
            notes.append(f"PostgreSQL skipped: {url} is unreachable ({why})")
            dbs = ["sqlite"]
        else:
            print(f"PostgreSQL at {url} is unreachable: {why}", file=sys.stderr)
            return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="maildesk-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    year = datetime.now(ZoneInfo("Europe/Brussels")).year
    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(pg_url),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "notes": notes,
        "errors": errors,
        "load_average": {},
    }
    load: dict[str, tuple[float, float]] = report["load_average"]

    def section(name: str, fn: Callable[[], Any]) -> Any:
        before = os.getloadavg()[0]
        try:
            result = fn()
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        # Other work on the machine skews timings; the load average shows it.
        load[name] = (round(before, 2), round(os.getloadavg()[0], 2))
        return result

    from bench import ingest, latency, memory, scale, statements

    if "throughput" in args.sections:
        report["throughput"] = []
        for db in dbs:
            _say(f"throughput: {db}, N={args.n} (floor, durable floor, then maildesk run --once)")
            res = section(
                f"throughput {db}",
                partial(ingest.ingest_run, db, args.n, args.seed, year, workdir),
            )
            res.setdefault("db", db)
            res.setdefault("n", args.n)
            report["throughput"].append(res)
            if "check" in res and not res["check"]["ok"]:
                errors.append(f"throughput {db}: check failed: {res['check']}")
            if "maildesk" in res:
                verdict = "ok" if res["check"]["ok"] else "FAILED"
                _say(
                    f"  maildesk {res['maildesk']['mails_per_s']}/s "
                    f"({res['maildesk']['cpu_s']} CPU s), durable floor "
                    f"{res['durable_floor']['mails_per_s']}/s "
                    f"({res['durable_floor']['cpu_s']} CPU s), old floor "
                    f"{res['floor']['mails_per_s']}/s, check {verdict}"
                )
    if "latency" in args.sections:
        _say(
            f"latency: {args.latency_db}, {args.latency_rate}/s for {args.latency_seconds} s "
            "(maildesk run)"
        )
        report["latency"] = section(
            "latency",
            lambda: latency.latency_run(
                args.latency_db,
                workdir,
                seed=args.seed,
                year=year,
                rate=args.latency_rate,
                seconds=args.latency_seconds,
                poll_interval=args.poll_interval,
                flush_interval=args.flush_interval,
            ),
        )
    if "scale" in args.sections:
        report["scale"] = []
        for db in dbs:
            _say(f"scale: {db}, {args.scale_tickets:,} tickets, {args.scale_messages:,} messages")
            res = section(
                f"scale {db}",
                partial(
                    scale.scale_run,
                    db,
                    workdir,
                    tickets=args.scale_tickets,
                    messages=args.scale_messages,
                ),
            )
            res.setdefault("db", db)
            report["scale"].append(res)
    if "statements" in args.sections:
        report["statements"] = []
        for db in dbs:
            _say(f"statements: {db}, {args.statements_clients:,} clients x 20 ledger entries")
            res = section(
                f"statements {db}",
                partial(statements.statements_run, db, workdir, clients=args.statements_clients),
            )
            res.setdefault("db", db)
            report["statements"].append(res)
    if "memory" in args.sections:
        _say(f"memory: {args.memory_db}, N={args.memory_n} (maildesk run --once, RSS sampled)")
        res = section(
            "memory",
            lambda: ingest.ingest_run(
                args.memory_db,
                args.memory_n,
                args.seed,
                year,
                workdir,
                with_floor=False,
                sample_every=0.2,
                label="mem",
            ),
        )
        if "samples" in res:
            res["summary"] = memory.summarise(res.pop("samples"), args.memory_n)
            if not res["check"]["ok"]:
                errors.append(f"memory: check failed: {res['check']}")
        report["memory"] = res
        if args.memory_n < 50_000:
            rate = res.get("maildesk", {}).get("mails_per_s")
            eta = f"about {50_000 / rate / 60:.0f} min" if rate else "long"
            notes.append(
                f"memory measured over {args.memory_n:,} mails, not 50,000 "
                f"(at {rate} mails/s 50,000 would take {eta}; use --memory-n 50000)"
            )
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["targets"] = targets(report)
    print(render(report))
    out = args.json or Path(tempfile.gettempdir()) / f"maildesk-bench-{report['date']}.json"
    out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nJSON report: {out}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"run files kept in {workdir}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
