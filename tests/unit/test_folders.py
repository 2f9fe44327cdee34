"""Placing Processed and Quarantine in the server's personal namespace (RFC 2342)."""

from __future__ import annotations

import pytest

from maildesk.ingest.folders import Namespace, place

COURIER = Namespace("INBOX.", ".")
DOVECOT = Namespace("", "/")
FLAT = Namespace("", None)


@pytest.mark.parametrize(
    ("name", "namespace", "expected"),
    [
        ("Processed", COURIER, "INBOX.Processed"),
        ("Processed", DOVECOT, "Processed"),
        ("Processed", FLAT, "Processed"),
        ("INBOX.Processed", COURIER, "INBOX.Processed"),  # already a full path
        ("inbox.Processed", COURIER, "inbox.Processed"),  # INBOX is case-insensitive
        ("INBOX/Processed", COURIER, "INBOX.Processed"),  # "/" is maildesk's separator
        ("Support/Done", COURIER, "INBOX.Support.Done"),
        ("Support/Done", DOVECOT, "Support/Done"),
        ("Support/Done", Namespace("", "."), "Support.Done"),
        ("INBOX", COURIER, "INBOX"),
    ],
)
def test_place(name: str, namespace: Namespace, expected: str) -> None:
    assert place(name, namespace) == expected
