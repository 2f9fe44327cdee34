"""Who may join a ticket, who may receive mail about it, and what marks maildesk's own mail.

The rules (``docs/architecture.md``, "Who may do what"): a pointer to a ticket
is believed from staff, from a person of the ticket's client, or from the
stranger who opened a ticket without a client; mail about a ticket goes to the
staff, its requester, its client's people and whom staff added with ``#cc``;
our own mail is recognised by a Message-ID domain only maildesk writes, never
the support address's domain that staff share.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from maildesk.core.clock import FakeClock
from maildesk.core.config import ConfigError, Settings, settings_from_toml
from maildesk.ingest.classify import Kind, classify
from maildesk.ingest.commands import parse_commands
from maildesk.ingest.context import PipelineContext
from maildesk.ingest.explain import decide
from maildesk.ingest.match import may_join
from maildesk.ingest.roles import Role, Sender
from maildesk.mail.parse import parse
from maildesk.notify.audience import client_person
from maildesk.notify.render import renderer_for
from maildesk.store.models import Ticket

CONFIG = """
[service]
support_address = "support@helpdesk.example"
instance_id = "desk-1"
unknown_senders = "accept"

[[staff]]
name = "Ann"
email = "ann@helpdesk.example"

[[clients]]
id = "acme"
name = "Acme"
domains = ["acme.example"]
match_domain = true
contacts = [{ email = "boss@acme.example" }]

[[clients]]
id = "globex"
name = "Globex"
domains = ["globex.example"]
contacts = [{ email = "eve@globex.example" }]
"""


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_from_toml(CONFIG, "membership.toml")


def _ticket(client_id: int | None, requester: str) -> Ticket:
    return Ticket(number="2026-000001", client_id=client_id, requester=requester)


ACME, GLOBEX = 1, 2
NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
BOSS, TOM, EVE, MAL = (
    "boss@acme.example",
    "tom@acme.example",
    "eve@globex.example",
    "m@evil.example",
)


@pytest.mark.parametrize(
    ("sender", "address", "ticket", "joins"),
    [
        (Sender(Role.STAFF), "ann@helpdesk.example", _ticket(ACME, BOSS), True),
        (Sender(Role.CONTACT, ACME, "acme"), BOSS, _ticket(ACME, "x@acme.example"), True),
        (Sender(Role.DOMAIN, ACME, "acme"), TOM, _ticket(ACME, BOSS), True),
        (Sender(Role.CONTACT, GLOBEX, "globex"), EVE, _ticket(ACME, BOSS), False),
        (Sender(Role.UNKNOWN), MAL, _ticket(ACME, BOSS), False),
        # the requester whose client requires authentication, failing it, is a stranger now
        (Sender(Role.UNKNOWN), BOSS, _ticket(ACME, BOSS), False),
        # a ticket without a client: only the stranger who opened it
        (Sender(Role.UNKNOWN), MAL, _ticket(None, MAL), True),
        (Sender(Role.UNKNOWN), "trent@evil.example", _ticket(None, MAL), False),
        (Sender(Role.CONTACT, ACME, "acme"), BOSS, _ticket(None, MAL), False),
    ],
)
def test_who_may_join_a_ticket(sender: Sender, address: str, ticket: Ticket, joins: bool) -> None:
    assert may_join(sender, address, ticket) is joins


def test_a_clients_people_are_its_contacts_and_its_matched_domain(settings: Settings) -> None:
    assert client_person(settings, "acme", "boss@acme.example")
    assert client_person(settings, "acme", "Tom@ACME.example")  # match_domain
    assert client_person(settings, "globex", "eve@globex.example")
    assert not client_person(settings, "globex", "gus@globex.example")  # no match_domain
    assert not client_person(settings, "acme", "eve@globex.example")
    assert not client_person(settings, None, "boss@acme.example")


def test_cc_takes_one_address_and_may_be_repeated() -> None:
    parsed = parse_commands("Hi\n#cc Vendor@Example.com\n#cc <it@acme.example>\n")
    assert [(c.name, c.value) for c in parsed.commands] == [
        ("cc", "vendor@example.com"),
        ("cc", "it@acme.example"),
    ]
    assert parsed.problems == () and parsed.text == "Hi\n"
    for bad in ("#cc", "#cc someone", "#cc a@b.example c@d.example", "#cc Bob <b@x.example>"):
        problems = parse_commands(bad + "\n").problems
        assert len(problems) == 1 and "one e-mail address" in problems[0].message, bad


def _raw(message_id: str, sender: str = "ann@helpdesk.example", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@helpdesk.example"
    msg["Subject"] = "Re: [#2026-000001] Quiz"
    msg["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Cleared the cache.\n")
    return msg.as_bytes(policy=SMTP)


def test_message_ids_at_the_support_domain_are_not_ours(settings: Settings) -> None:
    ctx = PipelineContext.build(settings, FakeClock(NOW), renderer_for(settings.service))
    assert ctx.identity.domain == "desk-1.maildesk.helpdesk.example"
    staff_ids = (
        "4FA76F9A.3060602@helpdesk.example",  # Thunderbird 12 (zammad/mail/mail005.box)
        "0b5c7f3e-9a41-4c2e-8d6f-2f1e4b7a9c03@helpdesk.example",  # Thunderbird since 78
        "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@helpdesk.example",  # Apple Mail (sisimai mac/)
        "87d6gxt7ay.fsf@helpdesk.example",  # Gnus, as in the corpus
    )
    for staff_id in staff_ids:
        assert classify(parse(_raw(staff_id)), ctx.rules).kind is Kind.NORMAL, staff_id
    ours = _raw("1.2@desk-1.maildesk.helpdesk.example")
    assert classify(parse(ours), ctx.rules).kind is Kind.LOOP
    looped = _raw("x@acme.example", sender=BOSS, X_Maildesk_Loop="desk-1")
    assert classify(parse(looped), ctx.rules).kind is Kind.LOOP


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("helpdesk.example", "the domain of a support address"),
        ("HelpDesk.Example", "the domain of a support address"),
        ("not a domain", "is not a domain name"),
        ("staff.helpdesk.example", "a staff member's mail domain"),
    ],
)
def test_a_message_id_domain_people_write_is_refused(value: str, problem: str) -> None:
    text = CONFIG.replace('instance_id = "desk-1"', f'message_id_domain = "{value}"')
    text = text.replace("ann@helpdesk.example", "ann@staff.helpdesk.example")
    with pytest.raises(ConfigError) as caught:
        settings_from_toml(text, "membership.toml")
    assert "membership.toml" in str(caught.value)
    assert "message_id_domain" in str(caught.value) and problem in str(caught.value)


def test_a_long_in_reply_to_encoded_by_pythons_email_package_still_threads() -> None:
    ours = "179661356553.11778.2590383453328527228@maildesk-prod.maildesk.helpdesk.example"
    raw = _raw("a@helpdesk.example", In_Reply_To=f"<{ours}>", References=f"<{ours}>")
    assert b"=?utf-8?q?" in raw, "the email package encodes it (what is tested here)"
    mail = parse(raw)
    assert mail.in_reply_to == ours
    assert mail.references == (ours,)


def test_inspect_lists_the_pointers_and_which_ticket_the_sender_may_join(
    settings: Settings,
) -> None:
    raw = _raw(
        "x1@globex.example",
        sender="eve@globex.example",
        In_Reply_To="<m1@acme.example>",
    ).replace(b"To: support@", b"To: support+2026-000007@")
    decisions = decide(parse(raw), settings)
    assert decisions.pointers == [
        ("thread headers", "m1@acme.example"),
        ("subject tag", "2026-000001"),
        ("plus address", "2026-000007"),
    ]
    assert decisions.joins.startswith("only a ticket of client globex;")
    stranger = decide(parse(_raw("y@evil.example", sender="m@evil.example")), settings)
    assert "a new ticket of its own" in stranger.joins
    assert decide(parse(_raw("z@helpdesk.example")), settings).joins == "any ticket (staff)"
