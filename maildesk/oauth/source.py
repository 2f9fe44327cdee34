"""A mailbox's access tokens: one cached, a new one fetched before it expires.

Each provider subclasses :class:`TokenSource` with ``_fetch`` (how a new token
is obtained) and, where a person must consent once, ``login``. Callers only ask
for ``access_token()``: it returns the cached token while enough of its life is
left and fetches a new one otherwise, so a login never starts with a token that
expires under it. ``invalidate()`` drops the cached token after a server refused
it (revoked early, or issued for the wrong mailbox).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from maildesk.core.config.oauth import Mechanism
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.store import TokenStore

# A token is replaced when less than this share of its life is left, and at the
# latest five minutes before it expires (providers issue 1-hour tokens).
REFRESH_SHARE = 0.25
REFRESH_MAX_MARGIN = 300.0


class LoginUI(Protocol):
    """How ``mailbox login`` talks to the operator (the terminal, or a test)."""

    def say(self, text: str) -> None: ...

    def ask(self, prompt: str, *, secret: bool) -> str: ...


@dataclass(frozen=True)
class Token:
    """An access token and when it expires (Unix seconds); never printed."""

    value: str = field(repr=False)
    expires_at: float


class TokenSource(ABC):
    """Access tokens for one mailbox (``name``), to authenticate as ``user``."""

    #: Whether a person must sign in once with ``maildesk mailbox login``.
    needs_login = False

    def __init__(
        self,
        name: str,
        user: str,
        mechanism: Mechanism,
        store: TokenStore,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.user = user
        self.mechanism = mechanism
        self.store = store
        self._now = now
        self._token: Token | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()
        #: How many tokens were fetched from the provider (for status and tests).
        self.fetched = 0

    def access_token(self) -> str:
        """A token with enough life left for a login; fetched when needed."""
        with self._lock:
            now = self._now()
            if self._token is None or now >= self._refresh_at:
                token = self._fetch()
                if not token.value:
                    raise OAuthError(f"{self.name}: the provider answered without a token")
                margin = min(REFRESH_MAX_MARGIN, max(0.0, token.expires_at - now) * REFRESH_SHARE)
                self._token, self._refresh_at = token, token.expires_at - margin
                self.fetched += 1
            return self._token.value

    @property
    def expires_at(self) -> float:
        """When the cached token expires (Unix seconds; 0 when none is cached)."""
        return self._token.expires_at if self._token is not None else 0.0

    def invalidate(self) -> None:
        """Forget the cached token: the next ``access_token()`` fetches a new one."""
        with self._lock:
            self._token = None

    def login(self, ui: LoginUI) -> None:
        """Sign a person in once and keep the refresh token (delegated flows only)."""
        raise OAuthError(
            f"{self.name} uses an app's own credentials and needs no login; "
            f"try `maildesk mailbox check {self.name}`"
        )

    @abstractmethod
    def _fetch(self) -> Token:
        """A new access token from the provider; raise an ``OAuthError`` in words."""
