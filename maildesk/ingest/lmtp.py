"""The built-in LMTP/SMTP listener; the only module that imports aiosmtpd.

An MTA (Postfix, Exim) or a user's mail client hands mail over directly. A
recipient that is not one of our addresses is refused at RCPT (550). The mail
goes through the same ``Receiver.receive`` as IMAP mail, in a worker thread;
``250`` is answered only after its transaction committed, ``451`` when the
database is unavailable (the MTA keeps the mail and retries), and aiosmtpd
answers ``552`` to mail over the size limit. Over LMTP each recipient gets its
own reply line (RFC 2033), including aiosmtpd's own size refusals; the mail
itself is recorded once. The envelope sender goes with the mail: a null
reverse-path (``MAIL FROM:<>``) is never answered.
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


class _LmtpServer(LMTP):
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
            status = "\r\n".join([status] * self._replies_due)
            self._replies_due = 0
        await super().push(status)


class _Controller(Controller):
    def __init__(self, handler: _Handler, lmtp: bool, max_bytes: int, **kwargs: Any) -> None:
        self._lmtp = lmtp
        self._max_bytes = max_bytes
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        cls = _LmtpServer if self._lmtp else SMTP
        return cls(
            self.handler, data_size_limit=self._max_bytes, decode_data=False, **self.SMTP_kwargs
        )


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
