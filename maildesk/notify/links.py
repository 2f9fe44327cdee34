"""Signed links to a client's page: for whom, since when, and whether they still hold.

A link carries its scope (the client, and the contact it was mailed to) and
the instant it was issued, signed with HMAC by itsdangerous under the
server's secret; nothing is stored per link. A link holds while it is younger
than ``portal.link_days`` and younger than the client's last revocation
(``clients.links_revoked_at``), so revoking is one column write and every
earlier link fails at once. Mails carry a fresh link each time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer

__all__ = [
    "ANSWERS",
    "MIN_SECRET_LENGTH",
    "InvalidLink",
    "LinkScope",
    "PortalLinks",
    "SatisfactionLink",
    "link_key",
]

MIN_SECRET_LENGTH = 32
_LINK_SALT = "maildesk.portal.link"
_FORM_SALT = "maildesk.portal.form"
_SATISFACTION_SALT = "maildesk.portal.satisfaction"
ANSWERS = ("satisfied", "unsatisfied")
# A portal link (/c/) or an answer link (/s/, whose long payload itsdangerous compresses
# and marks with a leading dot) under any address, up to the end of the token.
_ANY_LINK = re.compile(r"(?:https?://[^\s<>\"']*)?/([cs])/(\.?[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")

Reason = Literal["tampered", "expired", "revoked", "unknown client", "unknown contact", "replayed"]


class InvalidLink(Exception):
    """A link that does not open the page; ``reason`` is for logs, never for the visitor."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkScope:
    """What a link opens: one client's page, as seen by one contact (or by no one in particular)."""

    client: str
    contact: str | None
    issued_at: datetime


@dataclass(frozen=True)
class SatisfactionLink:
    """A one-click answer: this ticket's client is (or is not) satisfied, as of ``issued_at``."""

    ticket: str
    client: str
    contact: str | None
    answer: str
    issued_at: datetime


def _ms(when: datetime) -> int:
    return int(when.astimezone(UTC).timestamp() * 1000)


class PortalLinks:
    """Signs and reads portal links and the form tokens of the pages they open."""

    def __init__(self, secret: str, base_url: str, link_days: int) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the portal secret is {len(secret)} characters long; use at least "
                f"{MIN_SECRET_LENGTH} (e.g. the output of `openssl rand -hex 32`)"
            )
        self._links = URLSafeSerializer(secret, salt=_LINK_SALT)
        self._forms = URLSafeSerializer(secret, salt=_FORM_SALT)
        self._answers = URLSafeSerializer(secret, salt=_SATISFACTION_SALT)
        self.base_url = base_url.rstrip("/")
        self.lifetime = timedelta(days=link_days)

    def redact(self, text: str) -> str:
        """``text`` with every link of this portal replaced, so a page never hands one on.

        The mails a page shows (an ack to a colleague, say) carry that person's
        link; shown to someone else, it would let them act as its contact. Any
        address counts, so links from before a change of ``base_url`` go too.
        """

        def replace(match: re.Match[str]) -> str:
            token = match.group(2)
            peek = self.peek_client if match.group(1) == "c" else self.peek_satisfaction_client
            return "[link]" if peek(token) is not None else match.group(0)

        return _ANY_LINK.sub(replace, text)

    def token(self, client: str, contact: str | None, now: datetime) -> str:
        """A token for ``client``'s page, issued at ``now``."""
        payload = {"c": client, "e": (contact or "").strip().lower(), "i": _ms(now)}
        return str(self._links.dumps(payload))

    def url(self, client: str, contact: str | None, now: datetime) -> str:
        """The address of ``client``'s page, to put in a mail."""
        return f"{self.base_url}/c/{self.token(client, contact, now)}"

    def read(self, token: str, now: datetime, revoked_at: datetime | None = None) -> LinkScope:
        """The scope of ``token``; :class:`InvalidLink` when it is forged, old or revoked.

        ``revoked_at`` is the client's last revocation; the caller looks it up
        for the client the scope names (a forged token never gets that far).
        """
        try:
            payload = self._links.loads(token)
        except BadSignature:
            raise InvalidLink("tampered") from None
        if not (
            isinstance(payload, dict)
            and isinstance(payload.get("c"), str)
            and isinstance(payload.get("e"), str)
            and isinstance(payload.get("i"), int)
        ):
            raise InvalidLink("tampered")
        issued = datetime.fromtimestamp(payload["i"] / 1000, UTC)
        if now - issued > self.lifetime or issued - now > timedelta(minutes=5):
            raise InvalidLink("expired")
        if revoked_at is not None and payload["i"] <= _ms(revoked_at):
            raise InvalidLink("revoked")
        return LinkScope(payload["c"], payload["e"] or None, issued)

    def satisfaction_url(
        self, ticket: str, client: str, contact: str | None, answer: str, now: datetime
    ) -> str:
        """The one-click link answering ``answer`` about ``ticket``, issued at ``now``.

        The answer is inside the signed token, so changing it is tampering.
        """
        if answer not in ANSWERS:
            raise ValueError(f"answer {answer!r} is not one of {ANSWERS}")
        payload = {
            "t": ticket,
            "c": client,
            "e": (contact or "").strip().lower(),
            "a": answer,
            "i": _ms(now),
        }
        return f"{self.base_url}/s/{self._answers.dumps(payload)}"

    def read_satisfaction(
        self, token: str, now: datetime, revoked_at: datetime | None = None
    ) -> SatisfactionLink:
        """What a satisfaction link says; :class:`InvalidLink` when forged, old or revoked.

        Whether it was overtaken (``replayed``) depends on the ticket: the caller checks.
        """
        try:
            payload = self._answers.loads(token)
        except BadSignature:
            raise InvalidLink("tampered") from None
        if not (
            isinstance(payload, dict)
            and all(isinstance(payload.get(k), str) for k in ("t", "c", "e", "a"))
            and isinstance(payload.get("i"), int)
            and payload["a"] in ANSWERS
        ):
            raise InvalidLink("tampered")
        issued = datetime.fromtimestamp(payload["i"] / 1000, UTC)
        if now - issued > self.lifetime or issued - now > timedelta(minutes=5):
            raise InvalidLink("expired")
        if revoked_at is not None and payload["i"] <= _ms(revoked_at):
            raise InvalidLink("revoked")
        return SatisfactionLink(
            payload["t"], payload["c"], payload["e"] or None, payload["a"], issued
        )

    def peek_satisfaction_client(self, token: str) -> str | None:
        """The client a well-signed satisfaction token names; None when forged."""
        try:
            payload = self._answers.loads(token)
        except BadSignature:
            return None
        client = payload.get("c") if isinstance(payload, dict) else None
        return client if isinstance(client, str) else None

    def peek_client(self, token: str) -> str | None:
        """The client a well-signed token names, before its age is checked; None when forged."""
        try:
            payload = self._links.loads(token)
        except BadSignature:
            return None
        client = payload.get("c") if isinstance(payload, dict) else None
        return client if isinstance(client, str) else None

    def form_token(self, token: str) -> str:
        """The token a page's forms must send back: bound to the link, unforgeable without it."""
        return str(self._forms.dumps(_digest(token)))

    def form_token_ok(self, token: str, sent: str) -> bool:
        try:
            return bool(self._forms.loads(sent) == _digest(token))
        except BadSignature:
            return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def link_key(token: str) -> str:
    """A short, non-secret name for a link, for rate limits and logs."""
    return _digest(token)[:16]
