"""What every config section shares: the error type and the strict base model."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
)

Security = Literal["tls", "starttls", "plain"]
Language = Literal["en", "nl", "fr"]


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and what to change."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
