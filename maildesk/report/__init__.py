"""The monthly service report: how well a client's contract was kept, from the SLA and the ledger.

It sits above ``sla/`` and ``billing/`` because it reads both; ``web/`` and the CLI show it.
"""
