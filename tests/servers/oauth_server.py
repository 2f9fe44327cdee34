"""A real OAuth2 authorization server on loopback, for maildesk's OAuth2 tests.

``OAuthServer`` answers over HTTP on ``127.0.0.1:<free port>``:

- ``POST /token`` (RFC 6749): the ``client_credentials`` grant for registered clients
  (secret in the form or in HTTP Basic), and the ``refresh_token`` grant for refresh
  tokens it issued (``issue_refresh_token``) and has not revoked. Access tokens live
  ``lifetime`` seconds; with ``rotate`` every refresh returns a new refresh token and
  spends the old one. Errors are RFC 6749 JSON (``invalid_client``, ``invalid_grant``).
- ``POST /introspect`` (RFC 7662): ``{"active": true, "username": ..., "exp": ...}`` for
  a live access token, ``{"active": false}`` for an expired, unknown or revoked one.
  A private Dovecot's ``oauth2`` passdb and the SMTP sink's XOAUTH2 check ask it.

It also speaks enough of the providers' own dialects for their libraries to run
unchanged against it, over HTTPS (``https_base``; its CA is ``ca_file``, given to
the client through ``REQUESTS_CA_BUNDLE``):

- Entra ID as msal sees it: ``GET /{tenant}/v2.0/.well-known/openid-configuration``
  (an unknown tenant gets ``AADSTS90002``), the device code endpoint and the
  ``device_code`` grant (signed in as ``device_user`` once polled), ``id_token`` and
  ``client_info`` in answers, and ``AADSTS7000215`` for a wrong client secret.
- An installed app's consent (RFC 6749 4.1 with PKCE, RFC 7636): ``GET /authorize``
  approves at once for the ``login_hint`` user and redirects with a code; the
  ``authorization_code`` grant checks the code verifier.
- Google's service accounts as google-auth sees them: the JWT-bearer grant
  (RFC 7523), whose assertion's ``sub`` is the mailbox the token acts for.

Nothing is mocked: maildesk's token layer talks to it with its real HTTP clients.
Tests read what happened from ``grants`` (every token request, with its outcome) and
``introspections``, and can ``revoke`` a refresh token to play a withdrawn consent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode

from tests.servers.tls import self_signed

__all__ = ["Grant", "OAuthServer"]


@dataclass(frozen=True)
class Grant:
    """One request to the token endpoint: its grant type and the error, if refused."""

    grant_type: str
    error: str | None


@dataclass
class _Access:
    user: str
    expires_at: float


class OAuthServer:
    """Token and introspection endpoints on a loopback port; see the module docstring."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        clients: dict[str, tuple[str, str]] | None = None,
        lifetime: float = 3600.0,
        rotate: bool = True,
    ) -> None:
        """``clients`` maps a client id to (secret, the user its app-only tokens act for)."""
        self.clients = clients or {}
        self.lifetime = lifetime
        self.rotate = rotate
        self._lock = threading.Lock()
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> user
        self._issued: list[str] = []
        self.grants: list[Grant] = []
        self.introspections: list[tuple[str, bool]] = []  # (user or "", active)
        self.tenants = {"contoso"}
        self.certificates: dict[str, tuple[str, str]] = {}
        self.device_user = "support"
        self._devices: dict[str, int] = {}  # device code -> polls so far
        self._codes: dict[str, tuple[str, str, str]] = {}  # code -> user, challenge, redirect
        self._httpd = ThreadingHTTPServer((self.host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._dir = Path(tempfile.mkdtemp(prefix="maildesk-oauth-"))
        self.ca_file = self._dir / "cert.pem"  # self-signed: it is its own CA
        self._httpsd = ThreadingHTTPServer((self.host, 0), self._handler_class())
        self._httpsd.daemon_threads = True
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*self_signed(self.host, self._dir))
        self._httpsd.socket = tls.wrap_socket(self._httpsd.socket, server_side=True)
        self.tls_port = int(self._httpsd.server_address[1])
        self._threads: list[threading.Thread] = []

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{self.host}:{self.port}/introspect"

    @property
    def https_base(self) -> str:
        return f"https://{self.host}:{self.tls_port}"

    def start(self) -> None:
        for httpd in (self._httpd, self._httpsd):
            thread = threading.Thread(target=httpd.serve_forever, name="oauth", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for httpd in (self._httpd, self._httpsd):
            httpd.shutdown()
            httpd.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> OAuthServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what a test does -------------------------------------------------------------

    def issue_refresh_token(self, user: str) -> str:
        """A refresh token for ``user``, as if they had signed in and consented."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[token] = user
            self._issued.append(token)
        return token

    def revoke(self, user: str) -> None:
        """Withdraw every refresh token and access token of ``user`` (consent revoked)."""
        with self._lock:
            self._refresh = {t: u for t, u in self._refresh.items() if u != user}
            self._access = {t: a for t, a in self._access.items() if a.user != user}

    def access_token_for(self, user: str) -> str:
        """A live access token for ``user`` (for a test's own IMAP session)."""
        return self._new_access(user)

    def is_valid(self, user: str, token: str) -> bool:
        """Whether ``token`` is a live access token of ``user`` (the SMTP sink's check)."""
        live = self._live(token)
        with self._lock:
            self.introspections.append((live.user if live else "", live is not None))
        return live is not None and live.user == user

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token issued so far (live or not), to look for leaks."""
        with self._lock:
            return list(self._issued)

    def refresh_grants(self, *, ok: bool = True) -> int:
        with self._lock:
            return sum(
                1
                for g in self.grants
                if g.grant_type == "refresh_token" and (g.error is None) == ok
            )

    # -- the protocol -----------------------------------------------------------------

    def _new_access(self, user: str) -> str:
        token = "at-" + secrets.token_urlsafe(24)
        with self._lock:
            self._access[token] = _Access(user, time.time() + self.lifetime)
            self._issued.append(token)
        return token

    def _live(self, token: str) -> _Access | None:
        with self._lock:
            access = self._access.get(token)
        if access is None or access.expires_at <= time.time():
            return None
        return access

    def _token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        grant = form.get("grant_type", "")
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        status, body = self._grant(grant, client_id, secret, form)
        with self._lock:
            self.grants.append(Grant(grant, body.get("error")))
        return status, body

    def _grant(
        self, grant: str, client_id: str, secret: str, form: dict[str, str]
    ) -> tuple[int, dict]:
        if grant == "client_credentials":
            known = self.clients.get(client_id)
            if "client_assertion" in form:  # a certificate instead of a secret
                secret = self._assertion_secret(client_id, form["client_assertion"])
            if known is None or known[0] != secret:
                wrong = (
                    "AADSTS700027: Client assertion failed signature validation."
                    if "client_assertion" in form
                    else "AADSTS7000215: Invalid client secret provided."
                )
                return 401, {"error": "invalid_client", "error_description": wrong}
            return 200, self._answer(known[1], refresh=False)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            code = form.get("device_code", "")
            with self._lock:
                polls = self._devices.get(code)
                if polls is not None:
                    self._devices[code] = polls + 1
            if polls is None:
                return 400, {"error": "expired_token", "error_description": "AADSTS70019"}
            if polls == 0:  # the person has not signed in yet at the first poll
                return 400, {"error": "authorization_pending", "error_description": "pending"}
            return 200, self._answer(self.device_user, refresh=True, client_id=client_id)
        if grant == "authorization_code":
            with self._lock:
                user, challenge, redirect = self._codes.pop(form.get("code", ""), ("", "", ""))
            verifier = form.get("code_verifier", "")
            digest = _b64_bytes(hashlib.sha256(verifier.encode()).digest())
            if not user or digest != challenge or form.get("redirect_uri") != redirect:
                return 400, {"error": "invalid_grant", "error_description": "bad code"}
            return 200, self._answer(user, refresh=True, client_id=client_id)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = _jwt_claims(form.get("assertion", ""))
            known = self.clients.get(str(claims.get("iss", "")))
            if known is None:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT"}
            user = str(claims.get("sub", ""))
            if user.split("@")[0] != known[1]:
                return 401, {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                }
            return 200, self._answer(user.split("@")[0], refresh=False)
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            with self._lock:
                user = self._refresh.get(token)
                if user is not None and self.rotate:
                    del self._refresh[token]
            if user is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "the refresh token is expired or revoked",
                }
            return 200, self._answer(user, refresh=True, old=token, client_id=client_id)
        return 400, {"error": "unsupported_grant_type"}

    def _assertion_secret(self, client_id: str, assertion: str) -> str:
        """The client's registered secret if ``assertion`` is signed by its certificate.

        A certificate is registered as ``certificates[client_id] = (public key PEM,
        SHA-1 thumbprint)``; the JWT must carry that thumbprint (``x5t``), be
        signed by the key and be issued by and for the client.
        """
        import jwt  # PyJWT, installed with msal

        known = self.certificates.get(client_id)
        if known is None:
            return ""
        key, thumbprint = known
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion, key, algorithms=["RS256", "PS256"], audience=self.https_base + "/token"
            )
        except jwt.PyJWTError:
            return ""
        x5t = base64.urlsafe_b64decode(header.get("x5t", "") + "==").hex().upper()
        if x5t != thumbprint.upper() or claims.get("iss") != client_id:
            return ""
        return self.clients[client_id][0]

    def _answer(self, user: str, *, refresh: bool, old: str = "", client_id: str = "") -> dict:
        body: dict[str, object] = {
            "access_token": self._new_access(user),
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if refresh:
            body["refresh_token"] = self.issue_refresh_token(user) if self.rotate else old
            # What Entra ID adds for a signed-in person; msal keeps its account from it.
            body["client_info"] = _b64(json.dumps({"uid": user, "utid": "contoso"}))
            now = int(time.time())
            claims = {
                "iss": f"{self.https_base}/contoso/v2.0",
                "sub": user,
                "aud": client_id,
                "iat": now,
                "exp": now + 3600,
                "oid": user,
                "tid": "contoso",
                "preferred_username": f"{user}@contoso.example",
            }
            body["id_token"] = ".".join(
                (_b64(json.dumps({"alg": "none", "typ": "JWT"})), _b64(json.dumps(claims)), "")
            )
        return body

    def _discovery(self, path: str) -> tuple[int, dict]:
        tenant = path.strip("/").split("/")[0]
        if tenant not in self.tenants:
            return 400, {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
            }
        base = self.https_base
        return 200, {
            "issuer": f"{base}/{tenant}/v2.0",
            "token_endpoint": f"{base}/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        }

    def _authorize(self, args: dict[str, str]) -> str:
        """Where the browser goes after the person approved: the redirect with a code."""
        code = "ac-" + secrets.token_urlsafe(16)
        user = args.get("login_hint", "").split("@")[0]
        redirect = args.get("redirect_uri", "")
        with self._lock:
            self._codes[code] = (user, args.get("code_challenge", ""), redirect)
        query = urlencode({"code": code, "state": args.get("state", "")})
        return f"{redirect}?{query}"

    def _device_code(self) -> tuple[int, dict]:
        code = "dc-" + secrets.token_urlsafe(16)
        with self._lock:
            self._devices[code] = 0
        user_code = "MDTEST42"
        uri = f"{self.https_base}/devicelogin"
        return 200, {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": 300,
            "interval": 1,
            "message": f"To sign in, use a web browser to open the page {uri} and enter "
            f"the code {user_code} to authenticate.",
        }

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict]:
        live = self._live(form.get("token", ""))
        with self._lock:
            self.introspections.append((live.user if live else "", live is not None))
        if live is None:
            return 200, {"active": False}
        return 200, {"active": True, "username": live.user, "exp": int(live.expires_at)}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path.endswith("/.well-known/openid-configuration"):
                    self._send(*server._discovery(self.path))
                elif path == "/authorize":
                    args = {k: v[0] for k, v in parse_qs(query).items()}
                    self.send_response(302)
                    self.send_header("Location", server._authorize(args))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                basic = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    basic = (unquote(user), unquote(password))
                if self.path.startswith("/token"):
                    status, body = server._token(form, basic)
                elif self.path.startswith("/introspect"):
                    status, body = server._introspect(form)
                elif self.path.split("?")[0].endswith("/devicecode"):
                    status, body = server._device_code()
                else:
                    status, body = 404, {"error": "not_found"}
                self._send(status, body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # tokens are in the requests: keep them out of test output

        return Handler


def _b64(text: str) -> str:
    return _b64_bytes(text.encode())


def _b64_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt_claims(assertion: str) -> dict[str, object]:
    """The claims of a JWT (the signature is the client library's business, not checked)."""
    try:
        part = assertion.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}
