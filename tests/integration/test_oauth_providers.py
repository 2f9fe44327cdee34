"""The Microsoft (msal) and Google (google-auth) token sources, run unchanged against our own
HTTPS token server speaking their dialects, and logging in to a real Dovecot.

What this proves: maildesk drives msal's device code and client credentials flows and
google-auth's service account flow correctly, keeps msal's cache, refreshes through it,
and words the providers' errors. What it cannot prove: that Entra ID and Google answer
exactly as our server does (see docs/mailboxes.md, "What was tested").
"""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from urllib3.exceptions import InsecureRequestWarning

from maildesk.core.config.oauth import GenericOAuth, MicrosoftOAuth
from maildesk.oauth.errors import EndpointError, LoginRequired, OAuthError
from maildesk.oauth.generic import GenericTokens, consent_in_browser
from maildesk.oauth.microsoft import MicrosoftTokens
from maildesk.oauth.store import TokenStore
from tests.integration.helpers import settings_for
from tests.integration.oauth_helpers import LIFETIME, cli, oauth, oauth_dovecot
from tests.servers.dovecot import DovecotServer
from tests.servers.oauth_server import OAuthServer
from tests.servers.tls import self_signed

pytestmark = pytest.mark.integration
__all__ = ["oauth", "oauth_dovecot"]  # fixtures used by name below

M365_SECRET_ENV = "MAILDESK_TEST_M365_SECRET"
SERVICE_ACCOUNT = "maildesk@helpdesk-project.iam.gserviceaccount.com"


def _mailbox(dovecot: DovecotServer, name: str, username: str, oauth2: str) -> str:
    return f"""
[[intake.imap]]
name = "{name}"
host = "{dovecot.host}"
port = {dovecot.port}
security = "plain"
username = "{username}"
auth = "oauth2"

[intake.imap.oauth2]
{oauth2}
"""


def _microsoft(oauth: OAuthServer, flow: str, tenant: str = "contoso") -> str:
    secret = f'client_secret_env = "{M365_SECRET_ENV}"' if flow == "app" else ""
    return f"""provider = "microsoft"
flow = "{flow}"
tenant = "{tenant}"
client_id = "maildesk-app"
authority_host = "{oauth.https_base}"
{secret}
"""


def _run(
    tmp_path: Path, oauth: OAuthServer, block: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    _settings, config = settings_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, extra=block)
    done = cli(*args, config=config, env={"REQUESTS_CA_BUNDLE": str(oauth.ca_file), **(env or {})})
    return done.returncode, done.stdout + done.stderr


def test_microsoft_device_login_then_silent_refresh_then_revoked(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    block = _mailbox(oauth_dovecot, "m365", "support", _microsoft(oauth, "device"))
    code, out = _run(tmp_path, oauth, block, "mailbox", "login", "m365")
    assert code == 0, out
    assert "enter the code MDTEST42" in out  # msal's own words, printed for the operator
    assert "signed in as support@contoso.example" in out
    saved = tmp_path / "var" / "oauth" / "m365.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert "msal_cache" in json.loads(saved.read_text())

    time.sleep(LIFETIME + 0.2)  # the access token from the sign-in has expired
    code, out = _run(tmp_path, oauth, block, "mailbox", "check", "m365")
    assert code == 0, out
    assert "login: OK as support" in out
    assert oauth.refresh_grants() >= 1  # msal refreshed silently with the kept grant

    oauth.revoke("support")
    time.sleep(LIFETIME + 0.2)
    code, out = _run(tmp_path, oauth, block, "mailbox", "check", "m365")
    assert code == 1
    assert "Microsoft no longer accepts the sign-in" in out
    assert "log in again with `maildesk mailbox login m365`" in out


def test_microsoft_app_only(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    oauth.clients["maildesk-app"] = ("m365-secret", "support")
    block = _mailbox(oauth_dovecot, "m365", "support", _microsoft(oauth, "app"))
    code, out = _run(
        tmp_path, oauth, block, "mailbox", "check", "m365", env={M365_SECRET_ENV: "m365-secret"}
    )
    assert code == 0, out
    assert "login: OK as support" in out

    code, out = _run(
        tmp_path, oauth, block, "mailbox", "check", "m365", env={M365_SECRET_ENV: "wrong"}
    )
    assert code == 1
    assert (
        f"the client secret is wrong: put the secret's Value (not its ID) in ${M365_SECRET_ENV}"
        in out
    )

    other = _mailbox(oauth_dovecot, "m365", "support", _microsoft(oauth, "app", "fabrikam"))
    code, out = _run(
        tmp_path, oauth, other, "mailbox", "check", "m365", env={M365_SECRET_ENV: "m365-secret"}
    )
    assert code == 1
    assert "Microsoft does not know the tenant 'fabrikam'" in out


def _service_account_file(tmp_path: Path, oauth: OAuthServer) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "helpdesk-project",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": SERVICE_ACCOUNT,
                "client_id": "1234567890",
                "token_uri": f"{oauth.https_base}/token",
            }
        )
    )
    path.chmod(0o600)
    return path


def test_google_service_account(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    oauth.clients[SERVICE_ACCOUNT] = ("", "support")  # delegated for "support" only
    key = _service_account_file(tmp_path, oauth)
    google = f'provider = "google"\nflow = "service_account"\nservice_account_file = "{key}"\n'
    code, out = _run(
        tmp_path,
        oauth,
        _mailbox(oauth_dovecot, "gmail", "support", google),
        "mailbox",
        "check",
        "gmail",
    )
    assert code == 0, out
    assert "login: OK as support" in out

    code, out = _run(
        tmp_path,
        oauth,
        _mailbox(oauth_dovecot, "gmail", "helpdesk", google),
        "mailbox",
        "check",
        "gmail",
    )
    assert code == 1
    assert "domain-wide delegation is not granted" in out


class _Browser:
    """The operator: opens the printed consent URL, pastes back where the browser went."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.url = ""

    def say(self, text: str) -> None:
        self.said.append(text)
        found = [w for w in text.split() if w.startswith("https://")]
        self.url = found[0] if found else self.url

    def ask(self, prompt: str, *, secret: bool) -> str:
        assert secret  # the address carries the code: not echoed
        answer = requests.get(self.url, allow_redirects=False, verify=False, timeout=10)
        self.pasted = str(answer.headers["Location"])
        return self.pasted


def test_installed_app_consent_with_pkce(oauth: OAuthServer) -> None:
    browser = _Browser()
    with pytest.warns(InsecureRequestWarning):  # the test's own browser skips TLS checks
        token = consent_in_browser(
            browser,
            client_id="desktop-client",
            client_secret="desktop-secret",
            scope="https://mail.google.com/",
            auth_url=f"{oauth.https_base}/authorize",
            token_url=f"{oauth.token_url}",
            redirect_uri="http://127.0.0.1:8765/",
            login_hint="support@example.org",
        )
    assert "code_challenge_method=S256" in browser.url
    assert token["refresh_token"] in oauth.issued_tokens()
    # The address of an earlier consent is refused: its code is spent.
    with pytest.raises(EndpointError, match="invalid_grant"):
        consent_in_browser(
            _Replay(browser),
            client_id="desktop-client",
            client_secret="desktop-secret",
            scope="https://mail.google.com/",
            auth_url=f"{oauth.https_base}/authorize",
            token_url=f"{oauth.token_url}",
            redirect_uri="http://127.0.0.1:8765/",
            login_hint="support@example.org",
        )


class _Replay(_Browser):
    """Pastes the address an earlier consent ended at."""

    def __init__(self, earlier: _Browser) -> None:
        super().__init__()
        self.earlier = earlier.pasted

    def ask(self, prompt: str, *, secret: bool) -> str:
        return self.earlier


class _Quiet:
    def say(self, text: str) -> None:
        pass

    def ask(self, prompt: str, *, secret: bool) -> str:
        raise AssertionError("the device code flow asks nothing")


def test_a_running_daemon_takes_up_a_new_microsoft_sign_in(
    tmp_path: Path, oauth: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.ca_file))
    cfg = MicrosoftOAuth(
        provider="microsoft",
        flow="device",
        tenant="contoso",
        client_id="maildesk-app",
        authority_host=oauth.https_base,
    )
    store = TokenStore(tmp_path / "oauth")
    daemon = MicrosoftTokens("m365", "support", cfg, None, store)
    with pytest.raises(LoginRequired):
        daemon.access_token()
    # `maildesk mailbox login m365` in another process:
    MicrosoftTokens("m365", "support", cfg, None, store).login(_Quiet())
    first = daemon.access_token()
    oauth.revoke("support")
    daemon.invalidate()
    with pytest.raises(LoginRequired):
        daemon.access_token()
    MicrosoftTokens("m365", "support", cfg, None, store).login(_Quiet())
    second = daemon.access_token()
    assert second != first and second in oauth.issued_tokens()


def test_sources_sharing_a_rotating_refresh_token_never_spend_it_twice(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    """Two processes of one maildesk (or a daemon and `mailbox check`) refresh at once."""
    cfg = GenericOAuth(
        provider="generic", flow="refresh_token", token_url=oauth.token_url, client_id="x"
    )
    store = TokenStore(tmp_path / "oauth")
    store.save("box", {"refresh_token": oauth.issue_refresh_token("support")})
    sources = [GenericTokens("box", "support", cfg, None, store) for _ in range(4)]
    errors: list[Exception] = []

    def refresh_often(source: GenericTokens) -> None:
        for _ in range(5):
            source.invalidate()
            try:
                source.access_token()
            except OAuthError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=refresh_often, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert oauth.refresh_grants() == len(sources) * 5
    assert oauth.refresh_grants(ok=False) == 0


def test_microsoft_app_only_with_a_certificate(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: DovecotServer
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_path, _key_path = self_signed("127.0.0.1", tmp_path)
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    # The same certificate, re-issued for a key the test holds.
    cert = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(key.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
    pem = tmp_path / "m365-app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    pem.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    oauth.clients["maildesk-app"] = ("registered", "support")
    oauth.certificates["maildesk-app"] = (public.decode(), thumbprint)
    block = _microsoft(oauth, "app").replace(
        f'client_secret_env = "{M365_SECRET_ENV}"',
        f'certificate_file = "{pem}"\ncertificate_thumbprint = "{thumbprint}"',
    )
    code, out = _run(
        tmp_path,
        oauth,
        _mailbox(oauth_dovecot, "m365", "support", block),
        "mailbox",
        "check",
        "m365",
    )
    assert code == 0, out
    assert "login: OK as support" in out

    oauth.certificates["maildesk-app"] = (public.decode(), "00" * 20)  # another certificate
    code, out = _run(
        tmp_path,
        oauth,
        _mailbox(oauth_dovecot, "m365", "support", block),
        "mailbox",
        "check",
        "m365",
    )
    assert code == 1
    assert "the certificate was refused: upload its public part" in out
