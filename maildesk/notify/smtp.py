"""Delivery over SMTP; the only module that imports smtplib.

A connection is kept open across a flush and re-opened after any error. SMTP
reply codes decide the outcome: 4xx and network errors are temporary, 5xx
permanent (for every recipient). Failing to connect, to start TLS or to log
in, and the relay asking for authentication, are the relay's outage, not the
mail's (``RelayUnavailable``): the mail waits in the outbox until the relay
works again.
A refused login is the relay's outage whatever its code: the mail is fine, the
credentials are not. With an OAuth2 token source the login is ``AUTH XOAUTH2``.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass

from maildesk.core.login_words import refused_words
from maildesk.notify.transport import (
    PermanentDeliveryError,
    RelayUnavailable,
    TemporaryDeliveryError,
)
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.source import TokenSource

# Replies that mean "maildesk is not (properly) logged in" (RFC 4954): the
# relay's configuration, never the recipient's fault.
AUTH_CODES = frozenset({454, 530, 534, 535, 538})


@dataclass(frozen=True)
class SmtpParams:
    host: str
    port: int
    security: str  # "tls" | "starttls" | "plain"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    token: TokenSource | None = None
    password_env: str | None = None


class SmtpTransport:
    """Sends through one SMTP relay."""

    def __init__(self, params: SmtpParams) -> None:
        self.params = params
        self._conn: smtplib.SMTP | None = None

    @property
    def label(self) -> str:
        return f"smtp://{self.params.host}:{self.params.port}"

    def _auth_hint(self) -> str:
        p = self.params
        if p.username is None:
            return (
                f"the relay {p.host}:{p.port} wants a login: set username and password_env "
                "in [outgoing.smtp]"
            )
        return (
            f"the relay {p.host}:{p.port} refused the login of {p.username!r}: check username "
            "and the password in [outgoing.smtp] password_env; a provider that switched off "
            "password login needs OAuth2"
        )

    def _connect(self) -> smtplib.SMTP:
        try:
            return self._open()
        except smtplib.SMTPAuthenticationError as exc:
            raise RelayUnavailable(
                f"{self.label}: login refused: {exc.smtp_code} {exc.smtp_error!r}",
                self._auth_hint(),
            ) from exc
        except ssl.SSLError as exc:
            raise RelayUnavailable(
                f"{self.label}: TLS failed: {exc}",
                "check security in [outgoing.smtp] ('tls' for port 465, 'starttls' for 587) "
                "and that the relay's certificate is valid for its host name",
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RelayUnavailable(
                f"{self.label}: {type(exc).__name__}: {exc}",
                f"the relay {self.params.host}:{self.params.port} cannot be reached: check "
                "host and port in [outgoing.smtp], the network, and that the relay is up",
            ) from exc

    def _open(self) -> smtplib.SMTP:
        p = self.params
        conn: smtplib.SMTP
        if p.security == "tls":
            conn = smtplib.SMTP_SSL(
                p.host, p.port, timeout=p.timeout, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(p.host, p.port, timeout=p.timeout)
            if p.security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        try:
            self._login(conn)
        except BaseException:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.close()
            raise
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """Password login, or ``AUTH XOAUTH2`` with a fresh access token."""
        p = self.params
        try:
            if p.token is not None and p.username is not None:
                conn.ehlo_or_helo_if_needed()
                offered = conn.esmtp_features.get("auth", "").upper().split()
                if "XOAUTH2" not in offered:
                    raise RelayUnavailable(
                        f"{p.host}: the server does not offer AUTH XOAUTH2 (it offers: "
                        f"{', '.join(offered) or 'no AUTH'}); check host and port",
                        "check host and port in [outgoing.smtp]: the relay must offer XOAUTH2",
                    )
                token = p.token.access_token()
                initial = f"user={p.username}\x01auth=Bearer {token}\x01\x01"
                # After an error challenge (RFC 7628 3.2.3) the client answers empty.
                conn.auth(
                    "XOAUTH2",
                    lambda challenge=None: initial if challenge is None else "",
                    initial_response_ok=True,
                )
            elif p.username is not None and p.password is not None:
                conn.login(p.username, p.password)
        except OAuthError as exc:
            raise RelayUnavailable(f"{self.label}: {exc}", str(exc)) from exc
        except smtplib.SMTPAuthenticationError as exc:
            if p.token is not None:
                p.token.invalidate()
            how = "xoauth2" if p.token is not None else "password"
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            words = refused_words(
                p.host, p.username or "", how, p.password_env, f"{exc.smtp_code} {text}"
            )
            raise RelayUnavailable(
                f"{p.host}: {words}", f"{words}; the login is set in [outgoing.smtp]"
            ) from exc

    def check(self) -> None:
        """Connect and log in, then leave: for ``maildesk mailbox check``."""
        try:
            conn = self._connect()
        except TemporaryDeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.quit()

    def send(self, mail_from: str, rcpt_to: list[str], data: bytes) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            refused = self._conn.sendmail(mail_from, rcpt_to, data)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = {code for code, _ in exc.recipients.values()}
            detail = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in exc.recipients.items())
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"recipients refused: {detail}") from exc
            raise TemporaryDeliveryError(f"recipients refused: {detail}") from exc
        except RelayUnavailable:
            self.close()
            raise
        except smtplib.SMTPResponseException as exc:
            self.close()
            text = f"{exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code in AUTH_CODES:
                raise RelayUnavailable(f"{self.label}: {text}", self._auth_hint()) from exc
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(text) from exc
            raise TemporaryDeliveryError(text) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise RelayUnavailable(
                f"{self.label}: {type(exc).__name__}: {exc}",
                "the relay dropped the connection: check that it is up and not limiting maildesk",
            ) from exc
        except smtplib.SMTPException as exc:
            self.close()
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            detail = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in refused.items())
            raise PermanentDeliveryError(f"some recipients refused: {detail}")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None
