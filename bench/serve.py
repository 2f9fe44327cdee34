"""Keep a filled mailbox up for profiling: ``python -m bench.serve --n 2000 --dir /tmp/prof``.

Starts a private Dovecot and the SMTP sink, APPENDs the corpus to INBOX and
writes ``DIR/maildesk.toml`` (SQLite at ``DIR/maildesk.db``, or ``--db-url``).
Then it waits: each ``SIGUSR1`` (or Enter) empties the mailbox, APPENDs the
corpus again and deletes the SQLite file, so ``maildesk run --once`` can be
profiled again on the same input; Ctrl-C or SIGTERM stops it (and Dovecot with
it). The IMAP password is in
``DIR/env`` (``source`` it before running maildesk).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from bench.ingest import fill_inbox
from bench.servers import IMAP_PASSWORD_ENV, DovecotServer, TimedSink, write_config


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--db-url", help="instead of SQLite in DIR (you reset it yourself)")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    db_file = args.dir / "maildesk.db"
    refill = threading.Event()
    stop = threading.Event()
    with DovecotServer() as dovecot, TimedSink() as sink:

        def fill() -> None:
            dovecot.reset()
            for path in args.dir.glob("maildesk.db*"):
                path.unlink()
            _, seconds = fill_inbox(dovecot, args.seed, args.n, args.year)
            print(f"INBOX holds {args.n} mails (APPEND took {seconds:.1f} s)", flush=True)

        fill()
        config = write_config(
            args.dir / "maildesk.toml",
            db_url=args.db_url or f"sqlite:///{db_file}",
            data_dir=args.dir / "var",
            dovecot=dovecot,
            sink=sink,
        )
        (args.dir / "env").write_text(f"export {IMAP_PASSWORD_ENV}={dovecot.password}\n")
        print(f"config: {config}\nSIGUSR1 or Enter refills; Ctrl-C stops", flush=True)
        signal.signal(signal.SIGUSR1, lambda *_: refill.set())
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        threading.Thread(target=_stdin_refills, args=(refill,), daemon=True).start()
        while not stop.is_set():
            if refill.wait(0.5):
                refill.clear()
                fill()
    return 0


def _stdin_refills(refill: threading.Event) -> None:
    for _line in sys.stdin:
        refill.set()


if __name__ == "__main__":
    sys.exit(main())
