"""The client portal as a Starlette application: routes, checks, and responses.

Every request under ``/c/{token}`` is checked the same way before anything is
read: the rate limit for that link, the signature, the age, the client's last
revocation, and that the client is still configured. A link that fails any of
these gets the same page, which says how to get a new link and nothing else.
Forms carry a token bound to the link (:meth:`PortalLinks.form_token`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from maildesk.billing.amounts import Amounts
from maildesk.billing.lines import WorkLine
from maildesk.billing.mailing import authorised_contacts, client_language, staff_name
from maildesk.billing.quotes import record_quote_answer
from maildesk.core.config import Settings
from maildesk.notify.context import MailContext
from maildesk.notify.links import InvalidLink, LinkScope, PortalLinks, link_key
from maildesk.store.db import Database
from maildesk.store.models import Client
from maildesk.web.portal import data
from maildesk.web.portal.answers import Answers
from maildesk.web.portal.export import TABLES, export_csv, export_json, export_records
from maildesk.web.portal.notices import tell_quote_author
from maildesk.web.portal.pages import Pages
from maildesk.web.portal.ratelimit import RateLimiter
from maildesk.web.portal.service import HEIGHT, WIDTH, service_view
from maildesk.web.portal.text import words

__all__ = ["SECURITY_HEADERS", "Portal", "create_app"]

log = logging.getLogger(__name__)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not "no-referrer": under it browsers send `Origin: null` with every form
    # POST (Fetch spec), and the quote buttons would always be refused. This
    # still never sends the page's address (with its token) to another site.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CSS = files("maildesk.web.portal").joinpath("portal.css").read_text(encoding="utf-8")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Portal:
    """What the portal needs: the database, mail context (settings, clock) and link signer.

    The daemon swaps ``ctx`` when the clients or the config file change, so
    every request reads the settings from it.
    """

    db: Database
    ctx: MailContext
    links: PortalLinks

    @property
    def prefix(self) -> str:
        """The path the portal sits under at its public address (``/portal``, or empty)."""
        return urlsplit(self.links.base_url).path.rstrip("/")


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class Opened(NamedTuple):
    """A request's link that passed every check: its token, scope, client and language."""

    token: str
    scope: LinkScope
    client: Client
    language: str


def _security_headers(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped


class _Views:
    """The route handlers, sharing one portal, page renderer and rate limiter."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        settings = portal.ctx.settings
        self.pages = Pages(settings.service.timezone)
        self.limiter = RateLimiter(settings.portal.requests_per_minute)
        self.answers = Answers(self)

    @property
    def settings(self) -> Settings:
        """The settings now (clients added or changed since start-up included)."""
        return self.portal.ctx.settings

    # -- helpers -------------------------------------------------------------

    def _html(self, name: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.pages.render(
            name,
            language,
            css_url=f"{self.portal.prefix}/portal.css",
            now=self.portal.ctx.clock.now(),
            staff_name=lambda address: staff_name(self.settings, address),
            **context,
        )
        return HTMLResponse(body, status_code=status)

    def _money(self, client: Client, language: str) -> dict[str, Any]:
        """The amount columns of a ledger table: what time at the rate cost, as the client reads it.

        No column under a policy without a rate.
        """
        _, policy = self.settings.policy_for(client.key)
        amounts = Amounts.of(policy.billing, language)

        def cells(line: WorkLine) -> list[str]:
            price = amounts.price(line.at_rate) if line.at_rate else None
            return [c if isinstance(c, str) else c.text for c in amounts.cells(price)]

        return {"amount_headers": amounts.headers(), "amount_cells": cells}

    def _notice(
        self, language: str, status: int, heading: str, text: str, back: str | None = None
    ) -> HTMLResponse:
        return self._html("notice", language, status, heading=heading, text=text, back_url=back)

    def _invalid(self, token: str, reason: str, ip: str) -> Refused:
        log.info("portal: link %s from %s refused (%s)", link_key(token), ip, reason)
        # Refusals count per address too: forged links each have their own key.
        self._limit("refused:" + ip)
        t = words(self.settings.service.language)
        text = t["invalid_text"].format(address=self.settings.service.support_address)
        return Refused(self._notice(self.settings.service.language, 403, t["invalid_title"], text))

    def _limit(self, key: str) -> None:
        wait = self.limiter.allow(key)
        if wait:
            t = words(self.settings.service.language)
            response = self._notice(self.settings.service.language, 429, t["too_many"], "")
            response.headers["Retry-After"] = str(int(wait) + 1)
            raise Refused(response)

    def _open(self, token: str, ip: str) -> tuple[LinkScope, Client, str]:
        """The link's scope, its client and the client's language; :class:`Refused` if not."""
        self._limit("link:" + link_key(token))
        links = self.portal.links
        key = links.peek_client(token)
        if key is None:
            raise self._invalid(token, "tampered", ip)
        with self.portal.db.session() as session:
            client = data.load_client(session, key)
            if client is not None:
                session.expunge(client)
        cfg = self.settings.client(key)
        if client is None or cfg is None:
            raise self._invalid(token, "unknown client", ip)
        try:
            scope = links.read(token, self.portal.ctx.clock.now(), client.links_revoked_at)
        except InvalidLink as exc:
            raise self._invalid(token, exc.reason, ip) from None
        # A contact taken off the client's list loses its links with it.
        if scope.contact is not None and scope.contact not in {c.email for c in cfg.contacts}:
            raise self._invalid(token, "unknown contact", ip)
        return scope, client, client_language(self.settings, client)

    def _base(self, token: str) -> str:
        return f"{self.portal.prefix}/c/{token}"

    # -- pages ---------------------------------------------------------------

    def _opened(self, view: Callable[[Request, Opened], Response]) -> Callable[[Request], Response]:
        """``view`` behind the link checks: it runs only for a link that opens a page."""

        def checked(request: Request) -> Response:
            token = request.path_params["token"]
            try:
                scope, client, language = self._open(token, client_ip(request))
            except Refused as refused:
                return refused.response
            return view(request, Opened(token, scope, client, language))

        return checked

    def page(self, request: Request, link: Opened) -> Response:
        token, scope, client, language = link
        now = self.portal.ctx.clock.now()
        flash = ""
        with self.portal.db.transaction() as session:
            view = data.client_page(
                session, client, scope.contact, self.settings.service.timezone, now
            )
            answered = request.query_params.get("answered", "")
            if answered.isascii() and answered.isdigit():
                found = data.client_quote(session, client, int(answered))
                if found is not None and found[0].status in ("accepted", "refused"):
                    flash = words(language)[f"answered_{found[0].status}"].format(
                        ticket=found[1].number
                    )
            return self._html(
                "page",
                language,
                page=view,
                base=self._base(token),
                form_token=self.portal.links.form_token(token),
                flash=flash,
                **self._money(client, language),
            )

    def ticket(self, request: Request, link: Opened) -> Response:
        token, _, client, language = link
        t = words(language)
        with self.portal.db.session() as session:
            ticket = data.client_ticket(session, client, request.path_params["number"])
            if ticket is None:
                return self._notice(language, 404, t["not_found"], "", self._base(token))
            view = data.ticket_page(session, client, ticket)
            return self._html(
                "ticket",
                language,
                view=view,
                base=self._base(token),
                redact=self.portal.links.redact,
                **self._money(client, language),
            )

    def service(self, request: Request, link: Opened) -> Response:
        """The "Service level" page: the monthly report's figures and a 12-month chart."""
        token, _, client, language = link
        zone = self.settings.service.timezone
        with self.portal.db.session() as session:
            view = service_view(session, client, zone, self.portal.ctx.clock.now())
        return self._html(
            "service",
            language,
            view=view,
            client_name=client.name,
            base=self._base(token),
            width=WIDTH,
            height=HEIGHT,
        )

    def download(self, request: Request, link: Opened) -> Response:
        token, _, client, language = link
        name = request.path_params["name"]
        table, _, kind = name.partition(".")
        if name != "data.json" and not (kind == "csv" and table in TABLES):
            t = words(language)
            return self._notice(language, 404, t["not_found"], "", self._base(token))
        with self.portal.db.session() as session:
            records = export_records(session, client, self.portal.links.redact)
        if name == "data.json":
            body = export_json(records, client, self.portal.ctx.clock.now())
            media = "application/json"
        else:
            body = export_csv(records, table)
            media = "text/csv; charset=utf-8"
        log.info("portal: %s downloaded %s", client.key, name)
        filename = f"{client.key}-{name}"
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def answer(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            scope, client, language = await run_in_threadpool(self._open, token, client_ip(request))
        except Refused as refused:
            return refused.response
        t = words(language)
        form = await request.form()
        sent = str(form.get("form_token", ""))
        answer = str(form.get("answer", ""))
        if not self._same_origin(request) or not self.portal.links.form_token_ok(token, sent):
            log.info("portal: %s form refused (origin or form token)", link_key(token))
            return self._notice(language, 403, t["invalid_title"], "", self._base(token))
        if answer not in ("accept", "refuse"):
            return self._notice(language, 400, t["not_found"], "", self._base(token))
        quote_id = int(request.path_params["quote_id"])
        return await run_in_threadpool(
            self._record, token, scope, client, language, quote_id, answer
        )

    def _record(
        self,
        token: str,
        scope: LinkScope,
        client: Client,
        language: str,
        quote_id: int,
        answer: str,
    ) -> Response:
        t = words(language)
        with self.portal.db.transaction() as session:
            found = data.client_quote(session, client, quote_id)
            if found is None:
                return self._notice(language, 404, t["not_found"], "", self._base(token))
            quote, ticket = found
            if scope.contact is None:
                status = None
            else:
                status = record_quote_answer(
                    session,
                    self.portal.ctx,
                    ticket,
                    quote,
                    "accept" if answer == "accept" else "refuse",
                    scope.contact,
                    via="portal",
                )
            if status is None:
                text = t["answer_gone"] if quote.status != "pending" else ""
                if not text:
                    names = ", ".join(authorised_contacts(session, client.id)) or "-"
                    text = t["only_authorised"].format(names=names, client=client.name)
                return self._notice(language, 403, t["quotes"], text, self._base(token))
            tell_quote_author(session, self.portal.ctx, ticket, quote, scope.contact or "")
        log.info(
            "portal: %s quote %d on %s %s by %s",
            client.key,
            quote_id,
            ticket.number,
            status,
            scope.contact,
        )
        return RedirectResponse(f"{self._base(token)}?answered={quote_id}", status_code=303)

    def satisfaction(self, request: Request) -> Response:
        """An answer link (``answers.py``): keep the answer, offer a comment."""
        try:
            return self.answers.answer(request.path_params["token"], client_ip(request))  # type: ignore[no-any-return]
        except Refused as refused:
            return refused.response

    async def satisfaction_comment(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form()
        sent = str(form.get("form_token", ""))
        if not self._same_origin(request) or not self.portal.links.form_token_ok(token, sent):
            language = self.settings.service.language
            return self._notice(language, 403, words(language)["invalid_title"], "")
        comment = str(form.get("comment", ""))
        return await run_in_threadpool(self._comment, token, client_ip(request), comment)

    def _comment(self, token: str, ip: str, comment: str) -> Response:
        try:
            return self.answers.comment(token, ip, comment)  # type: ignore[no-any-return]
        except Refused as refused:
            return refused.response

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        allowed = {f"{request.url.scheme}://{request.url.netloc}"}
        public = urlsplit(self.portal.links.base_url)
        allowed.add(f"{public.scheme}://{public.netloc}")
        return origin in allowed

    def css(self, request: Request) -> Response:
        return Response(CSS, media_type="text/css; charset=utf-8")

    def nothing(self, request: Request) -> Response:
        t = words(self.settings.service.language)
        return self._notice(self.settings.service.language, 404, t["not_found"], "")


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "-"


def create_app(portal: Portal) -> ASGIApp:
    """The portal's ASGI application, with security headers on every response."""
    views = _Views(portal)
    routes: list[BaseRoute] = [
        Route("/portal.css", views.css),
        Route("/c/{token}", views._opened(views.page)),
        Route("/c/{token}/t/{number}", views._opened(views.ticket)),
        Route("/c/{token}/quotes/{quote_id:int}", views.answer, methods=["POST"]),
        Route("/c/{token}/service", views._opened(views.service)),
        Route("/s/{token}", views.satisfaction, methods=["GET"]),
        Route("/s/{token}", views.satisfaction_comment, methods=["POST"]),
        Route("/c/{token}/{name}", views._opened(views.download)),
        Route("/", views.nothing),
    ]
    if portal.prefix:
        routes.append(Mount(portal.prefix, routes=list(routes)))
    app = Starlette(routes=routes)
    app.add_exception_handler(404, lambda request, exc: views.nothing(request))
    return _security_headers(app)
