"""A real SMTP listener that records what maildesk sends, for integration tests.

maildesk's notifier must be tested against a real SMTP conversation (RCPT and DATA
replies, temporary and permanent refusals, a server that goes away), so ``SmtpSink``
runs an aiosmtpd server in a thread on ``127.0.0.1:<free port>`` and keeps every mail it
accepts.  Tests can make it refuse the next transaction(s) with a 4xx or 5xx reply, or
every transaction until told otherwise, and can stop and start it again on the same port
to simulate an outage.  No TLS; AUTH only when ``credentials`` are given (PLAIN and
LOGIN) or ``token_check`` is (XOAUTH2: the callable decides whether a user's bearer
token is good; a refused token gets the RFC 7628 error challenge, then 535).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Received", "Rejected", "SmtpSink", "Stage"]

Stage = Literal["mail", "rcpt", "data"]
"""The SMTP command at which a refusal is given: MAIL FROM, RCPT TO or end of DATA.

With smtplib's ``sendmail``/``send_message`` these raise ``SMTPSenderRefused``,
``SMTPRecipientsRefused`` (when every recipient is refused) and ``SMTPDataError``.
"""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One accepted mail, exactly as it came over the wire (minus SMTP dot-stuffing)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)
    auth_user: str | None = None

    @property
    def message(self) -> EmailMessage:
        """``data`` parsed with the modern email policy (fresh object per access)."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(frozen=True)
class Rejected:
    """One command the sink refused on a test's request (each refused RCPT counts)."""

    mail_from: str
    rcpt_tos: list[str]
    stage: Stage
    reply: str


@dataclass(frozen=True)
class _Refusal:
    stage: Stage
    reply: str


def _reply(code: int, text: str | None) -> str:
    if not (400 <= code <= 599):
        raise ValueError(f"refusal code must be 4xx or 5xx, not {code}")
    if text is None:
        text = (
            "5.0.0 Refused by the maildesk test sink"
            if code >= 500
            else "4.0.0 Try again later (maildesk test sink)"
        )
    return f"{code} {text}"


class _Handler:
    """aiosmtpd hooks; all state lives on the sink, guarded by its condition."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required, which warns about
        # AUTH without TLS on every connection.
        needs_auth = self.sink.credentials is not None or self.sink.token_check is not None
        if needs_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        # The refusal is chosen once per transaction, so "reject the next mail"
        # means one mail however many recipients it has.
        refusal = self.sink._take_refusal()
        envelope.maildesk_refusal = refusal  # type: ignore[attr-defined]
        if refusal is not None and refusal.stage == "mail":
            self.sink._record_rejection(address, [], refusal)
            return refusal.reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal: _Refusal | None = getattr(envelope, "maildesk_refusal", None)
        if refusal is not None and refusal.stage == "rcpt":
            self.sink._record_rejection(envelope.mail_from or "", [address], refusal)
            return refusal.reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal: _Refusal | None = getattr(envelope, "maildesk_refusal", None)
        rcpt_tos = list(envelope.rcpt_tos)
        if refusal is not None and refusal.stage == "data":
            self.sink._record_rejection(envelope.mail_from or "", rcpt_tos, refusal)
            return refusal.reply
        data = envelope.original_content or b""
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self.sink._record(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=rcpt_tos,
                data=bytes(data),
                mail_options=list(envelope.mail_options),
                auth_user=login,
            )
        )
        return "250 2.0.0 Accepted by the maildesk test sink"


class _OAuthHandler(_Handler):
    """The hooks plus ``AUTH XOAUTH2``, checked by the sink's ``token_check``."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) < 2:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            raw = answer
        else:
            try:
                raw = base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                return AuthResult(success=False, handled=False)
        fields = dict(
            part.split("=", 1) for part in raw.decode(errors="replace").split("\x01") if "=" in part
        )
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        check = self.sink.token_check
        if check is not None and check(user, token):
            return AuthResult(success=True, handled=False, auth_data=user)
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(success=False, handled=False)


class SmtpSink:
    """An SMTP server on a loopback port that keeps every mail it accepts.

    ``stop()``/``start()`` can be repeated on the same instance; the port is kept, so
    the code under test sees "connection refused" while stopped and the same address
    afterwards.  Received mails survive a restart until ``clear()``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        token_check: Callable[[str, str], bool] | None = None,
    ) -> None:
        """``credentials`` (user, password) makes AUTH PLAIN/LOGIN mandatory;
        ``token_check(user, token)`` makes AUTH XOAUTH2 mandatory."""
        self.port = _free_port(self.host)
        self.credentials = credentials
        self.token_check = token_check
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self._rejected: list[Rejected] = []
        self._refusals: deque[_Refusal] = deque()
        self._refuse_all: _Refusal | None = None
        self._controller: Controller | None = None
        self._started_once = False

    # -- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again); on the first start a port lost to a race is replaced."""
        if self._controller is not None:
            return
        attempts = 1 if self._started_once else 3
        for attempt in range(attempts):
            # A Controller closes its event loop on stop, so each start needs a new one.
            handler = _OAuthHandler(self) if self.token_check is not None else _Handler(self)
            controller = Controller(
                handler,
                hostname=self.host,
                port=self.port,
                ready_timeout=5.0,
                **self._smtp_kwargs(),
            )
            try:
                controller.start()
            except OSError:
                controller.stop(no_assert=True)
                if attempt + 1 < attempts:
                    self.port = _free_port(self.host)
                    continue
                raise
            self._controller = controller
            self._started_once = True
            return

    def stop(self) -> None:
        """Stop listening; open connections are dropped."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _smtp_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"server_hostname": "sink.maildesk.test"}
        if self.credentials is not None or self.token_check is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.credentials is None and self.token_check is not None:
            kwargs.update(auth_exclude_mechanism=["PLAIN", "LOGIN"])
        return kwargs

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        ok = (login, auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    # -- what arrived ----------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """A snapshot (copy) of the accepted mails, in arrival order."""
        with self._cond:
            return list(self._received)

    @property
    def rejected(self) -> list[Rejected]:
        """A snapshot of the transactions refused through ``reject_next``/``reject_all``."""
        with self._cond:
            return list(self._rejected)

    def clear(self) -> None:
        """Forget received and rejected mails (refusal settings stay)."""
        with self._cond:
            self._received.clear()
            self._rejected.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``count`` mails were accepted; returns them all.

        Raises AssertionError listing what did arrive when the timeout passes.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = [
                        f"{r.mail_from} -> {r.rcpt_tos}: {r.message['Subject']!r}"
                        for r in self._received
                    ]
                    raise AssertionError(
                        f"expected {count} mail(s) within {timeout} s, got "
                        f"{len(self._received)}: {arrived}; refused: {self._rejected}"
                    )
                self._cond.wait(remaining)
            return list(self._received)

    # -- refusing --------------------------------------------------------------------

    def reject_next(
        self, code: int = 550, *, stage: Stage = "rcpt", times: int = 1, text: str | None = None
    ) -> None:
        """Refuse the next ``times`` transactions with ``code`` (4xx temporary, 5xx
        permanent) at ``stage``; queued refusals are used before ``reject_all``'s."""
        refusal = _Refusal(stage, _reply(code, text))
        with self._cond:
            self._refusals.extend([refusal] * times)

    def reject_all(
        self, code: int = 451, *, stage: Stage = "rcpt", text: str | None = None
    ) -> None:
        """Refuse every transaction from now on, until ``accept_all()``."""
        with self._cond:
            self._refuse_all = _Refusal(stage, _reply(code, text))

    def accept_all(self) -> None:
        """Drop queued and standing refusals: accept every mail again."""
        with self._cond:
            self._refusals.clear()
            self._refuse_all = None

    # -- called from the server thread ---------------------------------------------

    def _take_refusal(self) -> _Refusal | None:
        with self._cond:
            return self._refusals.popleft() if self._refusals else self._refuse_all

    def _record(self, item: Received) -> None:
        with self._cond:
            self._received.append(item)
            self._cond.notify_all()

    def _record_rejection(self, mail_from: str, rcpt_tos: list[str], refusal: _Refusal) -> None:
        with self._cond:
            self._rejected.append(Rejected(mail_from, rcpt_tos, refusal.stage, refusal.reply))
            self._cond.notify_all()
