"""The built-in LMTP/SMTP listener; the only module that imports aiosmtpd.

An MTA (Postfix, Exim) or a user's mail client hands mail over directly. A
recipient that is not one of our addresses is refused at RCPT (550). The mail
goes through the same ``Receiver.receive`` as IMAP mail, in a worker thread;
``250`` is answered only after its transaction committed, ``451`` when the
database is unavailable (the MTA keeps the mail and retries). Over LMTP each
recipient gets its own reply line (RFC 2033), including aiosmtpd's own size
refusals; the mail itself is recorded once. The envelope sender goes with the
mail: a null reverse-path (``MAIL FROM:<>``) is never answered.

Size: mail over ``service.max_message_bytes`` is refused with ``552 5.3.4``
(the limit is also announced in EHLO's ``SIZE``), so it never reaches maildesk's
database: the sending server keeps the refusal and tells the sender, with the
limit in the reply text. (Mail over the limit found in an IMAP mailbox has already
been accepted by someone; it is quarantined with a notice to the sender.)

Lines: RFC 5322 limits a line to 998 bytes, but real mail exceeds it (long HTML
lines, unfolded headers), and aiosmtpd refuses any line over 1,000 bytes with
``500``, which makes the sending server bounce the mail. Lines of any length are
accepted here, within the size limit.

aiosmtpd logs every SMTP command at INFO on its ``mail.log`` logger; those lines
are shown at DEBUG only, so that a normal log holds maildesk's one line per mail.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from maildesk.ingest.context import Receipt
from maildesk.ingest.receive import IntakeUnavailable

log = logging.getLogger(__name__)


def address_matcher(addresses: frozenset[str]) -> Callable[[str], bool]:
    """Accept our addresses, with or without a ``+detail`` part (``support+2026-000042@``)."""

    def accepts(address: str) -> bool:
        address = address.strip().strip("<>").lower()
        local, _, domain = address.rpartition("@")
        base = local.split("+", 1)[0]
        return f"{base}@{domain}" in addresses

    return accepts


def _reverse_path(mail_from: str | None) -> str:
    """The envelope sender of ``MAIL FROM``: "" for the null reverse-path ``<>``."""
    return (mail_from or "").strip().strip("<>").strip().lower()


class _Handler:
    def __init__(
        self,
        receive: Callable[[bytes, str, str | None], Receipt],
        accepts: Callable[[str], bool],
        lmtp: bool,
    ) -> None:
        self.receive = receive
        self.accepts = accepts
        self.lmtp = lmtp

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.accepts(address):
            log.info("refused recipient %s from %s", address, session.peer)
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        key = f"lmtp:{hashlib.sha256(raw).hexdigest()}"
        loop = asyncio.get_running_loop()
        try:
            receipt = await loop.run_in_executor(
                None, self.receive, raw, key, _reverse_path(envelope.mail_from)
            )
        except IntakeUnavailable as exc:
            log.warning("deferred mail from %s: %s", envelope.mail_from, exc)
            status = "451 4.3.0 temporarily unable to store the mail, try again later"
        except Exception:
            log.exception("unexpected error storing mail from %s", envelope.mail_from)
            status = "451 4.3.0 internal error, try again later"
        else:
            log.info(
                "mail %s via %s: %s%s",
                receipt.message_id or "-",
                "lmtp" if self.lmtp else "smtp",
                receipt.outcome.value,
                f" ticket {receipt.ticket_number}" if receipt.ticket_number else "",
            )
            status = "250 2.0.0 OK" + (
                f" ticket {receipt.ticket_number}" if receipt.ticket_number else ""
            )
        return status


class _Quieter(logging.Filter):
    """Shows aiosmtpd's per-command INFO lines as DEBUG (and only when DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger("maildesk").isEnabledFor(logging.DEBUG)
        return True


_QUIETER = _Quieter()
logging.getLogger("mail.log").addFilter(_QUIETER)  # added once: the same filter object


class _Limits(SMTP):
    """What both servers share: the size limit and its wording, no line-length limit."""

    def __init__(self, handler: _Handler, max_bytes: int, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        # aiosmtpd reads lines through a StreamReader limited to ``line_length_limit``
        # (read in SMTP.__init__) and refuses longer ones with 500: let a line be as
        # long as the mail may be. Command lines keep their own 512-byte limit.
        self.line_length_limit = max_bytes + 2
        super().__init__(handler, data_size_limit=max_bytes, decode_data=False, **kwargs)

    def _size_refusal(self, status: str) -> str:
        # "Line too long" now means a line longer than the whole mail may be.
        if status.startswith(("552 Error: Too much mail data", "500 Line too long")):
            return (
                f"552 5.3.4 message larger than this helpdesk accepts "
                f"({self.max_bytes} bytes); send large files as a link"
            )
        return status

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            await super().push(self._size_refusal(status))
        else:
            await super().push(status)


class _SmtpServer(_Limits):
    pass


class _LmtpServer(_Limits, LMTP):
    """aiosmtpd's LMTP, answering the end of DATA once per accepted recipient (RFC 2033 4.2).

    Every reply after the ``354`` — ours from ``handle_DATA`` and aiosmtpd's
    own ``552``/``500`` — is repeated for each recipient, so an MTA never waits
    for a reply that does not come.
    """

    _replies_due = 0

    async def smtp_DATA(self, arg: str) -> None:
        self._replies_due = 0
        try:
            await super().smtp_DATA(arg)
        finally:
            self._replies_due = 0

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, bytes):
            await super().push(status)
            return
        if status.startswith("354") and self.envelope is not None:
            self._replies_due = max(len(self.envelope.rcpt_tos), 1)
        elif self._replies_due:
            status = "\r\n".join([self._size_refusal(status)] * self._replies_due)
            self._replies_due = 0
        await super().push(status)


class _Controller(Controller):
    def __init__(self, handler: _Handler, lmtp: bool, max_bytes: int, **kwargs: Any) -> None:
        self._lmtp = lmtp
        self._max_bytes = max_bytes
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        cls = _LmtpServer if self._lmtp else _SmtpServer
        return cls(self.handler, self._max_bytes, **self.SMTP_kwargs)


class MailListener:
    """Runs the listener in its own thread until ``stop``."""

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str,
        receive: Callable[[bytes, str, str | None], Receipt],
        accepts: Callable[[str], bool],
        max_bytes: int,
    ) -> None:
        lmtp = protocol == "lmtp"
        self.protocol = protocol
        self._controller = _Controller(
            _Handler(receive, accepts, lmtp), lmtp, max_bytes, hostname=host, port=port
        )

    @property
    def address(self) -> tuple[str, int]:
        return self._controller.hostname, self._controller.port

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
