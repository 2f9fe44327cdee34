"""Which secrets a configuration needs: every ``*_env`` key of a section that is in use.

Secrets are never in the file; the file names the environment variable of each
(``password_env``, ``secret_env``...). Found by walking the settings, so a section
that adds such a key is covered without being listed here; a section switched off
(``enabled = false``) needs none of its secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class NamedSecret:
    """A secret the config asks for: the key that names it and the variable that holds it."""

    key: str  # e.g. "intake.imap[0].password_env"
    env: str  # e.g. "MAILDESK_IMAP_PASSWORD"


def named_secrets(model: BaseModel, prefix: str = "") -> list[NamedSecret]:
    """Every ``*_env`` key with a value in ``model`` and its enabled sub-sections, in order."""
    if getattr(model, "enabled", True) is False:
        return []
    found: list[NamedSecret] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}.{name}" if prefix else name
        if name.endswith("_env") and isinstance(value, str) and value:
            found.append(NamedSecret(key, value))
        elif isinstance(value, BaseModel):
            found += named_secrets(value, key)
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += named_secrets(item, f"{key}[{index}]")
        elif isinstance(value, dict):
            for sub, item in value.items():
                if isinstance(item, BaseModel):
                    found += named_secrets(item, f"{key}.{sub}")
    return found
