"""The oauth2 provider blocks: what check-config accepts and how it names what is wrong."""

from __future__ import annotations

import pytest

from maildesk.core.config import ConfigError, settings_from_toml
from maildesk.core.config.oauth import GoogleOAuth, MicrosoftOAuth

IMAP = """
[[intake.imap]]
name = "box"
host = "outlook.office365.com"
username = "helpdesk@contoso.com"
auth = "oauth2"
"""


def _errors(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_toml(text, "test.toml")
    return str(info.value)


def _imap(block: str) -> str:
    return IMAP + "\n[intake.imap.oauth2]\n" + block


def test_microsoft_app_with_a_secret_and_device_without() -> None:
    app = settings_from_toml(
        _imap(
            'provider = "microsoft"\nflow = "app"\ntenant = "contoso.onmicrosoft.com"\n'
            'client_id = "abc"\nclient_secret_env = "S"\n'
        ),
        "t",
    )
    cfg = app.intake.imap[0].oauth2
    assert isinstance(cfg, MicrosoftOAuth) and cfg.client_secret_env == "S"
    device = settings_from_toml(
        _imap(
            'provider = "microsoft"\nflow = "device"\ntenant = "organizations"\nclient_id = "a"\n'
        ),
        "t",
    )
    assert isinstance(device.intake.imap[0].oauth2, MicrosoftOAuth)


@pytest.mark.parametrize(
    ("block", "words"),
    [
        (
            'provider = "microsoft"\nflow = "app"\ntenant = "t"\nclient_id = "a"\n',
            "flow = 'app' needs client_secret_env",
        ),
        (
            'provider = "microsoft"\nflow = "app"\ntenant = "common"\nclient_id = "a"\n'
            'client_secret_env = "S"\n',
            "tenant = 'common' cannot be used with flow = 'app'",
        ),
        (
            'provider = "microsoft"\nflow = "device"\ntenant = "t"\nclient_id = "a"\n'
            'client_secret_env = "S"\n',
            "flow = 'device' signs a user in and takes no client secret",
        ),
        (
            'provider = "microsoft"\nflow = "app"\ntenant = "t"\nclient_id = "a"\n'
            'certificate_file = "/k.pem"\n',
            "certificate_file and certificate_thumbprint go together",
        ),
        (
            'provider = "google"\nflow = "service_account"\n',
            "flow = 'service_account' needs service_account_file",
        ),
        (
            'provider = "google"\nflow = "installed"\nclient_id = "x"\n',
            "flow = 'installed' needs client_id and client_secret_env",
        ),
        (
            'provider = "generic"\nflow = "client_credentials"\n'
            'token_url = "https://id.example/token"\nclient_id = "a"\n',
            "flow = 'client_credentials' needs client_secret_env",
        ),
        (
            'provider = "generic"\nflow = "refresh_token"\ntoken_url = "ftp://x"\n'
            'client_id = "a"\n',
            "intake.imap[0].oauth2.generic.token_url",
        ),
        ('provider = "yahoo"\nflow = "app"\n', "'microsoft', 'google', 'generic'"),
    ],
)
def test_bad_provider_blocks_name_the_mailbox_and_the_problem(block: str, words: str) -> None:
    message = _errors(_imap(block))
    assert message.startswith("test.toml:")
    assert "intake.imap[0]" in message
    assert words in message


def test_google_service_account() -> None:
    ok = settings_from_toml(
        _imap('provider = "google"\nflow = "service_account"\nservice_account_file = "/k.json"\n'),
        "t",
    )
    assert isinstance(ok.intake.imap[0].oauth2, GoogleOAuth)


def test_auth_and_block_go_together() -> None:
    assert "auth = 'oauth2' needs an oauth2 block" in _errors(IMAP)
    password_with_block = IMAP.replace('auth = "oauth2"', 'password_env = "P"') + (
        '\n[intake.imap.oauth2]\nprovider = "google"\nflow = "service_account"\n'
        'service_account_file = "/k.json"\n'
    )
    assert "an oauth2 block needs auth = 'oauth2'" in _errors(password_with_block)


def test_smtp_oauth2_needs_the_sending_mailbox() -> None:
    text = """
[outgoing]
transport = "smtp"
[outgoing.smtp]
host = "smtp.office365.com"
auth = "oauth2"
[outgoing.smtp.oauth2]
provider = "microsoft"
flow = "device"
tenant = "contoso.onmicrosoft.com"
client_id = "a"
"""
    assert "outgoing.smtp: auth = 'oauth2' needs username" in _errors(text)
    ok = settings_from_toml(text.replace('auth = "oauth2"', 'auth = "oauth2"\nusername = "u"'), "t")
    assert ok.outgoing.smtp is not None and ok.outgoing.smtp.name == "outgoing"
    bearer = text.replace('auth = "oauth2"', 'auth = "oauth2"\nusername = "u"') + (
        'mechanism = "oauthbearer"\n'
    )
    assert "SMTP logs in with XOAUTH2 only" in _errors(bearer)


def test_two_mailboxes_need_two_names() -> None:
    block = '\n[[intake.imap]]\nhost = "h"\nusername = "u"\npassword_env = "P"\n'
    assert "two [[intake.imap]] mailboxes are named 'imap'" in _errors(block + block)
    assert "intake.imap[0].name" in _errors(block.replace('host = "h"', 'name = "a b"\nhost = "h"'))
