"""The portal's answer links: a client's one-click "satisfied / not satisfied", and a comment.

Starlette stays in ``app.py``: its routes hand these methods the token, the address and
the form's text, and return what they give back. Every request is checked before anything
is read, as for the page links: the rate limit
for that link, the signature, the age, the client's last revocation, that the client is
still configured, and (in :mod:`maildesk.report.satisfaction`) that the ticket was not
reopened since the link was issued. A failure raises the portal's refusal
(``views._invalid``), which the route turns into the one "no longer valid" page.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from maildesk.billing.mailing import client_language
from maildesk.core.config import Settings
from maildesk.notify.links import InvalidLink, SatisfactionLink, link_key
from maildesk.report.satisfaction import Recorded, record_answer, record_comment
from maildesk.store.models import Client
from maildesk.web.portal import data

__all__ = ["Answers"]

log = logging.getLogger(__name__)


class Views(Protocol):
    """What the answer pages use of the portal's views."""

    portal: Any  # the Portal of web.portal.app (importing it here would be circular)

    @property
    def settings(self) -> Settings: ...

    def _html(self, name: str, language: str, status: int = 200, **context: Any) -> Any: ...

    def _invalid(self, token: str, reason: str, ip: str) -> Exception: ...

    def _limit(self, key: str) -> None: ...


class Answers:
    """The ``/s/{token}`` routes: GET keeps the answer, POST adds the comment."""

    def __init__(self, views: Views) -> None:
        self.views = views

    def _answer_link(self, token: str, ip: str) -> tuple[SatisfactionLink, Client, str]:
        """A satisfaction link that holds (signature, age, revocation), with its client."""
        self.views._limit("link:" + link_key(token))
        key = self.views.portal.links.peek_satisfaction_client(token)
        if key is None:
            raise self.views._invalid(token, "tampered", ip)
        with self.views.portal.db.session() as session:
            client = data.load_client(session, key)
            if client is not None:
                session.expunge(client)
        if client is None or self.views.settings.client(key) is None:
            raise self.views._invalid(token, "unknown client", ip)
        try:
            link = self.views.portal.links.read_satisfaction(
                token, self.views.portal.ctx.clock.now(), client.links_revoked_at
            )
        except InvalidLink as exc:
            raise self.views._invalid(token, exc.reason, ip) from None
        return link, client, client_language(self.views.settings, client)

    def answer(self, token: str, ip: str) -> Any:
        """One click from the "resolved" mail: keep the answer, offer a comment."""
        link, client, language = self._answer_link(token, ip)
        with self.views.portal.db.transaction() as session:
            ticket = data.client_ticket(session, client, link.ticket)
            if ticket is None:
                raise self.views._invalid(token, "tampered", ip)
            now = self.views.portal.ctx.clock.now()
            outcome = record_answer(session, self.views.portal.ctx, ticket, link, now)
            if outcome is Recorded.REPLAYED:
                raise self.views._invalid(token, "replayed", ip)
        log.info("portal: %s ticket %s %s (%s)", client.key, link.ticket, link.answer, outcome)
        return self._satisfaction_page(token, link, language, commented=False)

    def _satisfaction_page(
        self, token: str, link: SatisfactionLink, language: str, *, commented: bool
    ) -> Any:
        return self.views._html(
            "satisfaction",
            language,
            number=link.ticket,
            answer=link.answer,
            commented=commented,
            action=f"{self.views.portal.prefix}/s/{token}",
            form_token=self.views.portal.links.form_token(token),
        )

    def comment(self, token: str, ip: str, comment: str) -> Any:
        """The optional comment, kept beside the answer while that answer still holds."""
        link, client, language = self._answer_link(token, ip)
        with self.views.portal.db.transaction() as session:
            ticket = data.client_ticket(session, client, link.ticket)
            now = self.views.portal.ctx.clock.now()
            if ticket is None or not record_comment(session, ticket, link, comment, now):
                raise self.views._invalid(token, "replayed", ip)
        return self._satisfaction_page(token, link, language, commented=True)
