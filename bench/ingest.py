"""Throughput and memory: ``maildesk run --once`` over a full mailbox, against the floor.

For each run: a fresh private Dovecot gets the corpus APPENDed to INBOX
(untimed), a fresh database gets its schema (``maildesk db upgrade``,
untimed), the floor reads the same INBOX (timed, a child process), the
durable floor (``bench/durable_floor.py``) takes it in durably and moves it to
``Processed`` (timed, a child process; the mails go back to INBOX untimed), then
``maildesk run --once`` (timed, a child process, the real CLI) takes in every
mail with the whole pipeline and delivers its outbox to the SMTP sink. After
the run the database and the mailbox are checked: every mail stored once
(inbound messages + quarantine rows = N, no Message-ID twice), INBOX empty,
replies on the ticket the corpus predicts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import proc
from bench.corpus import BenchMail, generate
from bench.servers import (
    IMAP_PASSWORD_ENV,
    DovecotServer,
    TimedSink,
    append_all,
    database,
    write_config,
)

BATCH_SIZE = 50


def maildesk_cmd() -> list[str]:
    """The real ``maildesk`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "maildesk"
    if script.exists():
        return [str(script)]
    found = shutil.which("maildesk")
    if found:
        return [found]
    return [sys.executable, "-c", "from maildesk.cli.main import main; main()"]


def child_env(dovecot: DovecotServer) -> dict[str, str]:
    """The environment for maildesk: ours plus the IMAP password it reads."""
    env = dict(os.environ)
    env[IMAP_PASSWORD_ENV] = dovecot.password
    return env


@dataclass
class Expected:
    """What the corpus says should come out: per Message-ID its kind and ticket."""

    kinds: dict[str, str]
    tickets: dict[str, str | None]

    @property
    def n(self) -> int:
        return len(self.kinds)


def _recording(mails: Iterator[BenchMail], expected: Expected) -> Iterator[bytes]:
    for mail in mails:
        expected.kinds[mail.message_id] = mail.kind
        expected.tickets[mail.message_id] = mail.ticket
        yield mail.raw


def fill_inbox(dovecot: DovecotServer, seed: int, n: int, year: int) -> tuple[Expected, float]:
    """APPEND the corpus to INBOX; returns the expectations and the time it took."""
    expected = Expected({}, {})
    started = time.perf_counter()
    append_all(dovecot, _recording(generate(seed, n, year=year), expected))
    return expected, time.perf_counter() - started


def _counts(rows: Any) -> dict[str, int]:
    return {str(key): int(value) for key, value in rows}


def check_run(db_url: str, dovecot: DovecotServer, expected: Expected) -> dict[str, Any]:
    """What the database and the mailbox hold after a run, and whether it is right."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:

            def scalar(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one())

            inbound = scalar("SELECT count(*) FROM messages WHERE direction = 'in'")
            distinct = scalar(
                "SELECT count(DISTINCT message_id) FROM messages WHERE direction = 'in'"
            )
            quarantined = scalar("SELECT count(*) FROM quarantine")
            tickets = scalar("SELECT count(*) FROM tickets")
            outbox = _counts(
                conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status"))
            )
            outbox_kinds = _counts(
                conn.execute(text("SELECT kind, count(*) FROM outbox GROUP BY kind"))
            )
            rows = conn.execute(
                text(
                    "SELECT m.message_id, m.disposition, t.number FROM messages m "
                    "LEFT JOIN tickets t ON t.id = m.ticket_id WHERE m.direction = 'in'"
                )
            ).all()
            reasons = _counts(
                conn.execute(text("SELECT reason, count(*) FROM quarantine GROUP BY reason"))
            )
    finally:
        engine.dispose()
    dispositions = Counter(str(r[1]) for r in rows)
    wrong_ticket = sum(
        1
        for mid, _disp, number in rows
        if expected.kinds.get(mid) in ("reply", "tagged") and number != expected.tickets.get(mid)
    )
    inbox = dovecot.count("INBOX")
    folders = set(dovecot.folders())
    processed = dovecot.count("Processed") if "Processed" in folders else 0
    held = dovecot.count("Quarantine") if "Quarantine" in folders else 0
    reports = sum(1 for k in expected.kinds.values() if k == "report")
    ok = (
        inbound + quarantined == expected.n
        and distinct == inbound
        and inbox == 0
        and processed + held == expected.n
    )
    return {
        "ok": ok,
        "messages_in": inbound,
        "distinct_message_ids_in": distinct,
        "quarantined": quarantined,
        "quarantine_reasons": reasons,
        "tickets": tickets,
        "tickets_expected": reports,
        "replies_on_wrong_ticket": wrong_ticket,
        "dispositions": dict(dispositions),
        "outbox": outbox,
        "outbox_kinds": outbox_kinds,
        "inbox_left": inbox,
        "processed_folder": processed,
        "quarantine_folder": held,
    }


def _result(res: proc.ProcResult, n: int) -> dict[str, Any]:
    return {
        "returncode": res.returncode,
        "wall_s": round(res.wall_s, 3),
        "mails_per_s": round(n / res.wall_s, 1) if res.wall_s else None,
        "cpu_s": round(res.cpu_s, 2),
        "cpu_user_s": round(res.cpu_user_s, 2),
        "cpu_sys_s": round(res.cpu_sys_s, 2),
        "peak_rss_mb": round(res.maxrss_mb, 1),
        "ru_maxrss_mb": round(res.ru_maxrss_mb, 1),
    }


def durable_floor_run(
    dovecot: DovecotServer, sink: TimedSink, db_kind: str, workdir: Path, run_dir: Path, n: int
) -> dict[str, Any]:
    """The durable floor (``bench/durable_floor.py``) as a timed child process, on a
    database of its own of the same kind; then the mails go back to INBOX (untimed)."""
    result_json = run_dir / "durable-floor.json"
    with database(db_kind, workdir, "durable-floor") as url:
        res = proc.run(
            [
                sys.executable,
                "-m",
                "bench.durable_floor",
                "--port",
                str(dovecot.port),
                "--user",
                dovecot.user,
                "--password-env",
                IMAP_PASSWORD_ENV,
                "--db-url",
                url,
                "--smtp-host",
                sink.host,
                "--smtp-port",
                str(sink.port),
                "--batch-size",
                str(BATCH_SIZE),
                "--out",
                str(result_json),
            ],
            child_env(dovecot),
            run_dir / "durable-floor.log",
        )
    if res.returncode != 0:
        raise RuntimeError(f"durable floor failed:\n{res.log_tail()}")
    inner = json.loads(result_json.read_text())
    left = dovecot.count("INBOX")
    with dovecot.client() as imap:
        imap.select_folder("Processed")
        imap.move(sorted(imap.search(["ALL"])), "INBOX")
    if left or dovecot.count("INBOX") != n:
        raise RuntimeError(f"durable floor left {left} mails in INBOX")
    return _result(res, n) | {
        "mails": inner["mails"],
        "acks": inner["acks"],
        "loop_s": round(inner["loop_s"], 3),
    }


def ingest_run(
    db_kind: str,
    n: int,
    seed: int,
    year: int,
    workdir: Path,
    *,
    with_floor: bool = True,
    sample_every: float | None = None,
    label: str = "tp",
) -> dict[str, Any]:
    """One full ingest measurement of ``n`` mails on ``db_kind``; see the module docstring."""
    run_dir = workdir / f"{label}-{db_kind}-{n}"
    run_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"db": db_kind, "n": n, "seed": seed, "batch_size": BATCH_SIZE}
    with DovecotServer() as dovecot, TimedSink() as sink, database(db_kind, workdir, label) as url:
        expected, append_s = fill_inbox(dovecot, seed, n, year)
        out["append_s"] = round(append_s, 2)
        out["corpus"] = dict(Counter(expected.kinds.values()))
        env = child_env(dovecot)
        config = write_config(
            run_dir / "maildesk.toml",
            db_url=url,
            data_dir=run_dir / "var",
            dovecot=dovecot,
            sink=sink,
            batch_size=BATCH_SIZE,
        )
        upgrade = proc.run(
            [*maildesk_cmd(), "db", "upgrade", "--config", str(config)],
            env,
            run_dir / "db-upgrade.log",
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"maildesk db upgrade failed:\n{upgrade.log_tail()}")
        if with_floor:
            floor_db = run_dir / "floor.db"
            floor_json = run_dir / "floor.json"
            res = proc.run(
                [
                    sys.executable,
                    "-m",
                    "bench.floor",
                    "--port",
                    str(dovecot.port),
                    "--user",
                    dovecot.user,
                    "--password-env",
                    IMAP_PASSWORD_ENV,
                    "--db",
                    str(floor_db),
                    "--batch-size",
                    str(BATCH_SIZE),
                    "--out",
                    str(floor_json),
                ],
                env,
                run_dir / "floor.log",
            )
            if res.returncode != 0:
                raise RuntimeError(f"floor failed:\n{res.log_tail()}")
            inner = json.loads(floor_json.read_text())
            out["floor"] = _result(res, n) | {
                "mails": inner["mails"],
                "loop_s": round(inner["loop_s"], 3),
            }
            floor_db.unlink(missing_ok=True)
            out["durable_floor"] = durable_floor_run(dovecot, sink, db_kind, workdir, run_dir, n)
        sent_before = len(sink.arrived())
        res = proc.run(
            [*maildesk_cmd(), "run", "--once", "--config", str(config)],
            env,
            run_dir / "maildesk.log",
            sample_every=sample_every,
        )
        out["maildesk"] = _result(res, n) | {"mails_logged": res.mails_logged}
        if res.returncode != 0:
            out["maildesk"]["log_tail"] = res.log_tail()
        if sample_every:
            out["samples"] = [
                {"t": round(s.t, 2), "rss_mb": round(s.rss_mb, 1), "mails": s.mails}
                for s in res.samples
            ]
        out["check"] = check_run(url, dovecot, expected)
        out["sink_received"] = len(sink.arrived()) - sent_before
        if with_floor and out["floor"]["wall_s"]:
            out["ratio_to_floor"] = round(out["floor"]["wall_s"] / res.wall_s, 3)
            durable = out["durable_floor"]
            out["ratio_to_durable_floor"] = round(durable["wall_s"] / res.wall_s, 3)
            if res.cpu_s:
                out["cpu_ratio_to_durable_floor"] = round(durable["cpu_s"] / res.cpu_s, 3)
    return out
