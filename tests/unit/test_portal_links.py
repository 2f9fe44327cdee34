"""Portal links and form tokens (maildesk.notify.links) and the portal's rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maildesk.core.clock import FakeClock
from maildesk.notify.links import MIN_SECRET_LENGTH, InvalidLink, PortalLinks, link_key
from maildesk.web.portal.ratelimit import RateLimiter

SECRET = "k" * 40
OTHER_SECRET = "j" * 40
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
BASE = "https://support.example/portal/"


def links(secret: str = SECRET, days: int = 30) -> PortalLinks:
    return PortalLinks(secret, BASE, days)


def reason(signer: PortalLinks, token: str, now: datetime, revoked: datetime | None = None) -> str:
    with pytest.raises(InvalidLink) as caught:
        signer.read(token, now, revoked)
    return caught.value.reason


def flip(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by another URL-safe one."""
    char = "A" if text[index] != "A" else "B"
    return text[:index] + char + text[index + 1 :]


def test_round_trip_keeps_client_contact_and_issue_time() -> None:
    signer = links()
    token = signer.token("acme", " Boss@Acme.Example ", NOW)
    scope = signer.read(token, NOW + timedelta(days=3))
    assert scope.client == "acme"
    assert scope.contact == "boss@acme.example"
    assert scope.issued_at == NOW
    plain = signer.token("acme", None, NOW)
    assert signer.url("acme", None, NOW) == f"https://support.example/portal/c/{plain}"
    assert signer.read(signer.token("acme", None, NOW), NOW).contact is None
    assert signer.peek_client(token) == "acme"


def test_tampered_payload_signature_or_secret() -> None:
    signer = links()
    token = signer.token("acme", "boss@acme.example", NOW)
    payload, signature = token.split(".")
    assert reason(signer, flip(payload, 3) + "." + signature, NOW) == "tampered"
    assert reason(signer, payload + "." + flip(signature, 5), NOW) == "tampered"
    assert reason(signer, payload, NOW) == "tampered"
    assert reason(signer, "", NOW) == "tampered"
    assert reason(signer, "not-a-token", NOW) == "tampered"
    foreign = links(OTHER_SECRET).token("acme", "boss@acme.example", NOW)
    assert reason(signer, foreign, NOW) == "tampered"
    assert signer.peek_client(foreign) is None
    assert signer.peek_client(payload + "." + flip(signature, 5)) is None


def test_a_token_signed_for_forms_is_not_a_link() -> None:
    """The two salts keep the kinds apart: a form token never opens a page."""
    signer = links()
    token = signer.token("acme", "boss@acme.example", NOW)
    assert reason(signer, signer.form_token(token), NOW) == "tampered"


def test_expired_after_link_days_and_when_issued_in_the_future() -> None:
    signer = links(days=30)
    clock = FakeClock(NOW)
    token = signer.token("acme", "boss@acme.example", clock.now())
    clock.advance(timedelta(days=30))
    assert signer.read(token, clock.now()).client == "acme", "valid for exactly link_days"
    clock.advance(timedelta(seconds=1))
    assert reason(signer, token, clock.now()) == "expired"
    assert reason(links(days=1), token, NOW + timedelta(days=1, minutes=1)) == "expired"
    assert reason(signer, token, NOW - timedelta(minutes=6)) == "expired"
    assert signer.read(token, NOW - timedelta(minutes=4)).client == "acme", "clock skew"


def test_revoked_at_or_after_issue_and_new_links_work() -> None:
    signer = links()
    token = signer.token("acme", "boss@acme.example", NOW)
    later = NOW + timedelta(hours=1)
    assert reason(signer, token, later, revoked=NOW) == "revoked"
    assert reason(signer, token, later, revoked=NOW + timedelta(minutes=1)) == "revoked"
    assert signer.read(token, later, NOW - timedelta(seconds=1)).client == "acme"
    fresh = signer.token("acme", "boss@acme.example", NOW + timedelta(minutes=2))
    assert signer.read(fresh, later, NOW + timedelta(minutes=1)).client == "acme"


@pytest.mark.parametrize("length", [0, 8, MIN_SECRET_LENGTH - 1])
def test_short_secret_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_SECRET_LENGTH}"):
        PortalLinks("x" * length, BASE, 30)
    assert PortalLinks("x" * MIN_SECRET_LENGTH, BASE, 30).lifetime == timedelta(days=30)


def test_form_token_is_bound_to_its_link() -> None:
    signer = links()
    a = signer.token("acme", "boss@acme.example", NOW)
    b = signer.token("beta", "it@beta.example", NOW)
    a_later = signer.token("acme", "boss@acme.example", NOW + timedelta(seconds=1))
    form_a = signer.form_token(a)
    assert signer.form_token_ok(a, form_a)
    assert not signer.form_token_ok(b, form_a)
    assert not signer.form_token_ok(a_later, form_a), "each link has its own form token"
    assert not signer.form_token_ok(a, links(OTHER_SECRET).form_token(a))
    assert not signer.form_token_ok(a, a), "a link is not its own form token"
    for garbage in ("", "x", form_a + "x", flip(form_a, 2), "a.b.c"):
        assert not signer.form_token_ok(a, garbage), garbage


def test_link_key_is_short_stable_and_not_the_token() -> None:
    token = links().token("acme", None, NOW)
    assert link_key(token) == link_key(token)
    assert len(link_key(token)) == 16 and link_key(token) not in token
    assert link_key(token) != link_key(links().token("acme", None, NOW + timedelta(seconds=1)))


# -- rate limiter ---------------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_per_minute_then_asks_to_wait() -> None:
    ticks = Ticks()
    limiter = RateLimiter(3, ticks)
    for _ in range(3):
        assert limiter.allow("a") == 0
        ticks.now += 1
    wait = limiter.allow("a")
    assert wait == pytest.approx(57.0), "60 s after the first of the three"
    ticks.now += 56.5
    assert limiter.allow("a") == pytest.approx(0.5)
    ticks.now += 0.5
    assert limiter.allow("a") == 0, "the first request left the window"
    assert limiter.allow("a") > 0, "the second one is still in it"


def test_rate_limiter_frees_up_after_a_minute_and_keys_are_independent() -> None:
    ticks = Ticks()
    limiter = RateLimiter(2, ticks)
    assert limiter.allow("a") == 0 and limiter.allow("a") == 0
    assert limiter.allow("a") > 0
    assert limiter.allow("b") == 0 and limiter.allow("b") == 0, "b has its own budget"
    assert limiter.allow("b") > 0
    ticks.now += 60
    assert limiter.allow("a") == 0 and limiter.allow("b") == 0
    assert limiter.allow("a") == 0 and limiter.allow("a") > 0


def test_refused_requests_do_not_extend_the_wait() -> None:
    ticks = Ticks()
    limiter = RateLimiter(1, ticks)
    assert limiter.allow("a") == 0
    for _ in range(10):
        ticks.now += 5
        assert limiter.allow("a") > 0
    ticks.now += 10
    assert limiter.allow("a") == 0, "hammering while refused does not keep the link blocked"


def test_redact_removes_this_portals_links_under_any_address_and_keeps_the_rest() -> None:
    signer = links()
    current = signer.url("acme", "boss@acme.example", NOW)
    before_a_move = PortalLinks(SECRET, "http://old-host.example", 30).url("acme", None, NOW)
    foreign = PortalLinks(OTHER_SECRET, BASE, 30).url("acme", None, NOW)
    text = f"Yours: {current}\nOld: <{before_a_move}>.\nNot ours: {foreign}\nhttp://x/c/a.b"
    cleaned = signer.redact(text)
    assert cleaned == f"Yours: [link]\nOld: <[link]>.\nNot ours: {foreign}\nhttp://x/c/a.b"
