"""What a delivery transport promises, and the two ways it can fail."""

from __future__ import annotations

from typing import Protocol


class DeliveryError(Exception):
    """Base for delivery failures; ``permanent`` decides retry or give up."""

    permanent = False


class TemporaryDeliveryError(DeliveryError):
    """Try again later (network down, 4xx)."""


class RelayUnavailable(TemporaryDeliveryError):
    """The way out itself fails (relay down, login refused), not this mail.

    The mail waits without being charged an attempt toward giving up, and the
    outage counts against outgoing delivery's health. ``hint`` says in words
    what an operator can do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help (5xx: no such user, rejected)."""

    permanent = True


class Transport(Protocol):
    """Hands one composed mail to the outside world."""

    @property
    def label(self) -> str:
        """Where the mail goes, for logs, status and alerts."""
        ...

    def send(self, mail_from: str, rcpt_to: list[str], data: bytes) -> None: ...

    def close(self) -> None: ...
