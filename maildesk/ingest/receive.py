"""The transaction boundary every intake path goes through.

``Receiver.receive(raw, source_key)`` parses the mail, runs the pipeline in one
database transaction and commits. Only when it returns may the source mark the
mail done (move it over IMAP, answer 250 over LMTP). A mail that cannot be read
or processed is quarantined with its reason — stored raw, never dropped — and
the source moves it aside. When the database itself is unavailable it raises
``IntakeUnavailable``: the source leaves the mail where it is (IMAP) or answers
451 (LMTP) so that nothing is half-stored and the mail comes back later.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from maildesk.ingest.context import Outcome, PipelineContext, Receipt, already_seen, hold
from maildesk.ingest.pipeline import process
from maildesk.mail.parse import InboundMail, UnparseableMail, parse
from maildesk.store.blobs import put_blob
from maildesk.store.db import Database
from maildesk.store.models import QuarantinedMail
from maildesk.store.sqlite_file import DatabaseFileLost

log = logging.getLogger(__name__)


class IntakeUnavailable(Exception):
    """The database cannot be reached or is locked: try the mail again later."""


@dataclass(frozen=True)
class Quarantine:
    """Why a mail is set aside, and what little we know of it."""

    reason: str
    detail: str = ""
    sender: str = ""
    subject: str = ""


class Receiver:
    """Takes raw mail from any source; one instance per process."""

    def __init__(self, db: Database, ctx: PipelineContext) -> None:
        self.db = db
        self.ctx = ctx

    def receive(self, raw: bytes, source_key: str, envelope_sender: str | None = None) -> Receipt:
        """Record ``raw`` exactly once; raise ``IntakeUnavailable`` to have it retried.

        ``envelope_sender`` is the SMTP reverse-path when the source knows it
        (LMTP): "" for ``MAIL FROM:<>``, which is never answered.
        """
        try:
            mail = parse(raw)
        except UnparseableMail as exc:
            return self._quarantine(raw, source_key, Quarantine("unparseable", exc.reason))
        if envelope_sender is not None:
            mail = replace(mail, envelope_sender=envelope_sender)
        try:
            return self._process(raw, mail, source_key)
        except DatabaseFileLost as exc:
            raise IntakeUnavailable(str(exc)) from exc
        except OperationalError as exc:
            raise IntakeUnavailable(f"database unavailable: {exc.orig or exc}") from exc
        except IntegrityError:
            # Another process recorded the same mail between our check and our commit.
            seen = self._seen(mail.message_id, source_key)
            if seen is not None:
                return seen
            raise
        except SQLAlchemyError as exc:
            if getattr(exc, "connection_invalidated", False):
                raise IntakeUnavailable(f"database connection lost: {exc}") from exc
            log.exception("database error while processing %s", mail.message_id)
            return self._quarantine(raw, source_key, self._failure(mail, exc))
        except Exception as exc:
            log.exception("processing %s failed", mail.message_id)
            return self._quarantine(raw, source_key, self._failure(mail, exc))

    @staticmethod
    def _failure(mail: InboundMail, exc: BaseException) -> Quarantine:
        return Quarantine(
            "processing_error", f"{type(exc).__name__}: {exc}", mail.sender, mail.subject
        )

    def _process(self, raw: bytes, mail: InboundMail, source_key: str) -> Receipt:
        with self.db.transaction() as session:
            raw_sha = put_blob(session, raw, mail.raw_sha256)
            return process(session, mail, raw, source_key, raw_sha, self.ctx)

    def _seen(self, message_id: str, source_key: str) -> Receipt | None:
        with self.db.session() as session:
            return already_seen(session, message_id, source_key)

    def _quarantine(self, raw: bytes, source_key: str, why: Quarantine) -> Receipt:
        try:
            with self.db.transaction() as session:
                self._hold(session, raw, source_key, why)
        except DatabaseFileLost as exc:
            raise IntakeUnavailable(str(exc)) from exc
        except OperationalError as exc:
            raise IntakeUnavailable(f"database unavailable: {exc.orig or exc}") from exc
        except IntegrityError:
            pass  # quarantined by another process meanwhile
        log.warning("quarantined %s: %s (%s)", source_key, why.reason, why.detail)
        return Receipt(Outcome.QUARANTINED, "", None, f"{why.reason}: {why.detail}")

    def _hold(self, session: Session, raw: bytes, source_key: str, why: Quarantine) -> None:
        digest = put_blob(session, raw, hashlib.sha256(raw).hexdigest())
        hold(session, digest, source_key, why.reason, why.detail, None, self.ctx.clock.now())
        row = session.scalar(
            select(QuarantinedMail).where(QuarantinedMail.source_key == source_key)
        )
        if row is not None and why.sender:
            row.sender, row.subject = why.sender, why.subject[:1000]
