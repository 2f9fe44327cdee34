"""Where ``Processed`` and ``Quarantine`` go on a given IMAP server (RFC 2342 namespaces).

Servers differ in where a user's folders live: Dovecot and most others keep
them at the top level, Courier-IMAP and Cyrus (in its default namespace) under
``INBOX.``, and answer ``CREATE Processed`` with "Invalid mailbox name". The
server says which in its NAMESPACE answer: the personal namespace's prefix and
hierarchy delimiter. This module only does the arithmetic on names; the IMAP
conversation is in ``ingest/imap.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a configured name writes a sub-folder, whatever the server's delimiter.
CONFIG_DELIMITER = "/"


@dataclass(frozen=True)
class Namespace:
    """The personal namespace of a logged-in account: prefix and hierarchy delimiter."""

    prefix: str = ""
    delimiter: str | None = "/"


def place(name: str, namespace: Namespace) -> str:
    """The server's full name for the configured folder ``name``.

    ``/`` in the configured name separates sub-folders and becomes the server's
    delimiter. A name that already starts with the personal prefix (say
    ``INBOX.Processed`` on Courier, or ``INBOX/Processed`` written with ``/``)
    is a full path and is kept; any other name is placed under the prefix.
    INBOX itself is never moved.
    """
    delimiter = namespace.delimiter
    server_name = name
    if delimiter and delimiter != CONFIG_DELIMITER:
        server_name = name.replace(CONFIG_DELIMITER, delimiter)
    if server_name.upper() == "INBOX" or not namespace.prefix:
        return server_name
    if server_name.upper().startswith(namespace.prefix.upper()):
        return server_name
    return namespace.prefix + server_name


def create_failed_hint(folder: str, namespace: Namespace) -> str:
    """What an operator can do when the server refuses to create ``folder``."""
    where = (
        f"the server keeps folders under {namespace.prefix!r}"
        if namespace.prefix
        else "the server keeps folders at the top level"
    )
    return (
        f"{where} (delimiter {namespace.delimiter!r}); create the folder {folder!r} by hand "
        "in a mail client, or set processed_folder / quarantine_folder in [[intake.imap]] "
        "to the full name of a folder the account may create or already has"
    )
