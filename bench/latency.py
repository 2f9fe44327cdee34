"""Ack latency: APPEND a mail to INBOX, time until the ack reaches the SMTP sink.

``maildesk run`` (the long-running daemon, real CLI) watches a private Dovecot
and sends through the sink. New reports are APPENDed one at a time at a
steady rate from one IMAP session; for each, the time from just before the
APPEND to the arrival of the ack (the mail to the reporter that answers its
Message-ID) is recorded. Two warm-up mails go first and are not counted.

maildesk waits in IMAP IDLE (Dovecot announces new mail within moments), and
the outbox courier sends an ack as soon as the transaction that queued it
commits, so the intervals are the daemon's defaults (``poll_interval`` 60 s,
``flush_interval`` 5 s): neither is on the ack's path. The split of each
latency into "APPEND -> picked up" (the stored message's ``created_at``,
stamped by maildesk while it processes the mail) and "picked up -> ack
arrived" shows which of the two dominates.
"""

from __future__ import annotations

import email.parser
import email.policy
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import proc
from bench.corpus import generate
from bench.ingest import child_env, maildesk_cmd
from bench.servers import DovecotServer, TimedSink, database, write_config

WARMUP = 2
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def _bracketless(value: str | None) -> str:
    return (value or "").strip().strip("<>")


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50, p95, p99 (inclusive method) and max, in seconds."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)
    if len(ordered) == 1:
        cuts = [ordered[0]] * 99
    else:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50": round(cuts[49], 3),
        "p95": round(cuts[94], 3),
        "p99": round(cuts[98], 3),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def _wait_ready(dovecot: DovecotServer, child: proc.Child, timeout: float = 60.0) -> None:
    """maildesk creates the Processed folder on its first connection: then it is polling."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError("maildesk run exited during start-up")
        if "Processed" in dovecot.folders():
            return
        time.sleep(0.1)
    raise RuntimeError("maildesk run did not connect to the mailbox in time")


def latency_run(
    db_kind: str,
    workdir: Path,
    *,
    seed: int,
    year: int,
    rate: float,
    seconds: float,
    poll_interval: float,
    flush_interval: float,
    grace: float = 30.0,
) -> dict[str, Any]:
    """Measure ack latency; see the module docstring."""
    count = max(int(rate * seconds), 1)
    run_dir = workdir / f"latency-{db_kind}"
    run_dir.mkdir(parents=True, exist_ok=True)
    mails = list(generate(seed + 1000, count + WARMUP, year=year, only_reports=True))
    with DovecotServer() as dovecot, TimedSink() as sink, database(db_kind, workdir, "lat") as url:
        config = write_config(
            run_dir / "maildesk.toml",
            db_url=url,
            data_dir=run_dir / "var",
            dovecot=dovecot,
            sink=sink,
            poll_interval=poll_interval,
            flush_interval=flush_interval,
        )
        env = child_env(dovecot)
        upgrade = proc.run(
            [*maildesk_cmd(), "db", "upgrade", "--config", str(config)],
            env,
            run_dir / "db-upgrade.log",
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"maildesk db upgrade failed:\n{upgrade.log_tail()}")
        child = proc.Child(
            [*maildesk_cmd(), "run", "--config", str(config)],
            env,
            run_dir / "maildesk.log",
        )
        sent: dict[str, tuple[float, float, str]] = {}  # mid -> (monotonic, wall, sender)
        try:
            _wait_ready(dovecot, child)
            with dovecot.client() as imap:
                warm = {m.message_id: (0.0, 0.0, m.sender) for m in mails[:WARMUP]}
                for mail in mails[:WARMUP]:
                    imap.append("INBOX", mail.raw)
                deadline = time.monotonic() + 60
                while _acks(sink, warm)[1] < WARMUP and time.monotonic() < deadline:
                    time.sleep(0.05)
                started = time.monotonic()
                for i, mail in enumerate(mails[WARMUP:]):
                    due = started + i / rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    sent[mail.message_id] = (time.monotonic(), time.time(), mail.sender)
                    imap.append("INBOX", mail.raw)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _acks(sink, sent)[1] < len(sent):
                time.sleep(0.1)
        finally:
            child.terminate()
            result = child.wait(timeout=60)
        acks, _ = _acks(sink, sent)
        stored = _stored_at(url, list(sent))
    latencies = [acks[mid] - t0 for mid, (t0, _w, _s) in sent.items() if mid in acks]
    pickup = [
        stored[mid] - wall for mid, (_t0, wall, _s) in sent.items() if mid in stored
    ]  # APPEND -> committed (wall clocks of the same machine)
    delivery = [
        (acks[mid] - t0) - (stored[mid] - wall)
        for mid, (t0, wall, _s) in sent.items()
        if mid in acks and mid in stored
    ]
    return {
        "db": db_kind,
        "rate_per_s": rate,
        "seconds": seconds,
        "mails": len(sent),
        "acked": len(latencies),
        "poll_interval_s": poll_interval,
        "flush_interval_s": flush_interval,
        "idle": False,
        "ack_latency_s": percentiles(latencies),
        "append_to_pickup_s": percentiles(pickup),
        "pickup_to_ack_s": percentiles(delivery),
        "daemon_cpu_s": round(result.cpu_s, 2),
        "daemon_peak_rss_mb": round(result.maxrss_mb, 1),
        "daemon_exit": result.returncode,
    }


def _acks(
    sink: TimedSink, sent: dict[str, tuple[float, float, str]]
) -> tuple[dict[str, float], int]:
    """Arrival time of the first mail to the reporter answering each sent Message-ID."""
    found: dict[str, float] = {}
    for arrival in sink.arrived():
        head = _HEADERS.parsebytes(arrival.mail.data)
        mid = _bracketless(head.get("In-Reply-To"))
        if mid in sent and mid not in found and sent[mid][2] in arrival.mail.rcpt_tos:
            found[mid] = arrival.at
    return found, len(found)


def _stored_at(url: str, message_ids: list[str]) -> dict[str, float]:
    """When maildesk recorded each inbound message (its ``created_at``), as a Unix time."""
    engine = create_engine(url)
    out: dict[str, float] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT message_id, created_at FROM messages WHERE direction = 'in'")
            ).all()
    finally:
        engine.dispose()
    wanted = set(message_ids)
    for mid, created in rows:
        if mid not in wanted:
            continue
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        out[mid] = created.timestamp()
    return out
