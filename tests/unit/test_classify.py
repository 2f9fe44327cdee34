"""Classification rules on hand-built mails: each rule fires when it should and only then.

The mails are built directly as ``InboundMail`` values (no parser involved), so
that each test names exactly the header or field the rule reads.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace
from types import SimpleNamespace

import pytest

import maildesk.ingest.rules as rules_package
from maildesk.ingest.classify import (
    DEFAULT_RULE,
    RULES,
    Kind,
    RuleContext,
    Verdict,
    classify,
    explain,
)
from maildesk.ingest.rules import auto_reply, bounce, mailing_list, own_mail, too_large
from maildesk.mail.dsn import bounce_details
from maildesk.mail.parse import InboundMail

CTX = RuleContext(
    own_addresses=frozenset({"support@helpdesk.example.com"}),
    own_message_id_domains=frozenset({"helpdesk.example.com"}),
    loop_token="instance-7f3a",
    max_message_bytes=10_000_000,
)

OUR_ID = "20240301101500.ack-42@helpdesk.example.com"


def make_mail(
    *,
    headers: tuple[tuple[str, str], ...] = (),
    sender: str = "anna@client.example.org",
    sender_name: str = "Anna Peeters",
    subject: str = "Login page shows an error",
    text: str = "Hello, since this morning the login page shows an error.",
    content_type: str = "text/plain; charset=utf-8",
    size: int = 2_000,
    message_id: str = "CAF1x9@mail.client.example.org",
    message_id_synthesized: bool = False,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> InboundMail:
    """A mail from a client, with the given fields changed; ``headers`` are added."""
    base = (
        ("from", f"{sender_name} <{sender}>" if sender else "<>"),
        ("to", "support@helpdesk.example.com"),
        ("subject", subject),
        ("message-id", f"<{message_id}>"),
        ("content-type", content_type),
    )
    names = {name for name, _ in headers}
    return InboundMail(
        raw_sha256="0" * 64,
        size=size,
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        to=("support@helpdesk.example.com",),
        cc=(),
        reply_to=(),
        subject=subject,
        in_reply_to=in_reply_to,
        references=references,
        date=None,
        text=text,
        html="",
        content_type=content_type,
        attachments=(),
        headers=tuple(h for h in base if h[0] not in names) + headers,
        message_id_synthesized=message_id_synthesized,
    )


def kind(mail: InboundMail, ctx: RuleContext = CTX) -> Kind:
    return classify(mail, ctx).kind


# --------------------------------------------------------------------------
# The mechanism
# --------------------------------------------------------------------------


def test_a_plain_client_mail_is_normal_by_default() -> None:
    verdict = classify(make_mail(), CTX)
    assert verdict.kind is Kind.NORMAL
    assert verdict.rule == DEFAULT_RULE
    assert verdict.reason


def test_verdict_names_the_deciding_rule_and_its_description() -> None:
    mail = make_mail(headers=(("auto-submitted", "auto-replied"),))
    assert classify(mail, CTX) == Verdict(
        kind=Kind.AUTO_REPLY, rule=auto_reply.NAME, reason=auto_reply.DESCRIPTION
    )


def test_the_declared_order() -> None:
    assert [k for k, _ in RULES] == [
        Kind.LOOP,
        Kind.FEEDBACK,
        Kind.BOUNCE,
        Kind.AUTO_REPLY,
        Kind.MAILING_LIST,
        Kind.TOO_LARGE,
    ]


def test_every_rule_module_is_in_rules_and_well_formed() -> None:
    """A rule file that is not listed in RULES would silently never run."""
    modules = {
        info.name
        for info in pkgutil.iter_modules(rules_package.__path__)
        if not info.name.startswith("_")
    }
    listed = {rule.__name__.rsplit(".", 1)[-1] for _, rule in RULES}  # type: ignore[attr-defined]
    assert modules == listed
    names = [rule.NAME for _, rule in RULES]
    assert len(set(names)) == len(names)
    assert DEFAULT_RULE not in names
    for name in modules:
        module = importlib.import_module(f"maildesk.ingest.rules.{name}")
        assert isinstance(module.NAME, str) and module.NAME
        description = module.DESCRIPTION
        assert isinstance(description, str) and description.strip()
        assert "\n" not in description and len(description) <= 100
        assert callable(module.check)


def test_explain_lists_every_rule_in_order_with_its_result() -> None:
    mail = make_mail(
        sender="mailer-daemon@mx.client.example.org",
        subject="Undelivered Mail Returned to Sender",
        headers=(("auto-submitted", "auto-replied"),),
    )
    result = explain(mail, CTX)
    assert [name for name, _ in result] == [rule.NAME for _, rule in RULES]
    fired = {name for name, hit in result if hit}
    assert fired == {bounce.NAME, auto_reply.NAME}


def test_extra_rules_extend_the_order_without_code_changes() -> None:
    """Later rules (a sender's role from the database) are one more (Kind, rule) entry."""
    staff_rule = SimpleNamespace(
        NAME="staff_sender",
        DESCRIPTION="From a staff member",
        check=lambda mail, ctx: mail.sender.endswith("@helpdesk.example.com"),
    )
    extended = (*RULES, (Kind.NORMAL, staff_rule))
    verdict = classify(make_mail(sender="tom@helpdesk.example.com"), CTX, extended)
    assert verdict.rule == "staff_sender"
    assert classify(make_mail(), CTX, extended).rule == DEFAULT_RULE


# --------------------------------------------------------------------------
# own_mail (LOOP)
# --------------------------------------------------------------------------


def test_our_loop_header_is_a_loop() -> None:
    mail = make_mail(headers=(("x-maildesk-loop", " instance-7f3a "),))
    assert classify(mail, CTX).rule == own_mail.NAME


def test_another_instances_loop_header_is_not_our_loop() -> None:
    mail = make_mail(headers=(("x-maildesk-loop", "instance-other"),))
    assert kind(mail) is Kind.NORMAL


def test_an_empty_loop_token_never_matches() -> None:
    ctx = RuleContext(CTX.own_addresses, CTX.own_message_id_domains, "", CTX.max_message_bytes)
    assert kind(make_mail(headers=(("x-maildesk-loop", ""),)), ctx) is Kind.NORMAL


def test_our_own_message_id_is_a_loop() -> None:
    assert kind(make_mail(message_id=OUR_ID)) is Kind.LOOP


def test_a_client_reply_referencing_our_message_id_is_not_a_loop() -> None:
    mail = make_mail(
        subject="Re: [#1042] Login page shows an error",
        in_reply_to=OUR_ID,
        references=("CAF1x9@mail.client.example.org", OUR_ID),
        headers=(("in-reply-to", f"<{OUR_ID}>"), ("references", f"<{OUR_ID}>")),
    )
    assert kind(mail) is Kind.NORMAL


def test_a_synthesized_message_id_is_never_ours() -> None:
    mail = make_mail(message_id="abc@helpdesk.example.com", message_id_synthesized=True)
    assert kind(mail) is Kind.NORMAL


def test_mail_from_a_support_address_is_a_loop() -> None:
    assert kind(make_mail(sender="support@helpdesk.example.com")) is Kind.LOOP


def test_our_loop_wins_over_every_other_signal() -> None:
    mail = make_mail(
        message_id=OUR_ID,
        headers=(("auto-submitted", "auto-replied"), ("list-id", "<x.example.org>")),
    )
    assert kind(mail) is Kind.LOOP


# --------------------------------------------------------------------------
# feedback_report (FEEDBACK)
# --------------------------------------------------------------------------


def test_an_arf_report_is_feedback_even_from_a_postmaster_with_null_return_path() -> None:
    mail = make_mail(
        sender="postmaster@isp.example.net",
        subject="Abuse report",
        content_type='multipart/report; report-type="feedback-report"; boundary="b1"',
        headers=(("return-path", "<>"), ("auto-submitted", "auto-generated")),
    )
    assert kind(mail) is Kind.FEEDBACK


# --------------------------------------------------------------------------
# bounce (BOUNCE)
# --------------------------------------------------------------------------


def test_a_standard_dsn_is_a_bounce() -> None:
    mail = make_mail(
        sender="postmaster@mx.client.example.org",
        subject="Delivery report",
        content_type='multipart/report; boundary="x"; report-type=delivery-status',
    )
    assert kind(mail) is Kind.BOUNCE


def test_a_dsn_with_auto_submitted_is_a_bounce_not_an_auto_reply() -> None:
    mail = make_mail(
        sender="mailer-daemon@mx.client.example.org",
        sender_name="Mail Delivery System",
        subject="Undelivered Mail Returned to Sender",
        content_type="multipart/report; report-type=delivery-status; boundary=x",
        headers=(("auto-submitted", "auto-replied"), ("return-path", "<>")),
    )
    verdict = classify(mail, CTX)
    assert verdict.kind is Kind.BOUNCE
    assert verdict.rule == bounce.NAME


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@mx.client.example.org".lower(), "mailer-daemon", "mailer_daemon@x.example"],
)
def test_a_mailer_daemon_sender_is_a_bounce(sender: str) -> None:
    assert kind(make_mail(sender=sender, subject="Warning")) is Kind.BOUNCE


def test_the_mail_delivery_system_name_is_a_bounce() -> None:
    mail = make_mail(sender="bounces@mx.example.net", sender_name="Mail Delivery Subsystem")
    assert kind(mail) is Kind.BOUNCE


def test_exims_failed_recipients_header_is_a_bounce() -> None:
    mail = make_mail(headers=(("x-failed-recipients", "anna@client.example.org"),))
    assert kind(mail) is Kind.BOUNCE


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Undeliverable: Login page shows an error",
        "failure notice",
        "Returned mail: see transcript for details",
        "Unzustellbar: Anmeldung",
        "Onbestelbaar: Inlogprobleem",
        "Non remis : Problème de connexion",
    ],
)
def test_dsn_subject_with_null_return_path_is_a_bounce(subject: str) -> None:
    mail = make_mail(
        sender="notifications@mx.example.net",
        subject=subject,
        headers=(("return-path", "<>"),),
    )
    assert kind(mail) is Kind.BOUNCE


def test_gateway_bounce_recognised_by_its_text() -> None:
    """Exchange 2003 style: postmaster, null Return-Path, a meaningless subject."""
    mail = make_mail(
        sender="postmaster@client.example.org",
        sender_name="System Administrator",
        subject="E",
        text="Your message\n  To: x\ndid not reach the following recipient(s):\nx@y.example",
        headers=(("return-path", "<>"),),
    )
    assert kind(mail) is Kind.BOUNCE


@pytest.mark.parametrize(
    ("subject", "sender", "text"),
    [
        # a client reporting a problem with bounces is a request
        ("Re: my mails to you bounce", "anna@client.example.org", "They come back."),
        # a client forwarding a bounce to support is a request too
        (
            "Fwd: Undelivered Mail Returned to Sender",
            "anna@client.example.org",
            "Why did this come back?\n\n550 5.1.1 user unknown",
        ),
        # a postmaster is a person when nothing says otherwise
        ("Your server sends us spam", "postmaster@isp.example.net", "Please check."),
        ("Delivery report for March", "anna@client.example.org", "Attached."),
    ],
)
def test_bounce_words_from_a_person_are_normal(subject: str, sender: str, text: str) -> None:
    assert kind(make_mail(subject=subject, sender=sender, text=text)) is Kind.NORMAL


def test_an_out_of_office_quoting_bounce_words_is_an_auto_reply() -> None:
    """RFC 3834 replies come with a null Return-Path and Auto-Submitted; that is no bounce."""
    mail = make_mail(
        sender="anna@client.example.org",
        subject="Re: [#1042] Login page shows an error",
        text="I am away until Monday.\n\n> Our users get 550 5.1.1 user unknown errors.",
        headers=(("return-path", "<>"), ("auto-submitted", "auto-replied")),
    )
    assert kind(mail) is Kind.AUTO_REPLY


def test_an_oversized_bounce_stays_a_bounce() -> None:
    mail = make_mail(sender="mailer-daemon@mx.example.net", size=CTX.max_message_bytes + 1)
    assert kind(mail) is Kind.BOUNCE


# --------------------------------------------------------------------------
# bounce_details
# --------------------------------------------------------------------------

DSN = b"""\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.client.example.org>
To: support@helpdesk.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <20240301101600.AB12@mx.client.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.client.example.org

Final-Recipient: rfc822; Anna@client.example.org
Original-Recipient: rfc822;anna@client.example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <anna@client.example.org>: user unknown

Final-Recipient: rfc822; bob@client.example.org
Action: delayed
Status: 4.2.2

--B1
Content-Type: message/rfc822

From: Support <support@helpdesk.example.com>
To: anna@client.example.org
Subject: [#1042] We received your report
Message-ID: <20240301101500.ack-42@helpdesk.example.com>
X-Maildesk-Loop: instance-7f3a

Your ticket number is 1042.

--B1--
"""


def test_bounce_details_reads_a_standard_dsn() -> None:
    details = bounce_details(DSN)
    assert details is not None
    assert details.original_message_ids == (OUR_ID,)
    anna, bob = details.recipients
    assert (anna.address, anna.action, anna.status) == (
        "anna@client.example.org",
        "failed",
        "5.1.1",
    )
    assert "user unknown" in anna.diagnostic
    assert anna.failed
    assert (bob.address, bob.action, bob.status, bob.failed) == (
        "bob@client.example.org",
        "delayed",
        "4.2.2",
        False,
    )
    assert details.failed_recipients == (anna,)


def test_bounce_details_headers_only_return() -> None:
    raw = DSN.replace(b"Content-Type: message/rfc822", b"Content-Type: text/rfc822-headers")
    details = bounce_details(raw)
    assert details is not None and details.original_message_ids == (OUR_ID,)


def test_a_delivered_dsn_reports_no_failure() -> None:
    raw = DSN.replace(b"Action: failed\nStatus: 5.1.1", b"Action: delivered\nStatus: 2.0.0")
    raw = raw.replace(b"Action: delayed\nStatus: 4.2.2", b"Action: relayed\nStatus: 2.0.0")
    details = bounce_details(raw)
    assert details is not None
    assert len(details.recipients) == 2
    assert details.failed_recipients == ()


QMAIL = b"""\
Return-Path: <>
From: MAILER-DAEMON@mx.client.example.org
To: support@helpdesk.example.com
Subject: failure notice
In-Reply-To: <not-the-copy@helpdesk.example.com>

Hi. This is the qmail-send program at mx.client.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<anna@client.example.org>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 No such user

--- Below this line is a copy of the message.

From: support@helpdesk.example.com
To: anna@client.example.org
Message-ID: <20240301101500.ack-42@helpdesk.example.com>
Subject: [#1042] We received your report

Your ticket number is 1042.
"""


def test_bounce_details_reads_a_non_standard_bounce_text() -> None:
    details = bounce_details(QMAIL)
    assert details is not None
    assert [r.address for r in details.recipients] == ["anna@client.example.org"]
    assert details.recipients[0].status == "5.1.1"
    assert details.recipients[0].failed
    assert details.original_message_ids == (OUR_ID,)


def test_bounce_details_falls_back_to_in_reply_to_and_exim_header() -> None:
    raw = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: support@helpdesk.example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: anna@client.example.org
In-Reply-To: <20240301101500.ack-42@helpdesk.example.com>

This message was created automatically by mail delivery software.
"""
    details = bounce_details(raw)
    assert details is not None
    assert details.original_message_ids == (OUR_ID,)
    assert [(r.address, r.action) for r in details.recipients] == [
        ("anna@client.example.org", "failed")
    ]


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff garbage", b"Subject: hello\n\nNo addresses here at all."],
)
def test_bounce_details_of_nothing_is_none(raw: bytes) -> None:
    assert bounce_details(raw) is None


# --------------------------------------------------------------------------
# auto_reply (AUTO_REPLY)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "Auto-Notified; owner=x"])
def test_auto_submitted_is_an_auto_reply(value: str) -> None:
    assert kind(make_mail(headers=(("auto-submitted", value),))) is Kind.AUTO_REPLY


@pytest.mark.parametrize("value", ["no", "No", " no ; comment", "", " ; odd"])
def test_auto_submitted_no_is_a_person(value: str) -> None:
    assert kind(make_mail(headers=(("auto-submitted", value),))) is Kind.NORMAL


@pytest.mark.parametrize(
    "header",
    [
        ("x-autoreply", "yes"),
        ("x-autorespond", "Out of office"),
        ("x-auto-response-suppress", "All"),
        ("x-auto-response-suppress", "DR, OOF, AutoReply"),
        ("precedence", "bulk"),
        ("precedence", "junk"),
        ("precedence", "auto_reply"),
    ],
)
def test_auto_reply_headers(header: tuple[str, str]) -> None:
    assert kind(make_mail(headers=(header,))) is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "header",
    [
        ("x-autoreply", "no"),
        ("x-autorespond", ""),
        ("x-auto-response-suppress", "DR, RN, NRN"),
        ("precedence", "first-class"),
    ],
)
def test_weak_or_negative_headers_are_not_auto_replies(header: tuple[str, str]) -> None:
    assert kind(make_mail(headers=(header,))) is Kind.NORMAL


def test_a_read_receipt_is_an_auto_reply() -> None:
    mail = make_mail(
        subject="Read: Login page shows an error",
        content_type="multipart/report; report-type=disposition-notification; boundary=x",
    )
    assert kind(mail) is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Re: [#1042] Login page shows an error",
        "Out of office",
        "Out of Office AutoReply: Login page",
        "Automatic reply: Login page shows an error",
        "Auto-reply: your mail",
        "Autoreply",
        "Auto reply: Nyaan",
        "[EXTERNAL] Automatic reply: Login page",
        "Afwezig",
        "Automatisch antwoord: Inlogprobleem",
        "Réponse automatique : Problème de connexion",
        "Absence",
        "Absent du bureau : Problème",
        "Abwesenheitsnotiz: Anmeldung",
        "Automatische Antwort: Anmeldung",
        "Abwesend",
        "I am out of the office until Monday 4 March",
        "Ik ben afwezig tot en met 8 maart",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    assert kind(make_mail(subject=subject)) is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Re: question about absence policy",
        "Absence policy for the summer",
        "Absence of invoices in the client portal",
        "Out of office hours support needed: site down",
        "Automatic reply emails are not sent by the platform",
        "Fwd: Automatic reply: Login page",
        "Re: Out of office",
        "Afwezigheidsregistratie werkt niet",
        "Abwesenheitskalender zeigt falsche Tage",
    ],
)
def test_people_writing_about_absence_are_not_auto_replies(subject: str) -> None:
    assert kind(make_mail(subject=subject)) is Kind.NORMAL


# --------------------------------------------------------------------------
# mailing_list (MAILING_LIST)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        (("list-id", "Users of the platform <users.lists.example.org>"),),
        (("list-unsubscribe", "<mailto:unsubscribe@news.example.org>"),),
        (("precedence", "list"),),
        # a newsletter marked bulk is list traffic, not an auto-reply
        (("precedence", "bulk"), ("list-unsubscribe", "<https://news.example.org/u>")),
    ],
)
def test_list_traffic(headers: tuple[tuple[str, str], ...]) -> None:
    verdict = classify(make_mail(headers=headers), CTX)
    assert verdict.kind is Kind.MAILING_LIST
    assert verdict.rule == mailing_list.NAME


def test_list_headers_added_by_our_own_support_group_are_ignored() -> None:
    ctx = RuleContext(
        CTX.own_addresses,
        CTX.own_message_id_domains,
        CTX.loop_token,
        CTX.max_message_bytes,
        own_list_ids=frozenset({"support.helpdesk.example.com"}),
    )
    mail = make_mail(
        headers=(
            ("list-id", "<support.helpdesk.example.com>"),
            ("list-unsubscribe", "<mailto:support+unsubscribe@helpdesk.example.com>"),
            ("precedence", "list"),
        )
    )
    assert kind(mail, ctx) is Kind.NORMAL
    assert kind(mail) is Kind.MAILING_LIST


def test_list_id_reads_the_bracketed_identifier() -> None:
    assert mailing_list.list_id("Users <Users.Lists.Example.org>") == "users.lists.example.org"
    assert mailing_list.list_id(" users.lists.example.org ") == "users.lists.example.org"


def test_an_auto_reply_from_a_list_member_is_an_auto_reply() -> None:
    mail = make_mail(headers=(("auto-submitted", "auto-replied"), ("list-id", "<x.example>")))
    assert kind(mail) is Kind.AUTO_REPLY


# --------------------------------------------------------------------------
# too_large (TOO_LARGE)
# --------------------------------------------------------------------------


def test_a_mail_over_the_limit_is_too_large() -> None:
    verdict = classify(make_mail(size=CTX.max_message_bytes + 1), CTX)
    assert (verdict.kind, verdict.rule) == (Kind.TOO_LARGE, too_large.NAME)


def test_a_mail_at_the_limit_is_fine() -> None:
    assert kind(make_mail(size=CTX.max_message_bytes)) is Kind.NORMAL


def test_a_zero_limit_means_no_limit() -> None:
    ctx = RuleContext(CTX.own_addresses, CTX.own_message_id_domains, CTX.loop_token, 0)
    assert kind(make_mail(size=10**9), ctx) is Kind.NORMAL


# --------------------------------------------------------------------------
# Bounces that are not multipart/report: mail servers and gateways in plain text
# --------------------------------------------------------------------------

_GATEWAY_BOUNCE_TEXT = (
    "Your message could not be delivered to the following recipient:\n"
    "  it@client.example.org\n550 5.1.1 user unknown\n"
)


@pytest.mark.parametrize(
    ("sender", "subject", "envelope"),
    [
        ("MDaemon@mail.client.example.org", "Permanent Delivery Failure", None),
        ("mdaemon@mail.client.example.org", "Warning: Temporary Delivery Failure", ""),
        ("antivirus@gw.client.example.org", "Mail could not be delivered", None),
        ("mailscanner@gw.client.example.org", "Delivery failure notification", None),
        ("postmaster@client.example.org", "Returned mail: see transcript for details", None),
        ("postmaster@client.example.org", "Non-Delivery Report", None),
        ("sysadmin@client.example.org", "Undeliverable: Login page shows an error", ""),
        ("Mail.Gateway@client.example.org", "Delivery failure notification", ""),
    ],
)
def test_plain_text_bounces_of_servers_and_gateways(
    sender: str, subject: str, envelope: str | None
) -> None:
    """A gateway's own address, or ``MAIL FROM:<>`` over LMTP, with a bounce subject."""
    mail = make_mail(sender=sender.lower(), subject=subject, text=_GATEWAY_BOUNCE_TEXT)
    mail = replace(mail, envelope_sender=envelope)
    assert classify(mail, CTX).kind is Kind.BOUNCE


@pytest.mark.parametrize(
    ("sender", "subject", "envelope"),
    [
        # People writing about bounces, or forwarding one, from their own address.
        ("it@client.example.org", "Undeliverable mail to your domain", "it@client.example.org"),
        ("it@client.example.org", "Fwd: Returned mail: see transcript", "it@client.example.org"),
        ("it@client.example.org", "Mail could not be delivered?", None),
        # A postmaster is a person too when the subject is theirs.
        ("postmaster@client.example.org", "Question about your SPF record", None),
        # A gateway's notice that is no bounce subject stays with the other rules.
        ("antivirus@gw.client.example.org", "Weekly quarantine summary", None),
    ],
)
def test_no_bounce_without_both_halves(sender: str, subject: str, envelope: str | None) -> None:
    mail = make_mail(sender=sender, subject=subject, text="Hello, can you look at this?")
    mail = replace(mail, envelope_sender=envelope)
    assert classify(mail, CTX).kind is not Kind.BOUNCE
