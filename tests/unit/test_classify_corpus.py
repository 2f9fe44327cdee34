"""Classification on the shared real-world corpus: bounces, auto-replies, negatives.

The sisimai set is the reference for bounces: 629 real DSNs and non-standard
bounces from ~80 mail systems, with sisimai's expected reason per file
(``expected-results.tsv``). Every sample is asserted on its own (one test per
file, id = its path), so a regression names the mail. The few samples that no
header or content rule can recognise are listed below with the reason, as
strict xfails; the few where maildesk deliberately decides otherwise than
sisimai are listed with the kind it gives and why.

Mails that ``parse`` rejects (``UnparseableMail``, quarantined by the
pipeline) cannot be classified: they are skipped one by one and counted in
``test_sisimai_figures``. ``bounce_details`` reads raw bytes and is measured on
every sample regardless.
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from maildesk.ingest.classify import Kind, RuleContext, classify, explain
from maildesk.mail.dsn import bounce_details
from maildesk.mail.parse import InboundMail, UnparseableMail, parse
from tests.corpus import corpus_dir, corpus_path_or_none, message_files

pytestmark = pytest.mark.corpus

CTX = RuleContext(
    own_addresses=frozenset({"support@helpdesk.example.com"}),
    own_message_id_domains=frozenset({"helpdesk.example.com"}),
    loop_token="instance-7f3a",
    max_message_bytes=50_000_000,
)

SISIMAI = "sisimai-set-of-emails"
BSD = f"{SISIMAI}/maildir/bsd"
NOT = f"{SISIMAI}/maildir/not"

# sisimai reasons that are not delivery failures.
_REASON_KIND = {"vacation": Kind.AUTO_REPLY, "feedback": Kind.FEEDBACK}
_NOT_FAILURES = frozenset({"vacation", "feedback", "delivered"})

# Where maildesk decides otherwise than sisimai, on purpose: file -> (kind, why).
DELIBERATE: dict[str, tuple[Kind, str]] = {
    f"{BSD}/lhost-sendmail-14.eml": (
        Kind.NORMAL,
        "a person forwarding a bounce to us ('Fwd: Returned mail'): that is a request",
    ),
    f"{BSD}/lhost-fml-02.eml": (
        Kind.MAILING_LIST,
        "an fml list manager's 'you are not a member' notice, with list headers",
    ),
    f"{BSD}/arf-26.eml": (
        Kind.AUTO_REPLY,
        "an Auto-Submitted 'unsubscribe' mail to an opt-out address, not an ARF report",
    ),
    f"{NOT}/rb-issue-368-bug.eml": (
        Kind.BOUNCE,
        "a real bounce (postmaster@, Return-Path <>, 'rejected ... Mailbox full') that"
        " sisimai keeps in not/ because its format is not parsed there",
    ),
}

# No header or content rule can tell these apart from a person's mail: file -> why.
UNCLASSIFIABLE: dict[str, str] = {
    f"{BSD}/lhost-amazonses-11.eml": "Amazon SNS JSON complaint notification, not ARF",
    f"{BSD}/lhost-amazonses-12.eml": "Amazon SNS JSON delivery notification: only JSON says so",
    f"{BSD}/lhost-amazonses-13.eml": "Amazon SNS JSON delivery notification: only JSON says so",
    f"{BSD}/arf-22.eml": "old Hotmail complaint as multipart/mixed from staff@, not ARF",
    f"{BSD}/arf-23.eml": "old Hotmail complaint as multipart/mixed from staff@, not ARF",
    f"{BSD}/arf-24.eml": "old Hotmail complaint as multipart/mixed from staff@, not ARF",
    f"{BSD}/lhost-fml-03.eml": (
        "fml 'Loop Alert' from listname-admin@, no list or automatic header: a '-admin'"
        " sender cannot be told from a client's IT admin"
    ),
}

ROOT = corpus_path_or_none()


def _read_tsv(name: str) -> list[dict[str, str]]:
    if ROOT is None or not (ROOT / name).is_file():
        return []
    with (ROOT / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _expected() -> dict[str, list[dict[str, str]]]:
    """sisimai's expected rows per corpus-relative file (one row per recipient)."""
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read_tsv(f"{SISIMAI}/expected-results.tsv"):
        rows[f"{SISIMAI}/{row['file']}"].append(row)
    return dict(rows)


EXPECTED = _expected()
DUPLICATES = frozenset(row["path"] for row in _read_tsv("DUPLICATES.tsv"))
INDEX = {row["path"]: row for row in _read_tsv("INDEX.tsv")}


def _rel(path: Path) -> str:
    assert ROOT is not None
    return path.relative_to(ROOT).as_posix()


def expected_kind(rel: str) -> Kind:
    """The kind maildesk must give: sisimai's, unless we decided otherwise on purpose."""
    return DELIBERATE[rel][0] if rel in DELIBERATE else sisimai_kind(rel)


def sisimai_kind(rel: str) -> Kind:
    """What sisimai's table (or, for the 43 newer files without a row, the file name) says."""
    if rel.startswith(NOT):
        return Kind.NORMAL
    rows = EXPECTED.get(rel)
    if rows:
        return _REASON_KIND.get(rows[0]["reason"], Kind.BOUNCE)
    name = rel.rsplit("/", 1)[-1]
    return {"arf": Kind.FEEDBACK, "rfc3834": Kind.AUTO_REPLY}.get(name.split("-")[0], Kind.BOUNCE)


@functools.cache
def parsed(rel: str) -> InboundMail | str:
    """The parsed mail, or the UnparseableMail reason."""
    assert ROOT is not None
    try:
        return parse((ROOT / rel).read_bytes())
    except UnparseableMail as exc:
        return exc.reason


def _params(paths: list[str]) -> list[object]:
    if ROOT is None:
        return [pytest.param(None, id="corpus-missing")]
    return [
        pytest.param(
            rel,
            id=rel,
            marks=[pytest.mark.xfail(reason=UNCLASSIFIABLE[rel], strict=True)]
            if rel in UNCLASSIFIABLE
            else [],
        )
        for rel in paths
    ]


def _sisimai_files() -> list[str]:
    if ROOT is None:
        return []
    return [_rel(p) for p in message_files(BSD, NOT)]


def _other_dsns() -> list[str]:
    return sorted(
        path
        for path, row in INDEX.items()
        if row["kind"] == "message"
        and not path.startswith(SISIMAI)
        and "report=delivery-status" in row["signals"]
    )


def _classified(rel: str | None) -> InboundMail:
    if rel is None:
        corpus_dir()  # skips, or fails under MAILDESK_REQUIRE_CORPUS=1
        raise AssertionError("unreachable")
    mail = parsed(rel)
    if isinstance(mail, str):
        pytest.skip(f"UnparseableMail ({mail}); counted in test_sisimai_figures")
    return mail


# --------------------------------------------------------------------------
# Per file
# --------------------------------------------------------------------------


@pytest.mark.parametrize("rel", _params(_sisimai_files()))
def test_sisimai_sample(rel: str | None) -> None:
    mail = _classified(rel)
    assert rel is not None
    verdict = classify(mail, CTX)
    assert verdict.kind is expected_kind(rel), (verdict, EXPECTED.get(rel, [{}])[0].get("reason"))


@pytest.mark.parametrize("rel", _params(_other_dsns()))
def test_other_sources_dsns_are_bounces(rel: str | None) -> None:
    """zammad, flanker, enmime, ruby-mail, OTRS, RT: every ``report=delivery-status`` mail."""
    mail = _classified(rel)
    assert classify(mail, CTX).kind is Kind.BOUNCE


# --------------------------------------------------------------------------
# Figures and floors
# --------------------------------------------------------------------------


def test_sisimai_figures() -> None:
    """Recall per sisimai kind over the distinct samples; unparseable ones counted apart.

    Scored against sisimai's own verdict, so the deliberate exceptions and the
    unclassifiable samples above count as misses here.
    """
    corpus_dir()
    hit: Counter[Kind] = Counter()
    total: Counter[Kind] = Counter()
    unparseable: Counter[Kind] = Counter()
    for rel in _sisimai_files():
        if rel in DUPLICATES:
            continue
        want = sisimai_kind(rel)
        mail = parsed(rel)
        if isinstance(mail, str):
            unparseable[want] += 1
            continue
        total[want] += 1
        hit[want] += classify(mail, CTX).kind is want
    figures = {k.value: (hit[k], total[k], unparseable[k]) for k in total | unparseable}
    print("\nsisimai (as sisimai, parsed, unparseable) per kind:", figures)
    assert hit[Kind.BOUNCE] / total[Kind.BOUNCE] >= 0.98, figures
    assert unparseable[Kind.BOUNCE] <= 0.1 * (total[Kind.BOUNCE] + unparseable[Kind.BOUNCE])
    assert hit[Kind.AUTO_REPLY] == total[Kind.AUTO_REPLY] == 6, figures
    assert hit[Kind.FEEDBACK] >= 13, figures
    assert total[Kind.NORMAL] == 3 and hit[Kind.NORMAL] == 2, figures  # see DELIBERATE


_RETURN_PATH = re.compile(rb"(?mi)^Return-Path:[^\n]*\n(?:[ \t][^\n]*\n)*")


def test_sisimai_bounces_as_they_arrive_over_lmtp() -> None:
    """Over LMTP no ``Return-Path`` has been written yet: the null reverse-path is
    ``MAIL FROM:<>`` (RFC 5321 4.5.5: every bounce is sent with it). Recall must
    hold with the envelope as the only sign of it."""
    root = corpus_dir()
    hit = total = 0
    for rel in _sisimai_files():
        if rel in DUPLICATES or sisimai_kind(rel) is not Kind.BOUNCE:
            continue
        try:
            mail = parse(_RETURN_PATH.sub(b"", (root / rel).read_bytes()))
        except UnparseableMail:
            continue
        total += 1
        hit += classify(replace(mail, envelope_sender=""), CTX).kind is Kind.BOUNCE
    print(f"\nsisimai bounces over LMTP (no Return-Path, MAIL FROM:<>): {hit}/{total}")
    assert total > 500
    assert hit / total >= 0.99


def test_no_ordinary_mail_is_a_bounce() -> None:
    """Outside sisimai, only mails that carry a bounce's own signs may be bounces.

    The signs are INDEX.tsv's, computed apart from maildesk: a delivery-status
    report, or a MAILER-DAEMON/postmaster sender. Every other message, whether
    over IMAP (as stored) or over LMTP from its own From as envelope sender,
    must not be classified a bounce.
    """
    corpus_dir()
    ordinary = wrong = 0
    for path, row in INDEX.items():
        if row["kind"] != "message" or path.startswith(SISIMAI) or path in DUPLICATES:
            continue
        if "report=delivery-status" in row["signals"] or "from-daemon" in row["signals"]:
            continue
        mail = parsed(path)
        if isinstance(mail, str):
            continue
        ordinary += 1
        for variant in (mail, replace(mail, envelope_sender=mail.sender)):
            wrong += classify(variant, CTX).kind is Kind.BOUNCE
    print(f"\nordinary corpus mails: {ordinary}; classified as bounces: {wrong}")
    assert ordinary > 300
    assert wrong == 0


def test_the_six_rfc3834_auto_replies() -> None:
    corpus_dir()
    names = [rel for rel in _sisimai_files() if rel.rsplit("/", 1)[-1].startswith("rfc3834-")]
    assert len(names) == 6
    kinds = {rel: classify(m, CTX).kind for rel in names if not isinstance(m := parsed(rel), str)}
    assert kinds == dict.fromkeys(names, Kind.AUTO_REPLY)


def test_line_ending_copies_classify_like_the_originals() -> None:
    """sisimai's dos/ (CRLF) and mac/ (CR-only) copies of bsd/ samples."""
    root = corpus_dir()
    differ = []
    for folder in ("dos", "mac"):
        for copy in message_files(f"{SISIMAI}/maildir/{folder}"):
            original = f"{BSD}/{copy.name}"
            if not (root / original).is_file():
                continue
            got, want = parsed(_rel(copy)), parsed(original)
            got_kind = got if isinstance(got, str) else classify(got, CTX).kind
            want_kind = want if isinstance(want, str) else classify(want, CTX).kind
            if got_kind != want_kind:
                differ.append((_rel(copy), got_kind, want_kind))
    assert differ == []


def test_no_false_alarms_on_mail_from_people() -> None:
    """Corpus mails with no automatic-mail signal at all must not be held back."""
    corpus_dir()
    automatic = ("report=", "auto-submitted", "x-auto", "precedence", "autoreply", "from-daemon")
    wrong = []
    checked = 0
    for path, row in INDEX.items():
        if row["kind"] != "message" or path.startswith(SISIMAI) or path in DUPLICATES:
            continue
        if any(signal in row["signals"] for signal in automatic):
            continue
        mail = parsed(path)
        if isinstance(mail, str):
            continue
        checked += 1
        verdict = classify(mail, CTX)
        if verdict.kind not in (Kind.NORMAL, Kind.MAILING_LIST):
            wrong.append((path, verdict.kind, verdict.rule))
    print(f"\nfalse alarms on {checked} mails from people: {len(wrong)}")
    assert checked > 300
    assert wrong == []


def test_known_automatic_mail_in_other_sources() -> None:
    corpus_dir()
    cases = {
        "flanker/messages/complaints/aol.eml": Kind.FEEDBACK,
        "flanker/messages/complaints/yahoo.eml": Kind.FEEDBACK,
        "flanker/messages/disposition-notification.eml": Kind.AUTO_REPLY,
        "zammad/mail/mail089.box": Kind.AUTO_REPLY,  # ServiceNow notification
        "zammad/mail/mail043.box": Kind.MAILING_LIST,  # newsletter: bulk + List-Unsubscribe
        "zammad/mail/mail052.box": Kind.BOUNCE,  # non-DSN Postfix bounce
        "flanker/messages/bounce/gmail-invalid-address.eml": Kind.BOUNCE,
    }
    got = {}
    for rel in cases:
        mail = parsed(rel)
        got[rel] = mail if isinstance(mail, str) else classify(mail, CTX).kind
    assert got == cases


def test_bounce_details_recall() -> None:
    """For every distinct sisimai failure sample: a failed recipient, and the original's id."""
    root = corpus_dir()
    found = ids = same_count = total = 0
    missing = []
    for rel, rows in EXPECTED.items():
        if rel in DUPLICATES or rows[0]["reason"] in _NOT_FAILURES:
            continue
        total += 1
        details = bounce_details((root / rel).read_bytes())
        recipients = details.recipients if details else ()
        found += bool(recipients)
        ids += bool(details and details.original_message_ids)
        same_count += len(recipients) == len(rows)
        if not recipients:
            missing.append(rel)
    recall, id_recall, count_agreement = found / total, ids / total, same_count / total
    print(
        f"\nbounce_details on {total} failures: recipient recall {recall:.1%},"
        f" recipient count as sisimai {count_agreement:.1%},"
        f" original Message-ID {id_recall:.1%}; no recipient: {missing}"
    )
    assert recall >= 0.99
    assert count_agreement >= 0.95
    assert id_recall >= 0.88


def test_a_delivered_dsn_has_no_failed_recipient() -> None:
    root = corpus_dir()
    details = bounce_details((root / BSD / "rfc3464-28.eml").read_bytes())
    assert details is not None and details.recipients
    assert details.failed_recipients == ()


def test_no_corpus_message_raises() -> None:
    """parse may refuse a mail (UnparseableMail); nothing after it may raise on any mail."""
    root = corpus_dir()
    errors = []
    for path in message_files():
        rel = _rel(path)
        try:
            details = bounce_details(path.read_bytes())
            assert details is None or isinstance(details.recipients, tuple)
            mail = parsed(rel)
            if not isinstance(mail, str):
                classify(mail, CTX)
                explain(mail, CTX)
        except Exception as exc:
            errors.append((rel, f"{type(exc).__name__}: {exc}"))
    assert root.is_dir()
    assert errors == []
