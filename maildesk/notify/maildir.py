"""Delivery into a local maildir: the embedded default, so a new user sees what would be sent."""

from __future__ import annotations

import mailbox
from pathlib import Path

from maildesk.notify.transport import RelayUnavailable


class MaildirTransport:
    """Writes each mail as a file in ``path`` (new/), readable by any mail client."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def label(self) -> str:
        return f"maildir:{self.path}"

    def send(self, mail_from: str, rcpt_to: list[str], data: bytes) -> None:
        try:
            box = mailbox.Maildir(self.path, create=True)
            envelope = f"X-Envelope-From: {mail_from}\nX-Envelope-To: {', '.join(rcpt_to)}\n"
            box.add(envelope.encode() + data)
        except OSError as exc:
            raise RelayUnavailable(
                f"cannot write to maildir {self.path}: {exc}",
                f"check that {self.path} exists and that maildesk's user may write to it",
            ) from exc

    def close(self) -> None:
        return None
