"""Where the shared real-world mail corpus lives, and what to do when it is absent.

The corpus is read in place from ``../shared/corpus`` beside the project (or
``MAILDESK_CORPUS``). In a user's own clone it may be missing: those tests skip
with a reason. CI sets ``MAILDESK_REQUIRE_CORPUS=1`` so that absence fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_dir() -> Path:
    """The corpus folder, or skip (fail when ``MAILDESK_REQUIRE_CORPUS=1``)."""
    path = Path(os.environ.get("MAILDESK_CORPUS", str(_DEFAULT)))
    if not path.is_dir():
        message = f"shared mail corpus not found at {path} (set MAILDESK_CORPUS)"
        if os.environ.get("MAILDESK_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def corpus_path_or_none() -> Path | None:
    """The corpus folder if present, for building parametrize lists at import time."""
    path = Path(os.environ.get("MAILDESK_CORPUS", str(_DEFAULT)))
    return path if path.is_dir() else None


def message_files(*subdirs: str) -> Iterator[Path]:
    """Every complete message (kind ``message`` in INDEX.tsv) under the given sub-folders."""
    root = corpus_path_or_none()
    if root is None:
        return
    index = root / "INDEX.tsv"
    with index.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        path_col, kind_col = header.index("path"), header.index("kind")
        for line in handle:
            cols = line.rstrip("\n").split("\t")
            if cols[kind_col] != "message":
                continue
            rel = cols[path_col]
            if not subdirs or any(rel.startswith(s.rstrip("/") + "/") for s in subdirs):
                yield root / rel
