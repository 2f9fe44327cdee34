"""The organisational domain of a mail domain (DMARC, RFC 7489 3.2), from the Public Suffix List.

This module alone imports ``publicsuffixlist``. It reads the list bundled with
the package (updated with each release) and never fetches one over the
network: the daemon must decide the same way offline, and a list that changes
under a running process would change who is authenticated.
"""

from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList


@functools.cache
def _psl() -> PublicSuffixList:
    # Unknown TLDs (``.example``, ``.test``, a company's internal one) count as
    # one-label public suffixes, as DMARC implementations treat them.
    return PublicSuffixList(accept_unknown=True)


def organisational_domain(domain: str) -> str:
    """``mail.acme.co.uk`` -> ``acme.co.uk``; "" for a public suffix itself or no domain."""
    name = domain.strip().strip(".").lower()
    if not name:
        return ""
    found = _psl().privatesuffix(name)
    return str(found) if found else ""


def aligned(domain: str, from_domain: str) -> bool:
    """DMARC relaxed alignment: ``domain`` is ``from_domain`` or a parent of it below its
    public suffix (``acme.example`` aligns with ``it.acme.example``, ``example`` never does).
    """
    domain, from_domain = domain.strip().strip(".").lower(), from_domain.strip().strip(".").lower()
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return True
    org = organisational_domain(from_domain)
    under_org = domain == org or domain.endswith("." + org)
    return bool(org) and under_org and from_domain.endswith("." + domain)
