"""The tables, as SQLAlchemy 2 typed models.

Times are stored in UTC (``UTCDateTime`` hands them back timezone-aware on
every database); durations and balances are integer minutes. Raw mail and
attachments are content-addressed blobs, compressed, so every stored message
can be re-read exactly as it arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is stored as UTC and always comes back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention Alembic can rely on."""

    metadata = MetaData(naming_convention=NAMING)


class Client(Base):
    """A customer organisation; the ledger and tickets hang off it.

    ``managed_by`` says who owns the row: ``config`` (seeded and updated from the
    config file at start-up and on SIGHUP) or ``db`` (added and edited with
    ``maildesk clients``). The client's other settings (policy, domains, ...)
    are the config model's keys, kept as JSON in ``options``.
    """

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(8))
    links_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Portal links issued up to this instant no longer open the client's page."""
    managed_by: Mapped[str] = mapped_column(String(10), default="config")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Removed clients are kept (tickets and the ledger refer to them) but no longer known."""
    contract_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Contact(Base):
    """A person at a client, recognised by e-mail address."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    authorised: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))


class DirectoryVersion(Base):
    """One row whose number goes up with every change to clients or contacts.

    Each process compares it with the number it last loaded (at most once a
    second) and reloads the clients only when it moved.
    """

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TicketSequence(Base):
    """The last ticket number handed out per scope (a year, or 'all')."""

    __tablename__ = "ticket_sequences"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    """One support request and its state.

    The SLA columns hold the clock: due times are stored (UTC, indexed for the
    sweep); while the clock is paused the due times are cleared and the business
    minutes still left are kept in ``*_left_minutes``. The warning instants sit
    beside the due times (``*_warn_at``, indexed) so the sweep reads only tickets
    with something due. ``scope`` is what staff marked the ticket's work
    (``included``, ``billable``; NULL: the policy's default); ``intervention``
    counts its openings, for rounding per intervention.
    """

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    requester: Mapped[str] = mapped_column(String(320), index=True)
    requester_role: Mapped[str] = mapped_column(String(20), default="unknown")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    priority_rule: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    policy: Mapped[str] = mapped_column(String(100), default="default")
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee: Mapped[str | None] = mapped_column(String(320))
    approval: Mapped[str] = mapped_column(String(10), default="none")
    scope: Mapped[str | None] = mapped_column(String(10))
    intervention: Mapped[int] = mapped_column(Integer, default=1)
    follows_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # From when the sweep looks at a target's warning: its warning point (never later),
    # None once the warning is sent or while the target does not run (``sla.escalation``).
    response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    response_left_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_left_minutes: Mapped[int | None] = mapped_column(Integer)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket",
        order_by="Message.id",
        lazy="raise_on_sql",
        foreign_keys="Message.ticket_id",
    )


class Blob(Base):
    """Bytes stored once by their sha256 (zlib-compressed): raw mails, attachments."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Message(Base):
    """A mail in or out. Message-ID is unique: that is how a mail is recognised again."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    raw_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    source_key: Mapped[str | None] = mapped_column(String(500), unique=True)
    disposition: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket | None] = relationship(
        back_populates="messages", foreign_keys=[ticket_id]
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", lazy="raise_on_sql"
    )


class Attachment(Base):
    """An attachment of a stored message; its bytes are the blob with that sha256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Event(Base):
    """The audit trail: every state change of a ticket, and what decided it."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    """Set on changes to a client and its contacts (``maildesk clients history``)."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320), default="maildesk")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMail(Base):
    """A mail to send. Its Message-ID is fixed at enqueue, so a retry is the same mail."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_first_rcpt_created_at", "first_rcpt", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[list[str]] = mapped_column(JSON)
    first_rcpt: Mapped[str] = mapped_column(String(320), default="")
    auto: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailboxState(Base):
    """Per IMAP folder: UIDVALIDITY, the highest UID seen, and the last good poll."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("source", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SourceHealth(Base):
    """Whether one mailbox (or outgoing delivery) works, since when not, and why.

    One row per source, shared by every maildesk process on the database, so
    ``/healthz`` and ``maildesk status`` say the same whichever answers.
    ``failing_since`` names the outage; ``alerted_since`` is the outage the
    operator was last told about (cleared once told it is over).
    """

    __tablename__ = "mailbox_health"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))  # ok | failing
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)
    alerted_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedMail(Base):
    """Raw mail that could not be handled, kept with the reason; never deleted silently."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(500), unique=True)
    raw_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    reason: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="held")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Once(Base):
    """A marker that something happened exactly once (a notice, a warning, a statement).

    The unique key, inserted in the same transaction as the mail it allows,
    is what keeps a restart or a second daemon from sending it twice.
    """

    __tablename__ = "once"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    """One movement of a client's hours, in signed integer minutes; never updated.

    A balance is the sum of its entries. ``idempotency_key`` (e.g. the staff
    mail's Message-ID and line) keeps a mail processed twice from booking twice.
    ``billing_group`` names the work a rounding or a quote cap applies to
    (``i<N>``: the ticket's N-th intervention, ``q<ID>``: everything since quote ID).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_client_id_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    raw_minutes: Mapped[int] = mapped_column(Integer, default=0)
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(320), default="maildesk")
    reference: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str] = mapped_column(String(500), unique=True)
    billing_group: Mapped[str | None] = mapped_column(String(40))


class Quote(Base):
    """Work quoted before it is done; the client accepts or refuses through the ticket."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(320))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(320))


class Page(Base):
    """An on-call page: who was paged for which ticket at which level, and the ack."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("ticket_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(320))


class InvoiceMark(Base):
    """A ledger entry invoiced under ``reference``; written once, never changed.

    The unique ``ledger_entry_id`` is what keeps a line from being invoiced twice,
    even by two processes marking at once (insert-or-skip, see
    ``billing.invoicing.mark_invoiced``).
    """

    __tablename__ = "invoice_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(200), index=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    marked_by: Mapped[str] = mapped_column(String(320))


class Satisfaction(Base):
    """A client's answer to "are you satisfied?" about a resolved ticket: one per ticket.

    A later click changes it (``changes`` counts how often); ``link_issued_at`` is the
    instant the answering link was issued, so an older link cannot overwrite it.
    """

    __tablename__ = "satisfaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    answer: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    contact: Mapped[str] = mapped_column(String(320), default="", server_default="")
    link_issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
