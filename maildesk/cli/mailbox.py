"""`maildesk mailbox login|check NAME`: connect a mailbox and see that it works.

``login`` runs a provider's one-time sign-in (device code for Microsoft, a
consent URL for Google, a pasted refresh token for a generic endpoint) and
keeps the refresh token in the data folder; no public URL is needed. ``check``
gets a token, logs in and lists the folders maildesk will use, and says in
words what is wrong when something is. NAME is a mailbox's ``name``: an
``[[intake.imap]]`` block's, or ``[outgoing.smtp]``'s (``outgoing`` unless set).
"""

from __future__ import annotations

import getpass
import sys
import time
from typing import Annotated

import typer

from maildesk.cli.common import ConfigOption, fail, load_config
from maildesk.core.config import ConfigError, ImapSource, Settings, SmtpRelay
from maildesk.core.config.oauth import GoogleOAuth, MicrosoftOAuth, OAuthProvider
from maildesk.daemon import build_transport, imap_account, mailbox_tokens
from maildesk.ingest.imap import ImapAccount, MailboxUnavailable, check_mailbox
from maildesk.notify.smtp import SmtpTransport
from maildesk.notify.transport import DeliveryError
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.source import TokenSource

app = typer.Typer(
    help="Connect a mailbox (OAuth2 sign-in) and check that maildesk can use it.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="The mailbox's `name` in the config.")]


class TerminalUI:
    """Talks to the operator on the terminal; secrets are read without echo."""

    def say(self, text: str) -> None:
        typer.echo(text)

    def ask(self, prompt: str, *, secret: bool) -> str:
        """One line from the operator; from standard input when it is not a terminal
        (``maildesk mailbox login NAME < file``), so scripts can hand it over."""
        if not sys.stdin.isatty():
            return sys.stdin.readline().strip()
        return getpass.getpass(f"{prompt}: ") if secret else input(f"{prompt}: ")


def _names(settings: Settings) -> list[str]:
    names = [src.name for src in settings.intake.imap]
    if settings.outgoing.transport == "smtp" and settings.outgoing.smtp is not None:
        names.append(settings.outgoing.smtp.name)
    return names


def _find(settings: Settings, name: str) -> tuple[int | None, OAuthProvider | None, str]:
    """(IMAP index or None for the SMTP relay, its oauth2 block, its username)."""
    for index, src in enumerate(settings.intake.imap):
        if src.name == name:
            return index, src.oauth2, src.username
    relay = settings.outgoing.smtp
    if settings.outgoing.transport == "smtp" and relay is not None and relay.name == name:
        return None, relay.oauth2, relay.username or ""
    known = ", ".join(_names(settings)) or "none: the config has no IMAP or SMTP mailbox"
    fail(f"no mailbox named {name!r} in {settings.source} (known: {known})", 2)


def _tokens(settings: Settings, name: str) -> TokenSource | None:
    index, cfg, user = _find(settings, name)
    key = "outgoing.smtp" if index is None else f"intake.imap[{index}]"
    try:
        return mailbox_tokens(settings, name, user, cfg, key)
    except ConfigError as exc:
        fail(str(exc), 2)


@app.command("login")
def login(name: NameArg, config: ConfigOption = None) -> None:
    """Sign in once for an OAuth2 mailbox and keep its refresh token (no public URL needed)."""
    settings = load_config(config)
    _index, cfg, _user = _find(settings, name)
    if cfg is None:
        fail(f"{name} logs in with a password (auth = 'password'); nothing to sign in", 2)
    if cfg.flow in ("app", "service_account", "client_credentials"):
        typer.echo(
            f"{name} uses the app's own credentials (flow = {cfg.flow!r}); no sign-in is "
            f"needed. Run `maildesk mailbox check {name}` to test them."
        )
        return
    tokens = _tokens(settings, name)
    assert tokens is not None and tokens.needs_login
    try:
        tokens.login(TerminalUI())
        tokens.access_token()
    except OAuthError as exc:
        fail(str(exc), 1)
    typer.echo(f"{name}: ready. Run `maildesk mailbox check {name}` to test the login.")


@app.command("check")
def check(name: NameArg, config: ConfigOption = None) -> None:
    """Get a token, log in, list the folders maildesk will use; say what is wrong if anything."""
    settings = load_config(config)
    index, cfg, _user = _find(settings, name)
    try:
        if index is not None:
            _check_imap(imap_account(settings, index), cfg)
        else:
            transport = build_transport(settings)
            assert isinstance(transport, SmtpTransport)  # _find only names an SMTP relay
            _check_smtp(transport, cfg)
    except ConfigError as exc:
        fail(str(exc), 2)
    except (OAuthError, MailboxUnavailable, DeliveryError) as exc:
        fail(str(exc), 1)


def _check_token(tokens: TokenSource | None) -> None:
    if tokens is None:
        return
    tokens.access_token()
    left = max(0, int(tokens.expires_at - time.time()))
    typer.echo(f"  token: obtained ({left // 60} min {left % 60} s left)")


def _check_imap(account: ImapAccount, cfg: OAuthProvider | None) -> None:
    typer.echo(f"{account.name}: {account.label} ({_how(cfg)})")
    _check_token(account.token)
    folders = check_mailbox(account)
    typer.echo(f"  login: OK as {account.username}")
    for folder, exists in folders:
        typer.echo(f"  folder {folder}: {'exists' if exists else 'will be created'}")


def _check_smtp(transport: SmtpTransport, cfg: OAuthProvider | None) -> None:
    p = transport.params
    typer.echo(f"smtp://{p.username or ''}@{p.host}:{p.port} ({_how(cfg)})")
    _check_token(p.token)
    transport.check()
    typer.echo(f"  login: OK{f' as {p.username}' if p.username else ''}")


def login_summary(src: ImapSource | SmtpRelay) -> str:
    """How a mailbox logs in, for ``check-config`` (names secrets, never shows them)."""
    cfg = src.oauth2
    if cfg is None:
        return f"password from ${src.password_env}" if src.password_env else "no login"
    if isinstance(cfg, MicrosoftOAuth):
        where = (
            f"secret from ${cfg.client_secret_env}"
            if cfg.client_secret_env
            else f"certificate {cfg.certificate_file}"
            if cfg.flow == "app"
            else f"sign in with `maildesk mailbox login {src.name}`"
        )
        return f"oauth2 microsoft {cfg.flow} (tenant {cfg.tenant}, app {cfg.client_id}), {where}"
    if isinstance(cfg, GoogleOAuth):
        where = (
            f"key {cfg.service_account_file}"
            if cfg.flow == "service_account"
            else f"sign in with `maildesk mailbox login {src.name}`"
        )
        return f"oauth2 google {cfg.flow}, {where}"
    where = (
        f"secret from ${cfg.client_secret_env}"
        if cfg.flow == "client_credentials"
        else f"refresh token from `maildesk mailbox login {src.name}`"
    )
    return f"oauth2 generic {cfg.flow} at {cfg.token_url}, {where}"


def _how(cfg: OAuthProvider | None) -> str:
    if cfg is None:
        return "password"
    return f"oauth2: {cfg.provider} {cfg.flow}, {cfg.mechanism.upper()}"
