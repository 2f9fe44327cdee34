"""What the config check catches before the daemon starts: opening hours that overlap or
run backwards, every unset secret at once, and relative paths taken from the config file's
folder (not from wherever a command runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maildesk.configfile import check_secrets, load_settings, missing_secrets
from maildesk.core.config import ConfigError, settings_from_toml
from maildesk.core.config.secrets import named_secrets


def _hours_error(hours: str, day: str = "mon") -> str:
    text = f'[policies.default.calendar.hours]\n{day} = "{hours}"\n'
    with pytest.raises(ConfigError) as info:
        settings_from_toml(text, "site.toml")
    return str(info.value)


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ("08:00-12:00,11:00-13:00", "11:00-13:00 overlaps"),
        ("18:00-08:00", "18:00-08:00 must start before it ends"),
        ("13:00-17:00,08:00-12:00", "08:00-12:00 overlaps or precedes"),
        ("09:00-09:00", "09:00-09:00 must start before it ends"),
        ("25:00-26:00", "not a time of day"),
    ],
)
def test_bad_opening_hours_are_refused_when_the_file_is_read(hours: str, problem: str) -> None:
    message = _hours_error(hours, "tue")
    assert message.startswith("site.toml: 1 problem(s)")
    assert "policies.default.calendar.hours" in message
    assert f"tue: bad opening hours '{hours}'" in message
    assert problem in message


def test_good_opening_hours_still_pass() -> None:
    text = (
        "[policies.default.calendar.hours]\n"
        'mon = "08:30-12:00,13:00-18:00"\ntue = "18:00-24:00"\nwed = "00:00-08:00"\nsun = ""\n'
    )
    assert settings_from_toml(text, "site.toml").policies["default"].calendar.hours["tue"]


SECRETS = """
[[intake.imap]]
name = "a"
host = "imap.example"
username = "u"
password_env = "H17_TEST_IMAP_A"

[[intake.imap]]
name = "b"
host = "imap.example"
username = "u"
password_env = "H17_TEST_IMAP_B"

[outgoing]
transport = "smtp"
[outgoing.smtp]
host = "smtp.example"
username = "u"
password_env = "H17_TEST_SMTP"

[portal]
enabled = {portal}
base_url = "https://support.example/portal"
secret_env = "H17_TEST_PORTAL"
"""


def test_every_unset_secret_is_reported_not_only_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ("H17_TEST_IMAP_A", "H17_TEST_IMAP_B", "H17_TEST_SMTP", "H17_TEST_PORTAL")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    settings = settings_from_toml(SECRETS.format(portal="true"), "site.toml")
    assert [s.key for s in named_secrets(settings)] == [
        "intake.imap[0].password_env",
        "intake.imap[1].password_env",
        "outgoing.smtp.password_env",
        "portal.secret_env",
    ]
    missing = missing_secrets(settings)
    assert missing == [
        "H17_TEST_IMAP_A (named by intake.imap[0].password_env) is not set",
        "H17_TEST_IMAP_B (named by intake.imap[1].password_env) is not set",
        "H17_TEST_SMTP (named by outgoing.smtp.password_env) is not set",
        "H17_TEST_PORTAL (named by portal.secret_env) is not set",
    ]
    with pytest.raises(ConfigError) as info:
        check_secrets(settings)
    assert "site.toml: 4 secret(s) not set" in str(info.value)
    assert all(line in str(info.value) for line in missing)

    monkeypatch.setenv("H17_TEST_IMAP_B", "x")
    monkeypatch.setenv("H17_TEST_PORTAL", "")  # empty counts as unset
    assert [m.split()[0] for m in missing_secrets(settings)] == [
        "H17_TEST_IMAP_A",
        "H17_TEST_SMTP",
        "H17_TEST_PORTAL",
    ]
    for name in names:
        monkeypatch.setenv(name, "set")
    check_secrets(settings)


def test_a_switched_off_section_needs_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("H17_TEST_PORTAL", raising=False)
    settings = settings_from_toml(SECRETS.format(portal="false"), "site.toml")
    assert "portal.secret_env" not in [s.key for s in named_secrets(settings)]


def test_relative_paths_are_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "maildesk.toml"
    config.write_text('[service]\ndata_dir = "data"\ntemplates_dir = "tpl"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for given in (config, Path(os.path.relpath(config, elsewhere))):
        settings = load_settings(given)
        assert settings.service.data_dir == folder / "data"
        assert settings.service.templates_dir == folder / "tpl"
        assert settings.database_url == f"sqlite:///{folder / 'data' / 'maildesk.db'}"
        assert settings.maildir_path == folder / "data" / "sent"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///db/m.db", "sqlite:///{folder}/db/m.db"),
        ("sqlite+pysqlite:///m.db", "sqlite+pysqlite:///{folder}/m.db"),
        ("sqlite:////abs/m.db", "sqlite:////abs/m.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_a_relative_sqlite_url_is_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    config = tmp_path / "maildesk.toml"
    config.write_text(f'[service]\ndata_dir = "/srv/md"\n[database]\nurl = "{url}"\n')
    monkeypatch.chdir("/")
    settings = load_settings(config)
    assert settings.database_url == expected.format(folder=tmp_path)
    assert settings.service.data_dir == Path("/srv/md")
