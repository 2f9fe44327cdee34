"""ARF feedback report: a mailbox provider says a recipient marked our mail as spam.

An RFC 5965 report (``multipart/report; report-type=feedback-report``) is not a
delivery failure (the mail was delivered, then complained about) and is never
answered: it is kept for the operator, who may want to stop mailing that
address. It is checked before the bounce rule because feedback loops often
send from postmaster-like addresses with a null Return-Path, which the bounce
rule would otherwise claim.

Only the standard format is recognised. Provider-specific complaint mails that
are not ARF (an old Hotmail ``multipart/mixed`` complaint, an SNS JSON
notification) stay with the other rules.
"""

from __future__ import annotations

from maildesk.ingest.rules import RuleContext
from maildesk.ingest.rules._common import report_type
from maildesk.mail.parse import InboundMail

NAME = "feedback_report"
DESCRIPTION = "An abuse/complaint feedback report (ARF) about mail we sent"


def check(mail: InboundMail, ctx: RuleContext) -> bool:
    return report_type(mail) == "feedback-report"
