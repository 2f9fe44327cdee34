"""The portal's "Service level" page: last month's figures and a 12-month chart as inline SVG.

The chart is drawn by the server as SVG markup (no script, nothing fetched), so the
page stays within its Content-Security-Policy and reads the same in a screenshot, a
printout or a text browser (each bar has a title and its percentage written above it).
A month with no target decided has no bar, only "–".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.report.figures import ClientFigures, Month, client_figures
from maildesk.store.models import Client

__all__ = ["HEIGHT", "WIDTH", "Bar", "ServiceView", "bars", "service_view"]

WIDTH, HEIGHT = 720, 240
TOP, BOTTOM, LEFT = 24, 40, 40
"""The plot area's margins: room for the percentages above and the months below."""


@dataclass(frozen=True)
class Bar:
    """One month's column: its label, percentage (None: nothing decided) and geometry."""

    label: str
    percent: float | None
    met: int
    total: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


def bars(months: list[ClientFigures]) -> list[Bar]:
    """The chart's columns, oldest month first; a bar's height is its share of targets met."""
    plot = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / max(len(months), 1)
    found: list[Bar] = []
    for i, figures in enumerate(months):
        count = figures.targets
        height = plot * (count.percent or 0.0) / 100
        found.append(
            Bar(
                label=figures.month.label,
                percent=count.percent,
                met=count.met,
                total=count.total,
                x=LEFT + i * step + step * 0.15,
                y=TOP + plot - height,
                width=step * 0.7,
                height=height,
            )
        )
    return found


@dataclass(frozen=True)
class ServiceView:
    """What the page shows: the last complete month in detail, and the chart."""

    last: ClientFigures
    bars: list[Bar]
    gridlines: list[tuple[int, float]]


def service_view(session: Session, client: Client, zone: str, now: datetime) -> ServiceView:
    """The figures of the twelve complete months before ``now`` (the report's, per month)."""
    months = [
        client_figures(session, client, m, zone) for m in Month.of(now, zone).previous().last(12)
    ]
    plot = HEIGHT - TOP - BOTTOM
    grid = [(p, TOP + plot - plot * p / 100) for p in (0, 50, 100)]
    return ServiceView(last=months[-1], bars=bars(months), gridlines=grid)
