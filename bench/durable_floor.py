"""The durable floor: the least a pipeline must do to give maildesk's guarantees.

imapclient batch fetch (``BODY.PEEK[]``, the same batch size), mail-parser, then per
mail **one database transaction** (the mail's row and, for a new mail, its
acknowledgement queued in an outbox table, committed together), the fetched batch's
committed mails **moved to** ``Processed`` **after their commits** (one ``MOVE`` per
batch, as maildesk's crash rules allow), and one short acknowledgement per new mail
rendered from a Jinja2 template, composed with the standard library
(``EmailMessage``, the SMTP policy) and delivered over one SMTP connection to the
sink, then marked sent (one statement per batch). A mail is new when it is no reply
(no ``In-Reply-To``/``References``, no ``[#`` ticket tag) and no auto-reply.

Nothing else: no classification, no threads, no SLA, no staff notices. Same database
settings as maildesk (SQLite WAL with ``synchronous=NORMAL``; PostgreSQL's defaults),
same libraries. It changes the mailbox like maildesk; the benchmark moves the mails
back to INBOX (untimed) before maildesk runs.

Run as a child process, like ``maildesk run --once``, so both pay for starting an
interpreter and importing their libraries:
``python -m bench.durable_floor --port P --user U --db-url URL --smtp-port S [--out F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import sqlite3
import sys
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import jinja2
import mailparser
from imapclient import IMAPClient

PROCESSED = "Processed"
SUPPORT = "support@helpdesk.example"
ACK = jinja2.Template(
    "Hello {{ name or 'there' }},\n\n"
    'we received your message "{{ subject }}" and will answer it soon.\n\n'
    "The helpdesk\n"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS floor_mails (id {pk}, message_id TEXT UNIQUE, sender TEXT,"
    " subject TEXT, date TEXT, body TEXT, attachments INTEGER, raw {blob})",
    "CREATE TABLE IF NOT EXISTS floor_outbox (id {pk}, mail_id INTEGER, to_addr TEXT,"
    " subject TEXT, body TEXT, in_reply_to TEXT, sent INTEGER DEFAULT 0)",
)


def _connect(url: str) -> tuple[Any, str]:
    """A DB-API connection for an SQLAlchemy-style URL, and its placeholder."""
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for stmt in SCHEMA:
            db.execute(stmt.format(pk="INTEGER PRIMARY KEY", blob="BLOB"))
        db.commit()
        return db, "?"
    import psycopg

    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    for stmt in SCHEMA:
        pg.execute(stmt.format(pk="BIGSERIAL PRIMARY KEY", blob="BYTEA"))
    pg.commit()
    return pg, "%s"


def _is_new(mail: mailparser.MailParser) -> bool:
    headers = {k.lower() for k in mail.headers}
    auto = str(mail.headers.get("Auto-Submitted", "no")).strip().lower()
    return (
        "in-reply-to" not in headers
        and "references" not in headers
        and "[#" not in (mail.subject or "")
        and auto in ("", "no")
    )


def _ack(row: tuple[Any, ...]) -> EmailMessage:
    _id, to, subject, body, in_reply_to = row
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Helpdesk <{SUPPORT}>"
    msg["To"] = to
    msg["Subject"] = f"Re: {subject}"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="helpdesk.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body)
    return msg


def durable_floor(
    imap_args: tuple[str, int, str, str],
    db_url: str,
    smtp_addr: tuple[str, int],
    batch_size: int,
) -> dict[str, float | int]:
    """Take in every mail of INBOX durably; returns counts and the loop's time."""
    started = time.perf_counter()
    host, port, user, password = imap_args
    db, p = _connect(db_url)
    insert_mail = (
        "INSERT INTO floor_mails (message_id, sender, subject, date, body, attachments, raw)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
        " ON CONFLICT (message_id) DO NOTHING RETURNING id"
    )
    insert_ack = (
        "INSERT INTO floor_outbox (mail_id, to_addr, subject, body, in_reply_to)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}) RETURNING id"
    )
    imap = IMAPClient(host, port=port, ssl=False, timeout=30)
    imap.login(user, password)
    if not imap.folder_exists(PROCESSED):
        imap.create_folder(PROCESSED)
    imap.select_folder("INBOX")
    smtp = smtplib.SMTP(*smtp_addr, timeout=30)
    uids = sorted(imap.search(["UNDELETED"]))
    stored = acks = 0
    for start in range(0, len(uids), batch_size):
        batch = uids[start : start + batch_size]
        fetched = imap.fetch(batch, ["BODY.PEEK[]"])
        committed: list[int] = []
        queued: list[tuple[Any, ...]] = []
        for uid in batch:
            raw = bytes(fetched[uid][b"BODY[]"])
            mail = mailparser.parse_from_bytes(raw)
            sender = mail.from_[0][1] if mail.from_ else ""
            name = mail.from_[0][0] if mail.from_ else ""
            cur = db.cursor()
            cur.execute(
                insert_mail,
                (
                    mail.message_id,
                    sender,
                    mail.subject,
                    str(mail.date),
                    mail.body,
                    len(mail.attachments),
                    raw,
                ),
            )
            row = cur.fetchone()
            if row is not None and sender and _is_new(mail):
                body = ACK.render(name=name, subject=mail.subject)
                cur.execute(insert_ack, (row[0], sender, mail.subject, body, mail.message_id))
                ack_id = cur.fetchone()[0]
                queued.append((ack_id, sender, mail.subject, body, mail.message_id))
            db.commit()  # one transaction per mail
            committed.append(uid)
            stored += row is not None
        imap.move(committed, PROCESSED)  # only mails whose commit returned
        for ack in queued:
            smtp.send_message(_ack(ack), from_addr=SUPPORT, to_addrs=[ack[1]])
        if queued:
            ids = [ack[0] for ack in queued]
            db.cursor().execute(
                f"UPDATE floor_outbox SET sent = 1 WHERE id IN ({', '.join([p] * len(ids))})",
                ids,
            )
            db.commit()
            acks += len(queued)
    smtp.quit()
    imap.logout()
    db.close()
    return {"mails": stored, "acks": acks, "loop_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the result, with this process's CPU seconds, as one JSON line."""
    parser = argparse.ArgumentParser(description="maildesk benchmark: the durable floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", default="MAILDESK_BENCH_IMAP_PASSWORD")
    parser.add_argument("--db-url", required=True, help="sqlite:///PATH or postgresql://...")
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the JSON result here, not to stdout")
    args = parser.parse_args(argv)
    result = durable_floor(
        (args.host, args.port, args.user, os.environ[args.password_env]),
        args.db_url,
        (args.smtp_host, args.smtp_port),
        args.batch_size,
    )
    result["process_cpu_s"] = time.process_time()
    if args.out:
        args.out.write_text(json.dumps(result), encoding="utf-8")
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
