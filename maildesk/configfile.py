"""Reading the configuration file and the secrets it names (wiring, not logic)."""

from __future__ import annotations

import os
from pathlib import Path

from maildesk.core.config import ConfigError, Settings, embedded_defaults, settings_from_toml
from maildesk.notify.links import PortalLinks


def load_settings(path: Path | None) -> Settings:
    """The settings from ``path``, or the embedded defaults when there is no file."""
    if path is None:
        return embedded_defaults()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return settings_from_toml(text, str(path))


def secret(env_name: str, key: str) -> str:
    """The value of the environment variable ``env_name``, which the config names at ``key``."""
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(
            f"environment variable {env_name} (named by {key}) is not set; "
            f"export {env_name}=... before starting maildesk"
        )
    return value


def portal_links(settings: Settings) -> PortalLinks | None:
    """The signer of portal links, or None when the portal is off."""
    portal = settings.portal
    if not portal.enabled:
        return None
    key = secret(portal.secret_env, "portal.secret_env")
    try:
        return PortalLinks(key, portal.base_url, portal.link_days)
    except ValueError as exc:
        raise ConfigError(f"{portal.secret_env} (named by portal.secret_env): {exc}") from None
