"""Reading the configuration file and the secrets it names (wiring, not logic).

Relative paths in the file (``service.data_dir``, ``service.templates_dir``, a
``sqlite:///`` URL) are taken from the config file's folder, not from wherever a
command happens to run, so every command finds the same database. Without a
file, the embedded defaults' ``./var/`` is the working directory's, made absolute.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from maildesk.core.config import ConfigError, Settings, embedded_defaults, settings_from_toml
from maildesk.core.config.secrets import named_secrets

if TYPE_CHECKING:
    from maildesk.notify.links import PortalLinks

# sqlite:///relative/path (three slashes; four make it absolute), any driver.
_RELATIVE_SQLITE = re.compile(r"^(sqlite(?:\+\w+)?:///)(?!/)(?!:memory:)(?=.)(.*)$")


def _anchored(settings: Settings, base: Path) -> Settings:
    """``settings`` with its relative paths made absolute against ``base``."""
    service = settings.service
    updates: dict[str, Path] = {}
    if not service.data_dir.is_absolute():
        updates["data_dir"] = base / service.data_dir
    if service.templates_dir is not None and not service.templates_dir.is_absolute():
        updates["templates_dir"] = base / service.templates_dir
    changed: dict[str, object] = {}
    if updates:
        changed["service"] = service.model_copy(update=updates)
    match = _RELATIVE_SQLITE.match(settings.database.url)
    if match:
        url = f"{match.group(1)}{base / match.group(2)}"
        changed["database"] = settings.database.model_copy(update={"url": url})
    return settings.model_copy(update=changed) if changed else settings


def load_settings(path: Path | None) -> Settings:
    """The settings from ``path``, or the embedded defaults when there is no file.

    Paths in the result are absolute (see the module's docstring).
    """
    if path is None:
        return embedded_defaults(Path.cwd() / "var")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    settings = settings_from_toml(text, str(path))
    return _anchored(settings, Path(os.path.abspath(path)).parent)


def check_calendars(settings: Settings) -> None:
    """Build every policy's business calendar once; raise ``ConfigError`` naming each bad one.

    What the config model cannot see (an unknown holiday country or subdivision, a week
    without any opening hours) would otherwise pass, and every client mail would then
    be quarantined when its due time is computed.
    """
    from maildesk.sla.clock import calendar_for  # the holidays tables: only when checking

    problems = []
    for name, policy in settings.policies.items():
        try:
            calendar_for(policy)
        except ValueError as exc:
            problems.append(f"  policies.{name}.calendar: {exc}")
    if problems:
        raise ConfigError(f"{settings.source}: {len(problems)} problem(s):\n" + "\n".join(problems))


def missing_secrets(settings: Settings) -> list[str]:
    """One line per secret the config names whose environment variable is unset or empty."""
    return [
        f"{s.env} (named by {s.key}) is not set"
        for s in named_secrets(settings)
        if not os.environ.get(s.env)
    ]


def check_secrets(settings: Settings) -> None:
    """Raise ``ConfigError`` listing every unset secret, so that one start shows them all."""
    missing = missing_secrets(settings)
    if missing:
        raise ConfigError(
            f"{settings.source}: {len(missing)} secret(s) not set in the environment "
            "(export each before starting maildesk):\n  " + "\n  ".join(missing)
        )


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
    from maildesk.notify.links import PortalLinks

    portal = settings.portal
    if not portal.enabled:
        return None
    key = secret(portal.secret_env, "portal.secret_env")
    try:
        return PortalLinks(key, portal.base_url, portal.link_days)
    except ValueError as exc:
        raise ConfigError(f"{portal.secret_env} (named by portal.secret_env): {exc}") from None
