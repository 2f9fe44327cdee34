"""Rule 8 on the client's page: time billed at the rate shows its amount, as the client reads it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
import pytest

from maildesk.ingest.context import PipelineContext
from maildesk.ingest.receive import Receiver
from maildesk.notify.render import Renderer
from tests.integration.portal_helpers import PortalDesk, rows, section

pytestmark = pytest.mark.integration

NBSP = "\u00a0"
RATE, VAT = Decimal(60), Decimal("19.6")


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[PortalDesk]:
    """The portal's desk with its policy billing every 15 minutes at 60/h plus 19.6 % VAT."""
    desk = PortalDesk(db_url, tmp_path)
    policy = desk.settings.policies["default"]
    billing = policy.billing.model_copy(
        update={"kind": "hourly", "hourly_rate": float(RATE), "vat_percent": VAT}
    )
    policies = {"default": policy.model_copy(update={"billing": billing})}
    desk.settings = desk.settings.model_copy(update={"policies": policies})
    desk.ctx = PipelineContext.build(desk.settings, desk.clock, Renderer(), desk.links)
    desk.receiver = Receiver(desk.db, desk.ctx)
    yield desk
    desk.close()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_ledger_shows_the_amount_excl_and_incl_vat(desk: PortalDesk) -> None:
    number = desk.report("ops@gamma.example", "Certificat expiré")
    desk.work(number, 70)  # 15-minute unit: 75 minutes billed at the rate
    excl = _cents(RATE * 75 / 60)
    incl = _cents(excl * (100 + VAT) / 100)
    fr = f"{excl:.2f}".replace(".", ",") + f"{NBSP}€", f"{incl:.2f}".replace(".", ",") + f"{NBSP}€"
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        token = desk.token("gamma", "ops@gamma.example")
        page = http.get(served.page(token)).text
        ticket = http.get(f"{served.page(token)}/t/{number}").text
    table = section(page, "ledger")
    assert "Montant HTVA" in table and "Montant TVAC" in table
    [line] = rows(table)
    assert line[1:] == [number, "Ann", "1 h 10 min", "1 h 15 min", *fr]
    assert rows(ticket)[-1][-2:] == list(fr)
