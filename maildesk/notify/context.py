"""What any layer needs to write mail: settings, clock, templates, our identity, ticket tags.

Built once per process. The ingest pipeline, the SLA sweep and billing all
queue mail through it, so each of them speaks with one voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from maildesk.core.clock import Clock
from maildesk.core.config import Settings
from maildesk.core.numbers import NumberFormat
from maildesk.notify.links import PortalLinks
from maildesk.notify.outbox import Identity
from maildesk.notify.render import Renderer


@dataclass(frozen=True)
class MailContext:
    """Settings, clock, renderer, sender identity and number format, for writing mail."""

    settings: Settings
    clock: Clock
    renderer: Renderer
    identity: Identity
    numbers: NumberFormat = field(default_factory=NumberFormat)
    links: PortalLinks | None = None
    """Signs the portal links that client mails carry; None when the portal is off."""

    @staticmethod
    def parts(
        settings: Settings, clock: Clock, renderer: Renderer
    ) -> tuple[Settings, Clock, Renderer, Identity, NumberFormat]:
        """The fields of a context for ``settings`` (subclasses add their own after these)."""
        service = settings.service
        identity = Identity(
            address=service.support_address,
            name=service.support_name,
            domain=service.own_message_id_domain,
            loop_token=service.instance_id,
        )
        numbers = NumberFormat(settings.tickets.number_format, settings.tickets.subject_tag)
        return settings, clock, renderer, identity, numbers

    @classmethod
    def create(
        cls,
        settings: Settings,
        clock: Clock,
        renderer: Renderer,
        links: PortalLinks | None = None,
    ) -> MailContext:
        settings_, clock_, renderer_, identity, numbers = cls.parts(settings, clock, renderer)
        return cls(settings_, clock_, renderer_, identity, numbers, links)

    def portal_url(self, client: str | None, recipients: tuple[str, ...]) -> str | None:
        """A fresh link to ``client``'s portal page for a mail to ``recipients``.

        The link acts for its contact (who may answer quotes), so it names one
        only when the mail goes to one person; a mail to several carries a
        read-only link. None when the portal is off or the mail has no client.
        """
        if self.links is None or not client:
            return None
        contact = recipients[0] if len(recipients) == 1 else None
        return self.links.url(client, contact, self.clock.now())

    def local_year(self, now: datetime) -> int:
        return now.astimezone(ZoneInfo(self.settings.service.timezone)).year
