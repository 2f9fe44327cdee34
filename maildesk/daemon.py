"""Builds a running maildesk from settings: database, intake, outbox, jobs.

Nothing imports this module but the CLI. ``run_once`` does everything that is
waiting and returns (cron, tests); ``run_forever`` keeps the listener, the
mailbox polls and the outbox delivery going until asked to stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from maildesk.billing.ledger import grant_starter_hours
from maildesk.billing.weekly import send_weekly_statements
from maildesk.configfile import portal_links, secret
from maildesk.core.clock import Clock, SystemClock
from maildesk.core.config import ConfigError, Settings
from maildesk.core.config.oauth import OAuthProvider
from maildesk.ingest.context import PipelineContext
from maildesk.ingest.imap import ImapAccount, ImapIntake, MailboxUnavailable, watch
from maildesk.ingest.lmtp import MailListener, address_matcher
from maildesk.ingest.receive import IntakeUnavailable, Receiver
from maildesk.notify.delivery import Courier, FlushResult, RetryPolicy, flush_all, flush_outbox
from maildesk.notify.failures import tell_staff
from maildesk.notify.maildir import MaildirTransport
from maildesk.notify.render import renderer_for
from maildesk.notify.smtp import SmtpParams, SmtpTransport
from maildesk.notify.transport import Transport
from maildesk.oauth.build import token_source
from maildesk.oauth.errors import OAuthError
from maildesk.oauth.source import TokenSource
from maildesk.oauth.store import TokenStore
from maildesk.scheduler import Scheduler
from maildesk.sla.escalation import SweepResult, sweep
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.web.ops import OpsServer
from maildesk.web.portal.app import Portal
from maildesk.web.portal.server import PortalServer

log = logging.getLogger(__name__)

# Statements are due once a week; checking every quarter of an hour sends them
# on time and costs one query.
STATEMENT_CHECK_SECONDS = 900.0
# How long a mailbox watcher may take to finish the mail in hand at shutdown.
SHUTDOWN_GRACE_SECONDS = 30.0


def token_store(settings: Settings) -> TokenStore:
    """Where the mailboxes' OAuth2 tokens are kept: ``<data_dir>/oauth``, owner only."""
    return TokenStore(settings.service.data_dir / "oauth")


def mailbox_tokens(
    settings: Settings, name: str, user: str, cfg: OAuthProvider | None, key: str
) -> TokenSource | None:
    """The token source of an ``auth = "oauth2"`` mailbox (None for a password one)."""
    if cfg is None:
        return None
    try:
        return token_source(name, user, cfg, token_store(settings), key)
    except OAuthError as exc:
        raise ConfigError(str(exc)) from None


def build_transport(settings: Settings) -> Transport:
    """The configured way out for mail: an SMTP relay or the local maildir."""
    out = settings.outgoing
    if out.transport == "maildir":
        return MaildirTransport(settings.maildir_path)
    relay = out.smtp
    assert relay is not None  # validated by the config model
    password = (
        secret(relay.password_env, "outgoing.smtp.password_env") if relay.password_env else None
    )
    token = mailbox_tokens(
        settings, relay.name, relay.username or "", relay.oauth2, "outgoing.smtp"
    )
    return SmtpTransport(
        SmtpParams(
            relay.host,
            relay.port,
            relay.security,
            relay.username,
            password,
            relay.timeout,
            token=token,
            password_env=relay.password_env,
        )
    )


def imap_account(settings: Settings, index: int) -> ImapAccount:
    """The ``index``-th configured IMAP mailbox, its password or token source resolved."""
    src = settings.intake.imap[index]
    key = f"intake.imap[{index}]"
    return ImapAccount(
        name=src.name,
        host=src.host,
        port=src.port,
        security=src.security,
        username=src.username,
        password=secret(src.password_env, f"{key}.password_env") if src.password_env else None,
        folders=src.folders,
        processed_folder=src.processed_folder,
        quarantine_folder=src.quarantine_folder,
        batch_size=src.batch_size,
        timeout=src.timeout,
        token=mailbox_tokens(settings, src.name, src.username, src.oauth2, key),
        password_env=src.password_env,
    )


def build_accounts(settings: Settings) -> list[ImapAccount]:
    """IMAP accounts with their passwords read from the environment, or their token sources."""
    return [imap_account(settings, index) for index in range(len(settings.intake.imap))]


@dataclass
class RunSummary:
    """What ``run_once`` did; ``errors`` non-empty means exit status 1."""

    polled: dict[str, dict[str, int]] = field(default_factory=dict)
    delivery: FlushResult = field(default_factory=FlushResult)
    sla: SweepResult = field(default_factory=SweepResult)
    statements: int = 0
    errors: list[str] = field(default_factory=list)


class Maildesk:
    """One maildesk process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.ctx = PipelineContext.build(
            settings,
            self.clock,
            renderer_for(settings.service),
            portal_links(settings),
        )
        self.receiver = Receiver(self.db, self.ctx)
        self.transport = build_transport(settings)
        self.retry = RetryPolicy(
            settings.outgoing.max_attempts,
            settings.outgoing.retry_base_seconds,
            settings.outgoing.retry_max_seconds,
        )
        self.intakes = [
            ImapIntake(account, self.receiver.receive, self.db, self.clock)
            for account in build_accounts(settings)
        ]

    def prepare(self) -> None:
        """Create or check the schema, mirror the configured clients, give starter grants."""
        self.db.prepare()
        with self.db.transaction() as session:
            sync_clients(session, self.settings.clients)
            grant_starter_hours(session, self.settings, self.clock.now())

    def statements(self) -> int:
        """Send the weekly statements that are due (each client and week once)."""
        return send_weekly_statements(self.db, self.ctx, self.clock.now())

    def poll(self, intake: ImapIntake) -> dict[str, int]:
        """One poll of one mailbox; outages are logged and raised for the caller."""
        stats = intake.poll()
        if stats.fetched:
            log.info(
                "%s: %d mail(s): %s",
                intake.account.label,
                stats.fetched,
                ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())),
            )
        return stats.outcomes

    def flush(self, stopping: Callable[[], bool] | None = None) -> FlushResult:
        """Deliver what is due (up to 500 mails), stopping between two mails when asked."""
        return flush_outbox(
            self.db,
            self.transport,
            self.clock,
            self.retry,
            on_failure=tell_staff(self.ctx),
            stopping=stopping,
        )

    def sweep(self) -> SweepResult:
        """One SLA sweep: warnings, breaches and page escalations due now."""
        return sweep(self.db, self.ctx, self.clock.now())

    def run_once(self) -> RunSummary:
        """Process all waiting mail, run the SLA sweep, deliver the outbox, and return."""
        summary = RunSummary()
        for intake in self.intakes:
            try:
                summary.polled[intake.account.label] = self.poll(intake)
            except (MailboxUnavailable, IntakeUnavailable) as exc:
                summary.errors.append(str(exc))
                log.error("%s", exc)
            finally:
                intake.close()
        summary.sla = self.sweep()
        summary.statements = self.statements()
        summary.delivery = flush_all(
            self.db, self.transport, self.clock, self.retry, on_failure=tell_staff(self.ctx)
        )
        return summary

    def _start_portal(self) -> PortalServer | None:
        """The clients' portal on its own address, when it is configured."""
        cfg = self.settings.portal
        if self.ctx.links is None:
            return None
        server = PortalServer(cfg.host, cfg.port, Portal(self.db, self.ctx, self.ctx.links))
        server.start()
        log.info(
            "client portal on http://%s:%d/ (links point at %s)", *server.address, cfg.base_url
        )
        return server

    def run_forever(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set: listener, mailbox polls, SLA sweep, outbox delivery."""
        portal = self._start_portal()  # first: a taken address stops start-up before intake
        listener = None
        lst = self.settings.intake.listener
        if lst.enabled:
            listener = MailListener(
                lst.host,
                lst.port,
                lst.protocol,
                self.receiver.receive,
                address_matcher(self.settings.service.addresses),
                self.settings.service.max_message_bytes,
            )
            listener.start()
            log.info(
                "listening for %s on %s:%d (mail to %s)",
                lst.protocol.upper(),
                lst.host,
                lst.port,
                self.settings.service.support_address,
            )
        ops = None
        if self.settings.ops.enabled:
            ops = OpsServer(self.settings.ops.host, self.settings.ops.port, self.db, self.clock)
            ops.start()
            log.info("health and metrics on http://%s:%d/healthz and /metrics", *ops.address)
        watchers = [
            threading.Thread(
                target=watch,
                args=(intake, stop, src.poll_interval),
                name=f"imap {intake.account.name}",
                daemon=True,
            )
            for intake, src in zip(self.intakes, self.settings.intake.imap, strict=True)
        ]
        for thread in watchers:
            thread.start()
        courier = Courier(self.db, self.flush, self.settings.outgoing.flush_interval)
        courier.start()
        scheduler = Scheduler()
        scheduler.every(self.settings.service.sweep_interval, self.sweep, "sla sweep")
        scheduler.every(STATEMENT_CHECK_SECONDS, self.statements, "weekly statements")
        scheduler.start()
        try:
            stop.wait()
        finally:
            log.info("stopping: finishing the work in hand")
            if listener is not None:
                listener.stop()
            for thread in watchers:
                thread.join(timeout=SHUTDOWN_GRACE_SECONDS)
            scheduler.shutdown(wait=True)
            courier.stop()
            if ops is not None:
                ops.stop()
            if portal is not None:
                portal.stop()
            self.db.dispose()
            log.info("stopped")
