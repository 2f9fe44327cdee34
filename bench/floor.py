"""The floor: a bare loop with the same libraries maildesk uses, over the same mailbox.

imapclient batch fetch (``BODY.PEEK[]``, the same batch size), mail-parser,
and one bulk insert per batch into a simple SQLite table (WAL,
``synchronous=NORMAL`` like maildesk; the raw bytes are stored too). No
classification, no threading of tickets, no outbox, no move to another folder:
it reads the mailbox without changing it. Whatever maildesk does beyond this
is the cost of being a helpdesk; the report states maildesk's throughput as a
share of this floor, measured on the same machine in the same run.

Run as a child process, like ``maildesk run --once``, so both pay for starting
an interpreter and importing their libraries:
``python -m bench.floor --port P --user U --db PATH [--out RESULT.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import mailparser
from imapclient import IMAPClient

SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    id INTEGER PRIMARY KEY,
    message_id TEXT UNIQUE,
    sender TEXT,
    subject TEXT,
    date TEXT,
    body TEXT,
    attachments INTEGER,
    raw BLOB
)
"""


def floor(
    host: str, port: int, user: str, password: str, db_path: Path, batch_size: int
) -> dict[str, float | int]:
    """Fetch, parse and store every mail in INBOX; returns counts and the loop's time."""
    started = time.perf_counter()
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    imap = IMAPClient(host, port=port, ssl=False, timeout=30)
    imap.login(user, password)
    imap.select_folder("INBOX", readonly=True)
    uids = sorted(imap.search(["UNDELETED"]))
    stored = 0
    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        fetched = imap.fetch(batch, ["BODY.PEEK[]"])
        rows = []
        for uid in batch:
            raw = bytes(fetched[uid][b"BODY[]"])
            mail = mailparser.parse_from_bytes(raw)
            sender = mail.from_[0][1] if mail.from_ else ""
            rows.append(
                (
                    mail.message_id,
                    sender,
                    mail.subject,
                    str(mail.date),
                    mail.body,
                    len(mail.attachments),
                    raw,
                )
            )
        db.executemany(
            "INSERT OR IGNORE INTO mails"
            " (message_id, sender, subject, date, body, attachments, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.commit()
        stored += len(rows)
    imap.logout()
    db.close()
    return {"mails": stored, "loop_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the result as one JSON line."""
    parser = argparse.ArgumentParser(description="maildesk benchmark floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", default="MAILDESK_BENCH_IMAP_PASSWORD")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the JSON result here, not to stdout")
    args = parser.parse_args(argv)
    result = floor(
        args.host,
        args.port,
        args.user,
        os.environ[args.password_env],
        args.db,
        args.batch_size,
    )
    if args.out:
        args.out.write_text(json.dumps(result), encoding="utf-8")
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
