"""The configuration file, validated into frozen settings.

One TOML file describes a provider's maildesk: where mail comes from, where it
goes, the database, staff and clients. It is validated once at start-up by
pydantic; a bad file stops start-up with a message naming the file, the key and
what is wrong. Secrets are never in the file: it names the environment variable
that holds each one (``password_env``), read only when the secret is used.

With no file at all, :func:`embedded_defaults` runs maildesk on SQLite under
``./var/``, with intake by the built-in LMTP listener on 127.0.0.1 and outgoing
mail written to a maildir under ``./var/``, so a new user sees what would be sent.

The sections live one module each (``service``, ``mailboxes``, ``people``) and
``settings`` puts them together; this package re-exports them all, so callers
import from ``maildesk.core.config``.
"""

from maildesk.core.config.base import ConfigError, Language, Security
from maildesk.core.config.mailboxes import ImapSource, Intake, Listener, Outgoing, SmtpRelay
from maildesk.core.config.people import Client, Contact, Staff
from maildesk.core.config.service import Database, Digest, Ops, Portal, Service, Tickets
from maildesk.core.config.settings import Settings, embedded_defaults, settings_from_toml

__all__ = [
    "Client",
    "ConfigError",
    "Contact",
    "Database",
    "Digest",
    "ImapSource",
    "Intake",
    "Language",
    "Listener",
    "Ops",
    "Outgoing",
    "Portal",
    "Security",
    "Service",
    "Settings",
    "SmtpRelay",
    "Staff",
    "Tickets",
    "embedded_defaults",
    "settings_from_toml",
]
