"""Authentication-Results (RFC 8601): read the header, and decide whether a From is vouched for.

Anyone can write an ``Authentication-Results`` header into a mail, with our
authserv-id in it. So a result counts only when our own receiving server
added it, which is read from where it sits (``our_results``): at the top,
above any ``Received`` header but our own MX's (headers are prepended on the
way, so anything below a foreign ``Received`` came with the mail), and for
each method only the topmost header that reports it. Position cannot tell a
forged header that a sender put at the very top of its mail from one a milter
added just below our MX's ``Received``: the MTA must strip inbound headers
carrying our authserv-id (README, "The MTA side"), and this is the second line
of defence.

A passing result authenticates the From only when it is *aligned* with the
From's domain (DMARC, RFC 7489 3.1): DMARC ``pass`` for that domain (or its
organisational domain), or DKIM ``pass`` whose signing domain ``header.d``
is the From domain or a parent of it under the public suffix. SPF alone
never is: it vouches for the envelope sender, which the From need not share.
An explicit DMARC ``fail`` for the From domain wins over any DKIM pass.

The reader is lenient, because real headers are not all RFC 8601: comments
anywhere (nested, with quoted strings), folding, ``key = value`` with
spaces, several results per header, a missing authserv-id (Microsoft 365
writes none), Yahoo's old ``from=`` clauses, truncated values. What it cannot
read is skipped; it never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from maildesk.mail.orgdomain import aligned, organisational_domain


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` clause with its reason and properties (``header.d`` ...)."""

    method: str
    result: str
    reason: str = ""
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, name: str) -> str:
        """The value of property ``name`` (``header.from``), lower-cased keys, or ""."""
        wanted = name.lower()
        return next((value for key, value in self.properties if key == wanted), "")


@dataclass(frozen=True)
class AuthResults:
    """One header: who wrote it (authserv-id, "" when absent) and its results."""

    authserv_id: str
    version: str = ""
    results: tuple[MethodResult, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """Whether our server's results vouch for the From domain, and why, for events."""

    authenticated: bool
    reason: str
    results: tuple[MethodResult, ...] = field(default=())


# --------------------------------------------------------------------------
# Reading one header
# --------------------------------------------------------------------------


def _strip_comments(value: str) -> str:
    """``value`` with (nested) comments replaced by a space; quoted strings kept whole."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            out.append(ch)
            quoted = ch != '"'
            continue
        if ch == "(":
            depth += 1
            continue
        if ch == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
            continue
        if depth:
            continue
        if ch == '"':
            quoted = True
        out.append(ch)
    return "".join(out)


def _split_outside_quotes(value: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


_TOKEN = re.compile(r'(?:[^\s"]|"(?:[^"\\]|\\.)*"?)+')
_SPACED_EQUALS = re.compile(r"\s*=\s*")
_SPACED_DOT = re.compile(r"(?<=[A-Za-z0-9])\s*\.\s*(?=[A-Za-z])")
_METHOD = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[0-9]+)?")


def _unquote(value: str) -> str:
    if value.startswith('"'):
        value = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
        return re.sub(r"\\(.)", r"\1", value)
    return value


def _resinfo(text: str) -> MethodResult | None:
    """One ``method=result [reason=...] [ptype.property=value ...]`` clause, or None."""
    tokens = _TOKEN.findall(_SPACED_EQUALS.sub("=", text.strip()))
    if not tokens or "=" not in tokens[0]:
        return None
    method, _, result = tokens[0].partition("=")
    method = method.lower()
    if not _METHOD.fullmatch(method) or not result:
        return None
    reason = ""
    props: list[tuple[str, str]] = []
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        if not eq:
            continue
        key = _SPACED_DOT.sub(".", key).lower()
        if key == "reason":
            reason = _unquote(value)
        else:
            props.append((key, _unquote(value)))
    return MethodResult(method.split("/", 1)[0], _unquote(result).lower(), reason, tuple(props))


def parse_header(value: str) -> AuthResults:
    """Read one ``Authentication-Results`` value (folded or not); never raises."""
    text = _strip_comments(value.replace("\r", " ").replace("\n", " "))
    text = _SPACED_DOT.sub(".", text)
    clauses = _split_outside_quotes(text, ";")
    head = clauses[0].split()
    authserv_id = version = ""
    rest = clauses[1:]
    if head and "=" in head[0]:
        # No authserv-id (Microsoft 365): the first clause is already a result.
        rest = clauses
    elif head:
        authserv_id = _unquote(head[0]).lower()
        if len(head) > 1 and head[1].isdigit():
            version = head[1]
    results = tuple(found for clause in rest if (found := _resinfo(clause)) is not None)
    return AuthResults(authserv_id, version, results)


# --------------------------------------------------------------------------
# Which headers are ours
# --------------------------------------------------------------------------

_WITH = re.compile(r"\bwith\s+([A-Za-z0-9-]+)", re.IGNORECASE)
_FROM_LOCAL = re.compile(
    r"^\s*from\s+(?:localhost\b|[^\s(]{0,255}\s*\([^)]{0,255}\[(?:127\.0\.0\.1|::1)\])", re.I
)
#: Protocols of the delivery hop into the mailbox, written after our MTA's checks.
_DELIVERY_HOPS = frozenset({"lmtp", "lmtps", "lmtpa", "lmtpsa", "local"})


def _delivery_hop(received: str) -> bool:
    """Dovecot's or Cyrus's ``Received ... with LMTP`` (or local delivery), above our checks."""
    match = _WITH.search(_strip_comments(received))
    return match is not None and match.group(1).lower() in _DELIVERY_HOPS


def _reinjection(received: str) -> bool:
    """A content filter handing the mail back to our MTA (``from localhost``, amavis)."""
    return _FROM_LOCAL.search(received) is not None


def our_results(headers: Iterable[tuple[str, str]], authserv_id: str) -> tuple[AuthResults, ...]:
    """Our server's ``Authentication-Results`` headers: those with ``authserv_id`` at the top.

    ``headers`` are (lower-case name, value) pairs in the mail's order. From
    the top, the delivery hop into the mailbox and a content filter's
    re-injection are passed over; the next ``Received`` is our MX's own. Our
    headers are those above it or, when there are none above it, those
    directly below it (Postfix shows its milters the mail below its own
    ``Received``, so OpenDKIM's, OpenDMARC's and rspamd's land there), up to
    the next ``Received``: everything below that came with the mail. An
    empty ``authserv_id`` matches nothing.
    """
    wanted = authserv_id.strip().lower()
    if not wanted:
        return ()
    found: list[AuthResults] = []
    past_mx = False
    for name, value in headers:
        if name == "received":
            if not past_mx and (_delivery_hop(value) or _reinjection(value)):
                continue
            if found or past_mx:
                break
            past_mx = True
            continue
        if name == "authentication-results":
            parsed = parse_header(value)
            if parsed.authserv_id == wanted:
                found.append(parsed)
    return tuple(found)


# --------------------------------------------------------------------------
# Alignment with the From domain
# --------------------------------------------------------------------------


def _domain(value: str) -> str:
    """The domain of ``header.from``/``header.d``/``header.i`` values (``@d``, ``a@d``, ``d``)."""
    return value.strip().strip("<>").rpartition("@")[2].strip().strip(".").lower()


def _dmarc_for(result: MethodResult, from_domain: str) -> bool:
    domain = _domain(result.prop("header.from"))
    return bool(domain) and (
        domain == from_domain or domain == organisational_domain(from_domain) != ""
    )


def _dkim_domain(result: MethodResult) -> str:
    return _domain(result.prop("header.d") or result.prop("header.i"))


def _topmost_per_method(results: Sequence[AuthResults]) -> tuple[MethodResult, ...]:
    """Each method's results from the topmost header that reports it.

    Our milters prepend their headers; one the mail brought along sits below
    them. So where our server reported DKIM or DMARC, a lower header's word on
    the same method is not ours.
    """
    taken: list[MethodResult] = []
    seen: set[str] = set()
    for header in results:
        methods = {r.method for r in header.results}
        taken.extend(r for r in header.results if r.method not in seen)
        seen |= methods
    return tuple(taken)


def verdict(results: Sequence[AuthResults], from_domain: str) -> Verdict:
    """Whether ``results`` (our server's, see ``our_results``) authenticate ``from_domain``.

    DMARC decides when it says ``pass`` or ``fail`` for the From domain;
    otherwise (no DMARC record: ``none``, or no DMARC checker) an aligned
    DKIM ``pass`` does.
    """
    domain = from_domain.strip().lower()
    flat = _topmost_per_method(results)
    if not results:
        return Verdict(False, "no Authentication-Results from our receiving server")
    if not domain:
        return Verdict(False, "the From has no domain", flat)
    dmarc = [r for r in flat if r.method == "dmarc" and _dmarc_for(r, domain)]
    if any(r.result == "fail" for r in dmarc):
        return Verdict(False, f"dmarc=fail for {domain}", flat)
    if any(r.result == "pass" for r in dmarc):
        return Verdict(True, f"dmarc=pass for {domain}", flat)
    for r in flat:
        if r.method == "dkim" and r.result == "pass" and aligned(_dkim_domain(r), domain):
            return Verdict(True, f"dkim=pass aligned with {domain} (d={_dkim_domain(r)})", flat)
    return Verdict(False, f"no pass aligned with {domain}", flat)


def authenticate(headers: Iterable[tuple[str, str]], authserv_id: str, address: str) -> Verdict:
    """Our server's verdict on the From ``address`` of a mail with ``headers``."""
    return verdict(our_results(headers, authserv_id), address.rpartition("@")[2])
