"""What a delivery transport promises, and the two ways it can fail."""

from __future__ import annotations

from typing import Protocol


class DeliveryError(Exception):
    """Base for delivery failures; ``permanent`` decides retry or give up."""

    permanent = False


class TemporaryDeliveryError(DeliveryError):
    """Try again later (network down, 4xx)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help (5xx: no such user, rejected)."""

    permanent = True


class Transport(Protocol):
    """Hands one composed mail to the outside world."""

    def send(self, mail_from: str, rcpt_to: list[str], data: bytes) -> None: ...

    def close(self) -> None: ...
