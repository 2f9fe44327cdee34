"""Builds a running maildesk from settings: database, intake, outbox, jobs.

Nothing imports this module but the CLI. ``run_once`` does everything that is
waiting and returns (cron, tests); ``run_forever`` keeps the listener, the
mailbox polls and the outbox delivery going until asked to stop.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from maildesk.billing.ledger import grant_starter_hours
from maildesk.billing.weekly import send_weekly_statements
from maildesk.configfile import load_settings, portal_links, secret
from maildesk.core.clock import Clock, SystemClock
from maildesk.core.config import ConfigError, Settings
from maildesk.core.config.oauth import OAuthProvider
from maildesk.ingest.context import PipelineContext
from maildesk.ingest.imap import ImapAccount, ImapIntake, MailboxUnavailable
from maildesk.ingest.lmtp import MailListener, address_matcher
from maildesk.ingest.receive import IntakeUnavailable, Receiver
from maildesk.ingest.watch import record_round, watch
from maildesk.notify.alerts import AlertResult, send_alerts
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
from maildesk.report.monthly import send_service_reports
from maildesk.scheduler import Scheduler
from maildesk.sla.digest import send_digests
from maildesk.sla.escalation import SweepResult, sweep
from maildesk.store.client_data import ClientDirectory
from maildesk.store.db import Database
from maildesk.store.directory import sync_clients
from maildesk.store.erase import erase_ended_contracts
from maildesk.web.ops import OpsServer
from maildesk.web.portal.app import Portal
from maildesk.web.portal.server import PortalServer

log = logging.getLogger(__name__)

# Statements are due once a week; checking every quarter of an hour sends them
# on time and costs one query.
STATEMENT_CHECK_SECONDS = 900.0
# The queue digest is due once a business day; a look a minute costs one query.
DIGEST_CHECK_SECONDS = 60.0
# Erasure after a contract's end is counted in months; hourly is soon enough.
ERASE_CHECK_SECONDS = 3600.0
# How long a mailbox watcher may take to finish the mail in hand at shutdown.
SHUTDOWN_GRACE_SECONDS = 30.0
# After the database file is found lost: time to answer the mail in hand (451).
LOST_FILE_GRACE_SECONDS = 1.0
# How often a process looks whether clients or contacts changed (one primary-key
# read) and whether SIGHUP asked for the config file to be read again.
CLIENTS_CHECK_SECONDS = 1.0
# What a new config file changes only at the next start.
RESTART_SECTIONS = ("database", "ops", "portal")


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
    alerts: AlertResult = field(default_factory=AlertResult)
    errors: list[str] = field(default_factory=list)


class Maildesk:
    """One maildesk process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.directory = ClientDirectory(settings)
        self.reload_requested = threading.Event()
        """Set by SIGHUP; the next check reads the config file again."""
        self.portal: Portal | None = None
        self._watch_lock = threading.Lock()
        self._watch_stop = threading.Event()
        self._watchers: list[threading.Thread] = []
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
        #: Why the daemon stopped on its own (its database file lost), else None.
        self.fatal: str | None = None

    def prepare(self) -> None:
        """Create or check the schema, seed the configured clients, load all, grant hours."""
        self.db.prepare()
        now = self.clock.now()
        base = self.directory.base
        with self.db.transaction() as session:
            sync_clients(session, base.clients, now, base.source)
            settings = self.directory.rebase(session, base)
            grant_starter_hours(session, settings, now)
        self._use(settings)

    def _use(self, settings: Settings, *, config_changed: bool = False) -> None:
        """Make ``settings`` the ones the next mail, sweep, statement and portal page see."""
        if config_changed:
            ctx = PipelineContext.build(
                settings, self.clock, renderer_for(settings.service), self.ctx.links
            )
            self.transport = build_transport(settings)
            out = settings.outgoing
            self.retry = RetryPolicy(
                out.max_attempts, out.retry_base_seconds, out.retry_max_seconds
            )
        else:
            ctx = dataclasses.replace(self.ctx, settings=settings)
        self.settings, self.ctx = settings, ctx
        self.receiver.ctx = ctx
        if self.portal is not None:
            self.portal.ctx = ctx

    def refresh_clients(self) -> bool:
        """Load the clients again if another process (or the CLI) changed them."""
        with self.db.session() as session:
            settings = self.directory.refresh(session)
        if settings is None:
            return False
        self._use(settings)
        log.info(
            "clients changed: reloaded (%d clients, version %s)",
            len(settings.clients),
            self.directory.version,
        )
        return True

    def reload_config(self) -> bool:
        """Read the config file again (SIGHUP); keep the old settings when it is not valid.

        Policies, staff, clients, service and ticket settings, outgoing mail
        and the IMAP mailboxes take effect at once; the listener, the
        database, the ops endpoints and the portal's address at the next start.
        """
        old = self.directory.base
        if old.source == "embedded defaults":
            log.warning("SIGHUP: no config file to read again (running on embedded defaults)")
            return False
        try:
            new = load_settings(Path(old.source))
            accounts = build_accounts(new)
            build_transport(new)
        except ConfigError as exc:
            log.error("SIGHUP: config not reloaded, carrying on with the old one: %s", exc)
            return False
        later = [name for name in RESTART_SECTIONS if getattr(new, name) != getattr(old, name)]
        if new.intake.listener != old.intake.listener:
            later.append("intake.listener")
        if later:
            log.warning("SIGHUP: %s changed; that takes effect at the next start", ", ".join(later))
        now = self.clock.now()
        with self.db.transaction() as session:
            sync_clients(session, new.clients, now, new.source)
            settings = self.directory.rebase(session, new)
            grant_starter_hours(session, settings, now)
        self._use(settings, config_changed=True)
        if new.intake.imap != old.intake.imap:
            self._restart_watchers(new, accounts)
        log.info("SIGHUP: config %s reloaded", new.source)
        return True

    def check(self) -> None:
        """The frequent job: a config reload SIGHUP asked for, then changed clients."""
        if self.reload_requested.is_set():
            self.reload_requested.clear()
            self.reload_config()
        self.refresh_clients()

    def statements(self) -> int:
        """Send the weekly statements that are due (each client and week once)."""
        return send_weekly_statements(self.db, self.ctx, self.clock.now())

    def erasures(self) -> int:
        """Erase the clients whose policy's ``erase_months_after_contract`` has passed."""
        return erase_ended_contracts(self.db, self.settings, self.clock.now())

    def digests(self) -> int:
        """Queue today's staff queue digests that are due (each person once a day)."""
        return send_digests(self.db, self.ctx, self.clock.now())

    def service_reports(self) -> int:
        """Queue the monthly service reports that are due (each client and month once)."""
        return send_service_reports(self.db, self.ctx, self.clock.now())

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

    def alerts(self) -> AlertResult:
        """Tell the operator about sources failing too long, and about their recovery."""
        return send_alerts(self.db, self.ctx, self.clock.now())

    def run_once(self) -> RunSummary:
        """Process all waiting mail, run the SLA sweep, deliver the outbox, and return."""
        summary = RunSummary()
        for intake in self.intakes:
            try:
                summary.polled[intake.account.label] = self.poll(intake)
                record_round(intake, None)
            except (MailboxUnavailable, IntakeUnavailable) as exc:
                summary.errors.append(str(exc))
                log.error("%s", exc)
                if isinstance(exc, MailboxUnavailable):
                    record_round(intake, exc)
            finally:
                intake.close()
        summary.sla = self.sweep()
        summary.statements = self.statements()
        summary.alerts = self.alerts()
        self.digests()
        self.service_reports()
        self.erasures()
        summary.delivery = flush_all(
            self.db, self.transport, self.clock, self.retry, on_failure=tell_staff(self.ctx)
        )
        return summary

    def _start_portal(self) -> PortalServer | None:
        """The clients' portal on its own address, when it is configured."""
        cfg = self.settings.portal
        if self.ctx.links is None:
            return None
        self.portal = Portal(self.db, self.ctx, self.ctx.links)
        server = PortalServer(cfg.host, cfg.port, self.portal)
        server.start()
        log.info(
            "client portal on http://%s:%d/ (links point at %s)", *server.address, cfg.base_url
        )
        return server

    def _start_watchers(self, settings: Settings) -> None:
        with self._watch_lock:
            self._watch_stop = threading.Event()
            self._watchers = [
                threading.Thread(
                    target=watch,
                    args=(intake, self._watch_stop, src.poll_interval, src.retry_max_seconds),
                    name=f"imap {intake.account.name}",
                    daemon=True,
                )
                for intake, src in zip(self.intakes, settings.intake.imap, strict=True)
            ]
            for thread in self._watchers:
                thread.start()

    def _stop_watchers(self) -> None:
        with self._watch_lock:
            self._watch_stop.set()
            for thread in self._watchers:
                thread.join(timeout=SHUTDOWN_GRACE_SECONDS)
            self._watchers = []

    def _restart_watchers(self, settings: Settings, accounts: list[ImapAccount]) -> None:
        """Watch the mailboxes of a new config (the mail in hand is finished first)."""
        self._stop_watchers()
        self.intakes = [
            ImapIntake(account, self.receiver.receive, self.db, self.clock) for account in accounts
        ]
        self._start_watchers(settings)
        log.info("SIGHUP: now watching %d mailbox(es)", len(self.intakes))

    def run_forever(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set: listener, mailbox polls, SLA sweep, outbox delivery.

        Also stops when the SQLite database file is deleted or replaced, with the
        reason in ``fatal``: mail refused meanwhile (451) is kept by the sender.
        """
        if self.db.file_watch is not None:

            def lost(message: str) -> None:
                self.fatal = message
                log.critical("%s", message)
                # Stop shortly after, not in the middle of answering 451 to the mail
                # in hand; whatever arrives meanwhile is refused the same way.
                timer = threading.Timer(LOST_FILE_GRACE_SECONDS, stop.set)
                timer.daemon = True
                timer.start()

            self.db.file_watch.on_lost(lost)
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
        self._start_watchers(self.settings)
        courier = Courier(self.db, self.flush, self.settings.outgoing.flush_interval)
        courier.start()
        scheduler = Scheduler()
        scheduler.every(self.settings.service.sweep_interval, self.sweep, "sla sweep")
        scheduler.every(STATEMENT_CHECK_SECONDS, self.statements, "weekly statements")
        # Outages are looked at as often as the SLA clocks: an alert is due on time.
        scheduler.every(self.settings.service.sweep_interval, self.alerts, "source alerts")
        scheduler.every(CLIENTS_CHECK_SECONDS, self.check, "clients and config")
        scheduler.every(DIGEST_CHECK_SECONDS, self.digests, "queue digest")
        scheduler.every(ERASE_CHECK_SECONDS, self.erasures, "erase ended contracts")
        scheduler.every(STATEMENT_CHECK_SECONDS, self.service_reports, "monthly service reports")
        scheduler.start()
        try:
            stop.wait()
        finally:
            log.info("stopping: finishing the work in hand")
            if listener is not None:
                listener.stop()
            scheduler.shutdown(wait=True)  # first: no reload restarts the watchers now
            self._stop_watchers()
            courier.stop()
            if ops is not None:
                ops.stop()
            if portal is not None:
                portal.stop()
            self.db.dispose()
            log.info("stopped")
