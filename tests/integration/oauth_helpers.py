"""OAuth2 building blocks for the integration tests: servers and config blocks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.dovecot import DovecotServer, find_dovecot
from tests.servers.fixtures import unavailable
from tests.servers.oauth_server import OAuthServer

MAILDESK = str(Path(sys.executable).parent / "maildesk")
APP_ID, APP_SECRET = "maildesk-app", "app-secret"
SECRET_ENV = "MAILDESK_TEST_OAUTH_SECRET"
# Access tokens live this long: a few reconnects outlive several of them. maildesk
# renews a token with a quarter of its life left (1 s here), so a busy machine
# still logs in before the token it holds expires.
LIFETIME = 4.0


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    """A token and introspection endpoint; the app ``maildesk-app`` acts for ``support``."""
    with OAuthServer(clients={APP_ID: (APP_SECRET, "support")}, lifetime=LIFETIME) as server:
        yield server


@pytest.fixture
def oauth_dovecot(oauth: OAuthServer) -> Iterator[DovecotServer]:
    """A private Dovecot that takes XOAUTH2/OAUTHBEARER tokens checked by ``oauth``."""
    if find_dovecot() is None:
        unavailable("dovecot binary not found", "apt-get install -y dovecot-imapd")
    server = DovecotServer(oauth2_introspection_url=oauth.introspection_url)
    try:
        server.start()
        yield server
    finally:
        server.close()


def imap_block(
    dovecot: DovecotServer,
    oauth: OAuthServer,
    *,
    flow: str = "refresh_token",
    name: str = "test",
    username: str | None = None,
    mechanism: str = "xoauth2",
    poll_interval: float = 0.5,
) -> str:
    """An ``[[intake.imap]]`` block that logs in to ``dovecot`` with tokens from ``oauth``."""
    secret = f'client_secret_env = "{SECRET_ENV}"' if flow == "client_credentials" else ""
    return f"""
[[intake.imap]]
name = "{name}"
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{username or dovecot.user}"
auth = "oauth2"
batch_size = 2
poll_interval = {poll_interval}
timeout = 10

[intake.imap.oauth2]
provider = "generic"
flow = "{flow}"
token_url = "{oauth.token_url}"
client_id = "{APP_ID}"
{secret}
mechanism = "{mechanism}"
"""


def cli(
    *args: str, config: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``maildesk ARGS --config CONFIG`` as an operator runs it."""
    return subprocess.run(
        [MAILDESK, *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
