"""Config validation: bad files stop start-up with file, key and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from maildesk.configfile import load_settings, secret
from maildesk.core.config import ConfigError, Settings, embedded_defaults, settings_from_toml
from maildesk.core.notices import NoticesConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "maildesk.example.toml"


def test_embedded_defaults_are_local() -> None:
    s = embedded_defaults()
    assert s.database_url == "sqlite:///var/maildesk.db"
    assert s.outgoing.transport == "maildir"
    assert s.maildir_path == Path("var/sent")
    assert s.intake.listener.host == "127.0.0.1"
    assert s.intake.imap == ()
    assert s.service.unknown_senders == "accept", "a new user's test mail opens a ticket"
    assert Settings().service.unknown_senders == "quarantine"


def test_no_file_means_embedded_defaults_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    assert settings == embedded_defaults(tmp_path / "var")
    assert settings.service.data_dir.is_absolute()


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(EXAMPLE)
    assert s.source == str(EXAMPLE)
    assert s.intake.imap, "the example documents an IMAP source"
    assert s.outgoing.transport == "smtp"


def _errors(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_toml(text, "site.toml")
    return str(info.value)


def test_error_names_file_key_and_problem() -> None:
    message = _errors('[intake.listener]\nport = "eighty"\n')
    assert message.startswith("site.toml:")
    assert "intake.listener.port" in message
    assert "integer" in message


def test_unknown_key_is_an_error_not_ignored() -> None:
    message = _errors("[service]\nsuport_address = 'x@example.com'\n")
    assert "service.suport_address" in message
    assert "unknown key" in message


def test_bad_toml_is_reported() -> None:
    assert "not valid TOML" in _errors("[service\n")


def test_index_of_list_items_in_key() -> None:
    text = """
[[intake.imap]]
host = "imap.example.com"
username = "support"
password_env = "PW"

[[intake.imap]]
host = "imap.example.net"
username = "support"
"""
    message = _errors(text)
    assert "intake.imap[1].password_env" in message
    assert "Field required" in message


def test_plain_imap_refused_off_loopback() -> None:
    text = """
[[intake.imap]]
host = "imap.example.com"
security = "plain"
username = "u"
password_env = "PW"
"""
    assert "clear text" in _errors(text)
    ok = settings_from_toml(text.replace("imap.example.com", "127.0.0.1"), "x")
    assert ok.intake.imap[0].security == "plain"


def test_unknown_time_zone() -> None:
    assert "unknown time zone" in _errors("[service]\ntimezone = 'Europe/Bruxelles'\n")


def test_smtp_transport_needs_relay() -> None:
    assert "needs an [outgoing.smtp] section" in _errors("[outgoing]\ntransport = 'smtp'\n")


def test_contact_in_two_clients() -> None:
    text = """
[[clients]]
id = "a"
name = "A"
contacts = [{ email = "x@a.example" }]
[[clients]]
id = "b"
name = "B"
contacts = [{ email = "X@a.example" }]
"""
    assert "belongs to two clients" in _errors(text)


def test_number_format_checked() -> None:
    assert "{seq}" in _errors("[tickets]\nnumber_format = '{year}'\n")
    assert "not a valid format" in _errors("[tickets]\nnumber_format = '{seq:06d}{nope}'\n")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(Exception, match="frozen"):
        s.service.support_address = "x@y"  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILDESK_TEST_PW", "s3cret")
    assert secret("MAILDESK_TEST_PW", "intake.imap[0].password_env") == "s3cret"
    monkeypatch.delenv("MAILDESK_TEST_PW")
    with pytest.raises(ConfigError, match=r"MAILDESK_TEST_PW \(named by intake.imap\[0\]"):
        secret("MAILDESK_TEST_PW", "intake.imap[0].password_env")


def test_example_documents_every_key() -> None:
    """config/maildesk.example.toml names every key a config file may hold."""
    from maildesk.core import config as c
    from maildesk.core import policy as p
    from maildesk.core.config import oauth as o

    text = EXAMPLE.read_text(encoding="utf-8")
    models = (
        c.Service,
        c.Database,
        c.Tickets,
        c.Listener,
        c.ImapSource,
        c.Outgoing,
        c.SmtpRelay,
        o.MicrosoftOAuth,
        o.GoogleOAuth,
        o.GenericOAuth,
        c.Ops,
        c.Digest,
        c.Staff,
        c.Contact,
        c.Client,
        p.Policy,
        p.CalendarConfig,
        p.ProviderClosures,
        p.RequiredInfo,
        p.PriorityRules,
        p.SlaConfig,
        p.OnCallConfig,
        NoticesConfig,
        p.BillingConfig,
    )
    missing = [
        f"{model.__name__}.{field.alias or name}"
        for model in models
        for name, field in model.model_fields.items()
        if not any(
            form in text
            for form in (f"{field.alias or name} =", f".{name}]", f"[{name}", f"{name} = {{")
        )
    ]
    assert missing == []


def test_staff_authentication_follows_the_authserv_id() -> None:
    """Off in the embedded defaults, on in any config that names an authserv_id."""
    assert embedded_defaults().service.staff_authentication is False
    named = settings_from_toml('[service]\nauthserv_id = "mx.example.com"\n', "x.toml")
    assert named.service.staff_authentication is True
    off = settings_from_toml(
        '[service]\nauthserv_id = "mx.example.com"\nrequire_staff_authentication = false\n',
        "x.toml",
    )
    assert off.service.staff_authentication is False


def test_staff_authentication_needs_an_authserv_id() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_toml("[service]\nrequire_staff_authentication = true\n", "maildesk.toml")
    assert "maildesk.toml" in str(info.value)
    assert "service" in str(info.value) and "authserv_id" in str(info.value)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("150", "less than or equal to 100"),
        ("-1", "greater than or equal to 0"),
        ('"x"', "decimal"),
    ],
)
def test_vat_percent_out_of_range_names_the_key(value: str, problem: str) -> None:
    message = _errors(f"[policies.default.billing]\nvat_percent = {value}\n")
    assert message.startswith("site.toml:")
    assert "policies.default.billing.vat_percent" in message
    assert problem in message
