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

Nothing is mocked: maildesk's token layer talks to it with its real HTTP clients.
Tests read what happened from ``grants`` (every token request, with its outcome) and
``introspections``, and can ``revoke`` a refresh token to play a withdrawn consent.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

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
        self.grants: list[Grant] = []
        self.introspections: list[tuple[str, bool]] = []  # (user or "", active)
        self._httpd = ThreadingHTTPServer((self.host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{self.host}:{self.port}/introspect"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="oauth server", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

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
            if known is None or known[0] != secret:
                return 401, {"error": "invalid_client", "error_description": "bad client"}
            return 200, self._answer(known[1], refresh=False)
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
            return 200, self._answer(user, refresh=True, old=token)
        return 400, {"error": "unsupported_grant_type"}

    def _answer(self, user: str, *, refresh: bool, old: str = "") -> dict:
        body: dict[str, object] = {
            "access_token": self._new_access(user),
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if refresh:
            body["refresh_token"] = self.issue_refresh_token(user) if self.rotate else old
        return body

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
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # tokens are in the requests: keep them out of test output

        return Handler
