"""The rough edges a new operator meets, as real ``maildesk`` processes: options before the
command, a relative data folder, unset secrets and bad hours at ``check-config``, a read-only
data folder, backup and restore, and the database file deleted or replaced under a running
daemon (451, then a stop with the reason)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.helpers import mail

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MAILDESK = str(Path(sys.executable).parent / "maildesk")
SUPPORT = "support@helpdesk.example"
CLIENT = "client@acme.example"


def maildesk(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILDESK_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(
        [MAILDESK, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or tempfile.gettempdir(),  # never the source tree: no stray ./var there
        env=full_env,
    )


def _config(folder: Path, data_dir: str = "data", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "maildesk.toml"
    path.write_text(
        f'[service]\nsupport_address = "{SUPPORT}"\ndata_dir = "{data_dir}"\n'
        'unknown_senders = "accept"\n[ops]\nenabled = false\n' + extra,
        encoding="utf-8",
    )
    return path


# -- options before the command, --version, --log-level ----------------------------------


def test_config_before_the_command_like_git(tmp_path: Path) -> None:
    first = _config(tmp_path / "one", data_dir=str(tmp_path / "one-data"))
    second = _config(tmp_path / "two", data_dir=str(tmp_path / "two-data"))
    assert maildesk("--config", str(first), "db", "upgrade").returncode == 0
    assert maildesk("-c", str(second), "db", "upgrade").returncode == 0
    assert (tmp_path / "one-data" / "maildesk.db").exists()

    checked = maildesk("--config", str(first), "check-config")
    assert checked.returncode == 0, checked.stderr
    assert str(tmp_path / "one-data") in checked.stdout
    # Before the command beats the environment; the command's own option beats both.
    env = {"MAILDESK_CONFIG": str(second)}
    assert str(tmp_path / "one-data") in maildesk("-c", str(first), "check-config", env=env).stdout
    own = maildesk("-c", str(first), "check-config", "-c", str(second))
    assert str(tmp_path / "two-data") in own.stdout
    assert str(tmp_path / "two-data") in maildesk("check-config", env=env).stdout

    listed = maildesk("--config", str(first), "tickets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_version_is_the_packages() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    result = maildesk("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"maildesk {pyproject['project']['version']}"


def test_log_level_before_the_command_or_on_run(tmp_path: Path) -> None:
    config = _config(tmp_path)
    default = maildesk("run", "--once", "-c", str(config))
    assert default.returncode == 0, default.stderr
    assert "INFO    maildesk: done:" in default.stderr
    for args in (
        ["--log-level", "warning", "run", "--once"],
        ["run", "--once", "--log-level", "WARNING"],
    ):
        quiet = maildesk(*args, "-c", str(config))
        assert quiet.returncode == 0, quiet.stderr
        assert "INFO" not in quiet.stderr
    via_env = maildesk("run", "--once", "-c", str(config), env={"MAILDESK_LOG_LEVEL": "error"})
    assert "INFO" not in via_env.stderr
    bad = maildesk("--log-level", "loud", "status")
    assert bad.returncode == 2
    assert "loud" in bad.stderr


# -- a relative data folder --------------------------------------------------------------


def test_relative_data_dir_is_the_config_folders_from_anywhere(tmp_path: Path) -> None:
    config = _config(tmp_path / "etc")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    upgraded = maildesk("db", "upgrade", "-c", "../etc/maildesk.toml", cwd=elsewhere)
    assert upgraded.returncode == 0, upgraded.stderr
    data = tmp_path / "etc" / "data"
    assert f"sqlite:///{data / 'maildesk.db'}" in upgraded.stdout, "an absolute path"
    assert (data / "maildesk.db").exists()
    assert not (elsewhere / "data").exists(), "no second database beside the working directory"
    listed = maildesk("tickets", "list", "-c", str(config), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr  # the same database, not a new empty one
    assert not (tmp_path / "data").exists()


# -- check-config ------------------------------------------------------------------------


def test_check_config_lists_every_unset_secret(tmp_path: Path) -> None:
    example = ROOT / "config" / "maildesk.example.toml"
    result = maildesk("check-config", "--config", str(example), cwd=tmp_path)
    assert result.returncode == 2
    assert "3 secret(s) not set" in result.stderr
    assert "MAILDESK_IMAP_PASSWORD (named by intake.imap[0].password_env) is not set" in (
        result.stderr
    )
    assert (
        "MAILDESK_M365_CLIENT_SECRET (named by intake.imap[1].oauth2.client_secret_env) "
        "is not set" in result.stderr
    )
    assert "MAILDESK_SMTP_PASSWORD (named by outgoing.smtp.password_env) is not set" in (
        result.stderr
    )
    assert "OK" not in result.stdout
    env = {
        "MAILDESK_IMAP_PASSWORD": "x",
        "MAILDESK_SMTP_PASSWORD": "y",
        "MAILDESK_M365_CLIENT_SECRET": "z",
    }
    fine = maildesk("check-config", "--config", str(example), env=env, cwd=tmp_path)
    assert fine.returncode == 0, fine.stderr
    assert f"{example}: OK" in fine.stdout
    # `run` stops on the same list before doing anything.
    run = maildesk("run", "--once", "--config", str(example), cwd=tmp_path)
    assert run.returncode == 2
    assert "3 secret(s) not set" in run.stderr


@pytest.mark.parametrize("hours", ["08:00-12:00,11:00-13:00", "18:00-08:00"])
def test_check_config_refuses_bad_opening_hours(tmp_path: Path, hours: str) -> None:
    config = _config(tmp_path, extra=f'[policies.default.calendar.hours]\nwed = "{hours}"\n')
    for command in (["check-config"], ["run", "--once"]):
        result = maildesk(*command, "-c", str(config))
        assert result.returncode == 2, command
        assert f"{config}: 1 problem(s)" in result.stderr
        assert "policies.default.calendar.hours" in result.stderr
        assert f"wed: bad opening hours '{hours}'" in result.stderr


@pytest.mark.parametrize(
    ("calendar", "problem"),
    [
        ('holidays = "XX"', "policies.default.calendar: "),
        ('holidays = "BE"\nholiday_subdivision = "ZZ"', "policies.default.calendar: "),
        ("hours = {}", "policies.default.calendar: "),
    ],
)
def test_check_config_builds_each_policys_calendar(
    tmp_path: Path, calendar: str, problem: str
) -> None:
    config = _config(tmp_path, extra=f"[policies.default.calendar]\n{calendar}\n")
    for command in (["check-config"], ["run", "--once"]):
        result = maildesk(*command, "-c", str(config))
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"{config}: 1 problem(s)" in result.stderr
        assert problem in result.stderr
        assert "Traceback" not in result.stderr


# -- a read-only data folder -------------------------------------------------------------


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only for this user; for root (who writes anywhere), immutable."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode
    ):
        pytest.skip("running as root, and chattr +i is not available to make a folder read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_read_only_data_folder_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    config = _config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    with _read_only(data):
        for command in (["db", "upgrade"], ["tickets", "list"], ["run", "--once"]):
            result = maildesk(*command, "-c", str(config))
            assert result.returncode == 2, (command, result.stderr)
            assert f"the data folder {data} is not writable" in result.stderr
            assert "Traceback" not in result.stderr
    assert list(data.iterdir()) == []


def test_a_data_folder_that_cannot_be_created_is_exit_2(tmp_path: Path) -> None:
    parent = tmp_path / "srv"
    parent.mkdir()
    config = _config(tmp_path, data_dir=str(parent / "maildesk"))
    with _read_only(parent):
        result = maildesk("db", "upgrade", "-c", str(config))
    assert result.returncode == 2, result.stderr
    assert f"cannot create the data folder {parent / 'maildesk'}" in result.stderr
    assert "Traceback" not in result.stderr


# -- backup and restore ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """``maildesk run`` as a process with its LMTP listener on a free port."""

    def __init__(self, config: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILDESK_")}
        env["PYTHONPATH"] = str(ROOT)
        self.port = port
        self.proc = subprocess.Popen(
            [MAILDESK, "run", "-c", str(config)],
            cwd=config.parent,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise AssertionError(f"the daemon did not listen: {self.stderr}") from None
                time.sleep(0.1)

    stderr = ""

    def deliver(self, subject: str) -> tuple[int, str]:
        """One mail over LMTP; the reply to its DATA."""
        raw, _ = mail(sender=CLIENT, subject=subject, to=SUPPORT)
        with smtplib.LMTP("127.0.0.1", self.port, timeout=30) as lmtp:
            lmtp.ehlo()
            lmtp.mail(CLIENT)
            assert lmtp.rcpt(SUPPORT)[0] == 250
            code, text = lmtp.data(raw)
        return code, text.decode()

    def wait(self, timeout: float = 30) -> int:
        try:
            _, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        return self.proc.returncode

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        self.stderr += err or ""
        return self.proc.returncode


def _listener_config(folder: Path, port: int) -> Path:
    return _config(
        folder,
        extra=f'[intake.listener]\nhost = "127.0.0.1"\nport = {port}\n',
    )


def _subjects(config: Path) -> list[str]:
    listed = maildesk("tickets", "list", "--json", "-c", str(config))
    assert listed.returncode == 0, listed.stderr
    return sorted(t["subject"] for t in json.loads(listed.stdout))


def test_backup_while_running_then_restore(tmp_path: Path) -> None:
    port = _free_port()
    config = _listener_config(tmp_path / "site", port)
    backup = tmp_path / "backups" / "maildesk-1.db"
    backup.parent.mkdir()
    daemon = Daemon(config, port)
    try:
        assert daemon.deliver("Before the backup")[0] == 250
        made = maildesk("db", "backup", str(backup), "-c", str(config))
        assert made.returncode == 0, made.stderr
        assert str(backup) in made.stdout
        assert daemon.deliver("After the backup")[0] == 250
    finally:
        assert daemon.stop() == 0, daemon.stderr
    assert _subjects(config) == ["After the backup", "Before the backup"]
    again = maildesk("db", "backup", str(backup), "-c", str(config))
    assert again.returncode == 2
    assert "already exists" in again.stderr

    # Restore, as the README says: stopped daemon, copy over, drop the -wal and -shm files.
    data = tmp_path / "site" / "data"
    shutil.copyfile(backup, data / "maildesk.db")
    for leftover in ("maildesk.db-wal", "maildesk.db-shm"):
        (data / leftover).unlink(missing_ok=True)
    assert _subjects(config) == ["Before the backup"]
    daemon = Daemon(config, port)
    try:
        code, text = daemon.deliver("After the restore")
        assert code == 250, text
    finally:
        assert daemon.stop() == 0, daemon.stderr
    assert _subjects(config) == ["After the restore", "Before the backup"]


def test_backup_of_postgresql_points_at_pg_dump(tmp_path: Path) -> None:
    url = os.environ.get("MAILDESK_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL (MAILDESK_TEST_POSTGRES_URL)")
    config = _config(tmp_path, extra=f'[database]\nurl = "{url}"\n')
    result = maildesk("db", "backup", str(tmp_path / "b.db"), "-c", str(config))
    assert result.returncode == 2, result.stderr
    assert "is not a SQLite file: back up PostgreSQL with pg_dump" in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_backup_before_an_upgrade_works_on_an_older_schema(tmp_path: Path) -> None:
    config = _config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    import sqlite3

    with sqlite3.connect(data / "maildesk.db") as conn:  # a schema this maildesk refuses
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0003')")
    assert maildesk("tickets", "list", "-c", str(config)).returncode == 1
    made = maildesk("db", "backup", str(tmp_path / "before-upgrade.db"), "-c", str(config))
    assert made.returncode == 0, made.stderr
    assert "schema 0003" in made.stdout
    with sqlite3.connect(tmp_path / "before-upgrade.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]


# -- the database file deleted or replaced under a running daemon ------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_database_file_lost_while_running_gives_451_and_stops(tmp_path: Path, how: str) -> None:
    port = _free_port()
    config = _listener_config(tmp_path / "site", port)
    db_file = tmp_path / "site" / "data" / "maildesk.db"
    daemon = Daemon(config, port)
    try:
        assert daemon.deliver("First report")[0] == 250
        if how == "deleted":
            db_file.unlink()
        else:
            copy = tmp_path / "copy.db"
            assert maildesk("db", "backup", str(copy), "-c", str(config)).returncode == 0
            os.replace(copy, db_file)
        code, text = daemon.deliver("Second report")
        assert code == 451, text
        assert "try again later" in text
        status = daemon.wait()
    finally:
        daemon.stop()
    assert status == 3, daemon.stderr
    assert f"the database file {db_file} was {how}" in daemon.stderr
    assert "CRITICAL" in daemon.stderr
