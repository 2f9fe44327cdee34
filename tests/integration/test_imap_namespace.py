"""Folders where the server keeps them: a Dovecot whose namespace has the ``INBOX.`` prefix.

Courier-IMAP and Cyrus keep every folder under ``INBOX.`` with ``.`` as the
delimiter and refuse ``CREATE Processed``; this private Dovecot is configured
the same way (``namespace_prefix="INBOX."``, ``delimiter="."``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.daemon import Maildesk
from maildesk.ingest.imap import ImapIntake, MailboxUnavailable
from maildesk.store.models import Ticket
from tests.integration.helpers import IMAP_PASSWORD_ENV, mail, running, settings_for
from tests.servers.dovecot import DovecotServer, find_dovecot
from tests.servers.fixtures import unavailable

pytestmark = pytest.mark.integration

PREFIX = "INBOX."


@pytest.fixture
def courier_like() -> Iterator[DovecotServer]:
    """A private Dovecot that keeps every folder under ``INBOX.``, delimiter ``.``."""
    if find_dovecot() is None:
        unavailable("dovecot binary not found", "apt-get install -y dovecot-imapd")
    with DovecotServer(namespace_prefix=PREFIX, delimiter=".") as server:
        yield server


def _tickets(desk: Maildesk) -> int:
    with desk.db.session() as session:
        return int(session.scalar(select(func.count(Ticket.id))) or 0)


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def test_the_server_refuses_folders_outside_its_namespace(courier_like: DovecotServer) -> None:
    """The premise: what maildesk used to do fails on this server."""
    with pytest.raises(Exception, match="namespace"):
        courier_like.create_folder("Processed")


def test_daemon_takes_mail_in_and_moves_it_under_the_prefix(
    sqlite_url: str, tmp_path: Path, courier_like: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, courier_like.password)
    settings, _ = settings_for(sqlite_url, tmp_path, courier_like)
    junk = b"this is not a mail at all\n\xff\xfe no headers here\n"
    courier_like.append("INBOX", junk)
    for i in range(3):
        courier_like.append("INBOX", mail(sender=f"u{i}@acme.example", subject=f"Case {i}")[0])
    with running(settings) as desk:
        _wait_for(lambda: _tickets(desk) == 3 and courier_like.count("INBOX") == 0)
        courier_like.append("INBOX", mail(subject="While running")[0])
        _wait_for(lambda: _tickets(desk) == 4 and courier_like.count("INBOX") == 0)
    processed, quarantine = PREFIX + "Processed", PREFIX + "Quarantine"
    assert courier_like.folders() == sorted(["INBOX", processed, quarantine])
    assert courier_like.count(processed) == 4
    assert courier_like.count(quarantine) == 1


def test_a_full_path_in_the_config_is_kept_and_watched_folders_are_placed(
    sqlite_url: str, tmp_path: Path, courier_like: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, courier_like.password)
    courier_like.create_folder("INBOX.Support")
    settings, _ = settings_for(sqlite_url, tmp_path, courier_like)
    source = settings.intake.imap[0].model_copy(
        # one written with the server's delimiter, one with maildesk's "/"
        update={
            "folders": ("INBOX", "Support"),  # a watched folder is placed like the others
            "processed_folder": "INBOX.Support.Done",
            "quarantine_folder": "INBOX/Held",
        }
    )
    settings = settings.model_copy(
        update={"intake": settings.intake.model_copy(update={"imap": (source,)})}
    )
    courier_like.append("INBOX", mail()[0])
    courier_like.append("INBOX.Support", mail(subject="Filed by a rule")[0])
    desk = Maildesk(settings)
    desk.prepare()
    try:
        assert not desk.run_once().errors
    finally:
        desk.db.dispose()
    assert courier_like.count("INBOX.Support.Done") == 2
    assert courier_like.count("INBOX.Support") == 0
    assert "INBOX.Held" in courier_like.folders()


def test_a_refused_create_names_the_folder_and_the_servers_answer(
    sqlite_url: str, tmp_path: Path, courier_like: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, courier_like.password)
    settings, _ = settings_for(sqlite_url, tmp_path, courier_like)
    source = settings.intake.imap[0].model_copy(update={"processed_folder": "~Done"})
    settings = settings.model_copy(
        update={"intake": settings.intake.model_copy(update={"imap": (source,)})}
    )
    desk = Maildesk(settings)
    desk.prepare()
    intake: ImapIntake = desk.intakes[0]
    try:
        with pytest.raises(MailboxUnavailable) as caught:
            intake.poll()
    finally:
        intake.close()
        desk.db.dispose()
    message = str(caught.value)
    assert "'INBOX.~Done'" in message, "the folder, as the server was asked for it"
    assert "Invalid mailbox name" in message, "the server's own answer"
    assert "'INBOX.'" in caught.value.hint and "processed_folder" in caught.value.hint
