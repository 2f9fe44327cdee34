"""Bounce: a mail system reports on the delivery of mail we sent.

A bounce must never be answered (the answer would bounce too, or reach a
postmaster) and it tells us something: which of our mails did not arrive, and
which address is failing. ``check`` decides *that* a mail is a bounce from its
headers (and the start of its text); ``maildesk.mail.dsn.bounce_details`` then
reads the raw mail for *what* it reports.

Signals, each enough on its own:

- a standard DSN: ``multipart/report; report-type=delivery-status`` (RFC 3464);
- Exim's ``X-Failed-Recipients`` header;
- a daemon sender: ``MAILER-DAEMON@``, or the display name "Mail Delivery
  System/Subsystem", which no person uses;
- a DSN-like subject ("Undelivered Mail Returned to Sender", "Delivery Status
  Notification (Failure)", "failure notice", "Undeliverable:", ...) on a mail
  that shows a machine sent it: a null reverse-path (``Return-Path: <>``,
  or ``MAIL FROM:<>`` over LMTP), ``Auto-Submitted``, an empty From, or a
  ``postmaster@``/``no-reply@`` sender or a mail gateway's own address
  (``MDaemon@``, ``antivirus@``, ``mailscanner@`` ...);
- for the gateways with subjects of their own (Exchange 2003's "E", a
  carrier's "Mail", Japanese subjects): bounce wording at the start of the
  text ("could not be delivered to", "did not reach the following
  recipient(s)", an SMTP reply such as "550 5.1.1") from an empty,
  ``postmaster@`` or ``no-reply@`` sender. A null Return-Path or
  Auto-Submitted is not enough here: out-of-office replies carry both
  (RFC 3834), and one that quotes a client's "user unknown" is no bounce.

No half is enough alone. A client may well write "Re: my mails to you
bounce", or forward a bounce to support ("Fwd: Returned mail"): from a person,
that is a request. And postmasters are people too: a postmaster writing to
support about a problem in their own words is an ordinary request.

Classification covers every delivery report, including the rare *successful*
DSN (``Action: delivered`` or ``relayed``, e.g. an Exchange "Delivered:"
receipt) and delay warnings (``Action: delayed``): none is answered. Whether a
recipient really failed is per recipient in ``bounce_details`` (see
``BouncedRecipient.failed``); a successful or delayed report marks nothing as
failing.
"""

from __future__ import annotations

import re

from maildesk.ingest.rules import RuleContext
from maildesk.ingest.rules._common import (
    auto_submitted,
    local_part,
    null_reverse_path,
    report_type,
)
from maildesk.mail.parse import InboundMail

NAME = "bounce"
DESCRIPTION = "A delivery status report (bounce/DSN) from a mail system about mail we sent"

_DAEMON_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "maildaemon", "mail-daemon"}
)
_DAEMON_NAMES = re.compile(
    r"^\s*(mail delivery (sub)?system|mailer[-_ ]?daemon|mail administrator)\b", re.IGNORECASE
)

# Anchored at the start (after an optional "[tag]" some MTAs put first), in the
# languages our providers' clients write in plus the big providers' wording.
_DSN_SUBJECT = re.compile(
    r"""^\s*(\[[^\]]*\]\s*)?(
        undeliver(ed|able)
        |non[- ]?deliver(ed|able|y)
        |delivery\s+(status|failure|notification|report|has\s+failed)
        |(permanent\s+|email\s+|message\s+)?delivery\s+failure
        |mail\s+delivery\s+(failed|failure|status|subsystem)
        |(message|mail)\s+(delivery\s+has\s+failed|could\s+not\s+be\s+delivered|not\s+delivered)
        |failure\s+(notice|delivery)
        |failed\s+delivery
        |mail\s+failed
        |mail\s+failure
        |returned\s+mail
        |mail\s+system\s+error
        |postmaster\s+notify
        |notice:\s+mail\s+delivery\s+status
        |warning(:|--)\s*(could\s+not\s+send|message\s+.*\s+delayed)
        |delayed\s+mail
        |sorry,\s+your\s+message\s+could\s+not\s+be\s+delivered
        |there\s+was\s+an\s+error\s+sending\s+your\s+mail
        |unzustellbar|nicht\s+zustellbar|benachrichtigung\s+zum\s+(ü|ue)bermittlungsstatus
        |onbestelbaar|niet\s+bezorgd|onbestelbare|kan\s+niet\s+worden\s+bezorgd
        |non\s+remis|non\s+distribu|notification\s+d.(é|e)tat\s+de\s+(remise|distribution)
        |[ée]chec\s+de\s+(la\s+)?(remise|distribution)
        |non\s+recapitabile
    )""",
    re.IGNORECASE | re.VERBOSE,
)


# Bounce wording near the start of the text, for gateways with their own
# subjects (Exchange 2003 "E", a carrier's "Mail", Japanese subjects).
_DSN_TEXT = re.compile(
    r"""(
        could\s+not\s+be\s+delivered|couldn.t\s+be\s+delivered|was\s+not\s+delivered
        |did\s+not\s+reach\s+the\s+following|undeliverable|undelivered
        |delivery\s+(to\s+the\s+following\s+recipients?\s+)?(has\s+)?failed
        |permanent(ly)?\s+(fatal\s+)?(error|failure)|user\s+unknown|unknown\s+user
        |no\s+such\s+user|invalid\s+(user|recipient|mailbox)(\s+address)?
        |recipient\s+address\s+rejected|mailbox\s+(is\s+)?(full|unavailable)
        |\b[45]\d\d[\s-]+[45]\.\d{1,3}\.\d{1,3}\b
        |\b[45]\d\d\s+-\s+requested\s+action\s+not\s+taken
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_TEXT_WINDOW = 1500
#: Mail servers and gateways that bounce in plain text under an address of their own:
#: MDaemon, and the antivirus/content gateways in front of a mail server.
_GATEWAY_LOCAL_PARTS = frozenset(
    {
        "mdaemon",
        "antivirus",
        "anti-virus",
        "virusalert",
        "virus-alert",
        "viruswall",
        "mailscanner",
        "amavis",
        "amavisd",
        "avgate",
        "scanmail",
        "interscan",
        "mailsweeper",
        "mailmarshal",
    }
)
_MACHINE_LOCAL_PARTS = (
    _DAEMON_LOCAL_PARTS
    | _GATEWAY_LOCAL_PARTS
    | {
        "postmaster",
        "post_master",
        "no-reply",
        "noreply",
        "do-not-reply",
        "donotreply",
    }
)


def _machine_sender(mail: InboundMail) -> bool:
    """An empty From, or a postmaster/no-reply/mail-gateway address."""
    return mail.sender == "" or local_part(mail.sender) in _MACHINE_LOCAL_PARTS


def _machine_sent(mail: InboundMail) -> bool:
    """A machine sender, a null reverse-path, or RFC 3834 Auto-Submitted.

    The null reverse-path is read from the envelope too (``MAIL FROM:<>`` over
    LMTP, where no ``Return-Path`` header has been written yet).
    """
    return _machine_sender(mail) or null_reverse_path(mail) or auto_submitted(mail)


def check(mail: InboundMail, ctx: RuleContext) -> bool:
    return (
        report_type(mail) == "delivery-status"
        or mail.header("x-failed-recipients") is not None
        or local_part(mail.sender) in _DAEMON_LOCAL_PARTS
        or _DAEMON_NAMES.search(mail.sender_name) is not None
        or (_machine_sent(mail) and _DSN_SUBJECT.search(mail.subject) is not None)
        or (_machine_sender(mail) and _DSN_TEXT.search(mail.text[:_TEXT_WINDOW]) is not None)
    )
