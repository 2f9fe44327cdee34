"""Clients and contacts changed over the CLI while daemons run: no restart, no query per mail.

The CLI writes the change and moves the version row; each running process
compares that row with what it loaded once a second and reloads the clients.
The tests wait for that reload (the issue allows five seconds), then send mail
from the new contact and check that it is recognised as the client's.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.store.client_data import read_version
from maildesk.store.db import Database
from maildesk.store.models import Client, Event, QuarantinedMail, Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, running, settings_for
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.integration
MAILDESK = str(Path(sys.executable).parent / "maildesk")
RELOAD_SECONDS = 5.0  # what the issue allows between a change and the next mail seeing it


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILDESK_CONFIG"}
    return subprocess.run(
        [MAILDESK, *args, "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_for(what: str, predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.05)


def tickets_of(db: Database, requester: str) -> list[tuple[str | None, str]]:
    with db.session() as session:
        rows = session.execute(
            select(Client.key, Ticket.requester_role)
            .select_from(Ticket)
            .outerjoin(Client, Client.id == Ticket.client_id)
            .where(Ticket.requester == requester)
        ).all()
    return [(r[0], r[1]) for r in rows]


def quarantined(db: Database, sender: str) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count(QuarantinedMail.id)).where(QuarantinedMail.sender == sender)
            )
            or 0
        )


def add_beta(config: Path) -> None:
    done = cli(config, "clients", "add", "beta", "--name", "Beta BV", "--by", "ops-ann")
    assert done.returncode == 0, done.stderr
    done = cli(
        config, "contacts", "add", "beta", "Jan@Beta.example", "--authorised", "--by", "ops-ann"
    )
    assert done.returncode == 0, done.stderr


def test_a_contact_added_over_the_cli_is_known_to_the_running_daemon(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot.password)
    settings, config = settings_for(sqlite_url, tmp_path, dovecot)
    with running(settings) as desk:
        raw, _ = mail(sender="jan@beta.example", subject="Before")
        dovecot.append("INBOX", raw)
        wait_for("the stranger's mail held", lambda: quarantined(desk.db, "jan@beta.example") == 1)
        add_beta(config)
        with desk.db.session() as session:
            version = read_version(session)
        wait_for(
            "the daemon reloaded the clients",
            lambda: desk.directory.version == version,
            RELOAD_SECONDS,
        )
        raw, _ = mail(sender="jan@beta.example", subject="After")
        dovecot.append("INBOX", raw)
        wait_for("the contact's ticket", lambda: bool(tickets_of(desk.db, "jan@beta.example")))
        assert tickets_of(desk.db, "jan@beta.example") == [("beta", "authorised")]

        removed = cli(config, "contacts", "remove", "jan@beta.example")
        assert removed.returncode == 0, removed.stderr
        with desk.db.session() as session:
            version = read_version(session)
        wait_for(
            "the daemon reloaded again",
            lambda: desk.directory.version == version,
            RELOAD_SECONDS,
        )
        raw, _ = mail(sender="jan@beta.example", subject="Removed")
        dovecot.append("INBOX", raw)
        wait_for("a stranger again", lambda: quarantined(desk.db, "jan@beta.example") == 2)
        assert len(tickets_of(desk.db, "jan@beta.example")) == 1
    history = cli(config, "clients", "history", "beta", "--json")
    assert history.returncode == 0, history.stderr
    assert '"kind": "client_added"' in history.stdout
    assert '"kind": "contact_added"' in history.stdout
    assert '"kind": "contact_removed"' in history.stdout
    assert history.stdout.count('"by": "ops-ann"') == 2


@contextmanager
def daemons(config: Path, logs: list[Path], env: dict[str, str]) -> Iterator[None]:
    procs = [
        subprocess.Popen(
            [MAILDESK, "run", "--config", str(config)],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)


def test_two_daemons_on_postgresql_both_learn_the_new_contact(
    postgres_url: str, tmp_path: Path, dovecot: DovecotServer
) -> None:
    _, config = settings_for(postgres_url, tmp_path, dovecot)
    env = {**os.environ, IMAP_PASSWORD_ENV: dovecot.password}
    env.pop("MAILDESK_CONFIG", None)
    db = Database(postgres_url)
    db.upgrade()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with daemons(config, logs, env):
        wait_for(
            "both daemons started",
            lambda: all("health and metrics" in log.read_text(errors="replace") for log in logs),
        )
        add_beta(config)
        wait_for(
            "both daemons reloaded the clients",
            lambda: all("clients changed" in log.read_text(errors="replace") for log in logs),
            RELOAD_SECONDS,
        )
        senders = ["jan@beta.example"] * 6
        for i, sender in enumerate(senders):
            raw, _ = mail(sender=sender, subject=f"After {i}")
            dovecot.append("INBOX", raw)
        wait_for("six tickets", lambda: len(tickets_of(db, "jan@beta.example")) == 6)
    assert tickets_of(db, "jan@beta.example") == [("beta", "authorised")] * 6
    db.dispose()


def test_config_clients_are_changed_in_the_file_and_bad_values_are_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    _, config = settings_for(sqlite_url, tmp_path)
    Database(sqlite_url).upgrade()
    refused = cli(config, "contacts", "add", "acme", "new@acme.example")
    assert refused.returncode == 1
    assert "managed by the config file" in refused.stderr and str(config) in refused.stderr
    taken = cli(config, "clients", "add", "acme", "--name", "Acme again")
    assert taken.returncode == 1 and "already in the config" in taken.stderr
    add_beta(config)
    for args, problem in (
        (("clients", "edit", "beta", "--policy", "gold"), "policy 'gold' is not defined"),
        (("clients", "edit", "beta", "--language", "de"), "language"),
        (("contacts", "add", "beta", "boss@acme.example"), "already a contact of client 'acme'"),
        (("contacts", "add", "beta", "jan@beta.example"), "already a contact of client 'beta'"),
        (("contacts", "edit", "nobody@beta.example", "--name", "X"), "no contact"),
    ):
        done = cli(config, *args)
        assert done.returncode == 1, args
        assert problem in done.stderr, (args, done.stderr)
    db = Database(sqlite_url)
    with db.session() as session:
        kinds = session.scalars(select(Event.kind).where(Event.client_id.is_not(None))).all()
    db.dispose()
    assert kinds == ["client_added", "contact_added"], "refused changes leave no trace"


GAMMA = """
[[clients]]
id = "gamma"
name = "Gamma"
contacts = [{ email = "g@gamma.example" }]
"""


def test_sighup_takes_a_good_file_and_refuses_a_bad_one(
    sqlite_url: str, tmp_path: Path, dovecot: DovecotServer
) -> None:
    _, config = settings_for(sqlite_url, tmp_path, dovecot)
    # A new client, and the mailbox watched differently: its watcher is restarted.
    good = config.read_text(encoding="utf-8").replace("poll_interval = 0.5", "poll_interval = 0.4")
    assert "poll_interval = 0.4" in good
    good += GAMMA
    env = {**os.environ, IMAP_PASSWORD_ENV: dovecot.password}
    env.pop("MAILDESK_CONFIG", None)
    db = Database(sqlite_url)
    db.upgrade()
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [MAILDESK, "run", "--config", str(config)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def logged(text: str) -> Callable[[], bool]:
        return lambda: log.read_text(errors="replace").count(text) > 0

    try:
        wait_for("the daemon started", logged("health and metrics"))
        config.write_text(good, encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        wait_for("the new file taken", logged("reloaded"))
        assert logged("now watching 1 mailbox(es)")(), "the mailbox watcher restarted"
        raw, _ = mail(sender="g@gamma.example", subject="Known now")
        dovecot.append("INBOX", raw)
        wait_for("gamma's ticket", lambda: bool(tickets_of(db, "g@gamma.example")))
        assert tickets_of(db, "g@gamma.example") == [("gamma", "contact")]

        config.write_text(good.replace('id = "gamma"', 'id = "Gamma!"'), encoding="utf-8")
        expected = cli(config, "check-config")
        assert expected.returncode == 2
        message = expected.stderr.strip().removeprefix("maildesk: ")
        proc.send_signal(signal.SIGHUP)
        wait_for("the bad file refused", logged("config not reloaded"))
        assert message in log.read_text(errors="replace"), "the same words as check-config"
        assert proc.poll() is None, "the daemon keeps running"
        raw, _ = mail(sender="g@gamma.example", subject="Still known")
        dovecot.append("INBOX", raw)
        wait_for(
            "a second ticket on the old file", lambda: len(tickets_of(db, "g@gamma.example")) == 2
        )
        assert tickets_of(db, "g@gamma.example") == [("gamma", "contact")] * 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    db.dispose()


HEADER = "client,client_name,policy,language,domains,match_domain,"
CSV = (
    HEADER
    + """email,contact_name,authorised,contact_language
delta,Delta NV,default,nl,delta.example,yes,an@delta.example,An,yes,
delta,,,,,,piet@delta.example,Piet,no,fr
epsilon,Epsilon SA,,fr,,,,,,
"""
)


def test_clients_import_export_round_trip_and_a_bad_line_refuses_the_file(
    sqlite_url: str, tmp_path: Path
) -> None:
    _, config = settings_for(sqlite_url, tmp_path)
    Database(sqlite_url).upgrade()
    source = tmp_path / "clients.csv"
    source.write_text(CSV.replace(",fr\n", ",de\n"), encoding="utf-8")
    bad = cli(config, "clients", "import", str(source))
    assert bad.returncode == 1 and "line 3: language" in bad.stderr, bad.stderr
    exported = cli(config, "clients", "export", "--json")
    assert [r["client"] for r in json.loads(exported.stdout)] == ["acme"], "nothing written"

    source.write_text(CSV, encoding="utf-8")
    done = cli(config, "clients", "import", str(source), "--by", "ops-ann", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["clients_added"] == ["delta", "epsilon"]
    assert result["contacts_added"] == ["an@delta.example", "piet@delta.example"]

    out = tmp_path / "export.csv"
    assert cli(config, "clients", "export", "--output", str(out)).returncode == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    expected_rows = list(csv.DictReader(CSV.splitlines()))
    by_email = {(r["client"], r["email"]): r for r in rows}
    for want in expected_rows:
        got = by_email[(want["client"], want["email"])]
        for column, value in want.items():
            if value:
                assert got[column] == value, (column, want, got)
    assert by_email[("acme", "boss@acme.example")]["managed_by"] == "config"

    again = cli(config, "clients", "import", str(out), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "clients_added": [],
        "clients_changed": [],
        "contacts_added": [],
        "contacts_changed": [],
        "skipped_config": ["acme"],
    }
    source.write_text("client,colour\nx,red\n", encoding="utf-8")
    unknown = cli(config, "clients", "import", str(source))
    assert unknown.returncode == 2 and "unknown column 'colour'" in unknown.stderr
