"""Content-addressed, compressed byte storage for raw mails and attachments."""

from __future__ import annotations

import hashlib
import zlib

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from maildesk.store.models import Blob

# Formats that are compressed already (PNG, JPEG, GIF, WebP, ZIP/Office, PDF, gzip):
# deflating them again costs milliseconds per screenshot and saves nothing.
_COMPRESSED_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"RIFF",
    b"PK\x03\x04",
    b"%PDF",
    b"\x1f\x8b",
)


def _level(data: bytes) -> int:
    """zlib level 0 (stored) for compressed formats, else 1: fast, and most of the gain."""
    return 0 if data.startswith(_COMPRESSED_MAGIC) else 1


def put_blob(session: Session, data: bytes, sha256: str | None = None) -> str:
    """Store ``data`` once under its sha256 (a second copy is a no-op); return the hash."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    values = {"sha256": digest, "size": len(data), "data": zlib.compress(data, _level(data))}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(pg_insert(Blob).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(Blob).values(values).on_conflict_do_nothing())
    elif session.get(Blob, digest) is None:
        session.add(Blob(**values))
    return digest


def get_blob(session: Session, sha256: str) -> bytes | None:
    """The bytes stored under ``sha256``, exactly as they were given, or None."""
    data = session.scalar(select(Blob.data).where(Blob.sha256 == sha256))
    return None if data is None else zlib.decompress(data)
