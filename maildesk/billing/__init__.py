"""Rules of money: the ledger of prepaid hours, contracts, quotes, notices and statements.

The entry points the staff-reply path and the scheduler call, one call each:

- :func:`~maildesk.billing.work.record_work` — book one ``#time`` line;
- :func:`~maildesk.billing.quotes.create_quote` / :func:`~maildesk.billing.quotes.answer_quote`;
- :func:`~maildesk.billing.approval.request_approval` /
  :func:`~maildesk.billing.approval.answer_approval`;
- :func:`~maildesk.billing.ledger.topup`, :func:`~maildesk.billing.ledger.balance`,
  :func:`~maildesk.billing.ledger.grant_starter_hours` (at start-up);
- :func:`~maildesk.billing.weekly.send_weekly_statements` (scheduled).
"""
