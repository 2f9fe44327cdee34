"""Does a report carry what the contract requires? (URL, screenshot, steps, login)

Support contracts ask the client for the information support cannot work
without: the learning-platform helpdesk wants the page URL, a screenshot and
the steps taken; the LMS vendor wants, for a blocking anomaly, the URL, the
user's login, a screenshot and an explanation. Which items a policy requires
is configuration (:class:`~maildesk.core.policy.RequiredInfo`); this module
only decides, from the mails of one ticket, which items are present. The
pipeline then asks the client for what is missing, and the SLA clock may wait
until the report is complete, so both kinds of mistake cost something: a false
"missing" sends a needless request, a false "found" lets an incomplete report
run its clock. The heuristics lean towards "found" where a human reading the
mail would, and stay strict where a false hit is likely (signature logos,
"Email:" lines in signatures, a one-line "it doesn't work").

The ticket is checked as a whole: :func:`check_report` takes every inbound
client mail of the ticket (``ReportPart``), and an item found in any of them
counts, so a screenshot sent in a follow-up completes a report whose URL was in
the first mail. Adding a part can therefore never make an item missing again.
Text is the new text of each mail (the caller removes quotes); matching is
case-insensitive and, where words are compared, accent-insensitive.

Heuristics, per item:

``url``
    An ``http://`` or ``https://`` URL, or a ``www.`` form, in the text or the
    subject. Trailing punctuation (``.``, ``,``, ``)`` …) is not part of it. If
    ``RequiredInfo.url_domains`` is set, only a URL whose host is one of those
    domains or a subdomain counts; in that case a bare form with a path on one
    of those domains (``lms.acme.example/course/12``) counts too, since clients
    often leave out the scheme. Our own support links and the client's
    signature links are not special-cased: a policy that wants the *page* URL
    should list its platform's domains in ``url_domains``.
``screenshot``
    An attachment or inline image: content type ``image/*`` (SVG excepted:
    that is a logo or an icon, never a screenshot) or a file name ending in one
    of :data:`IMAGE_EXTENSIONS`, of at least :data:`MIN_SCREENSHOT_BYTES`.
    Smaller images are signature logos, social-network icons and tracking
    pixels. A larger signature logo still counts (nothing in one mail tells it
    from a pasted screenshot), and a screenshot inside a PDF or a Word file
    does not.
``steps``
    Either a list: at least ``steps_min_items`` lines of one mail starting with
    a number (``1.``, ``1)``, ``(1)``), a bullet (``-``, ``*``, ``•``, ``+``,
    ``–``) or a step label (``Step 1``, ``Stap 1``, ``Étape 1``, ``Schritt
    1``), then a blank and text that starts with a letter, a digit, a quote or
    a bracket (so ``-- `` signature lines and dash-escaped ``- -----BEGIN``
    lines are not items). List lines of the form ``Label: value`` whose label
    is at most three words without an action word (``- Browser: Chrome``) are
    details, not steps, and are not counted. Or steps written inside a line:
    "1. … 2. …", "first … then …", "Menu > Export > CSV"
    (:mod:`maildesk.ingest.inline_steps`). Or a description: one mail of at
    least ``steps_min_words`` words (runs of letters and digits) holding at
    least one action word in English, Dutch, French or German
    (:data:`ACTION_WORDS`: click, open, go to, select, enter, log in …; klik,
    ga naar, selecteer, inloggen …; cliqué, ouvert, sélectionné, saisi,
    connecter …). Each mail is judged on its own: a list or a description is
    written in one mail, and words from separate mails do not add up to an
    account of what was done. A long mail that merely mentions an action
    ("open") passes: the word threshold is what keeps this honest, so a
    policy should not set it low.
``login``
    A line (or a field on a line, after ``,``, ``;``, ``|``, `` - `` or the
    end of a sentence) of the form
    ``LABEL: value`` or ``LABEL = value``, where LABEL is a login label in one
    of the four languages (login, username, user, user id, account,
    gebruikersnaam, gebruiker, inlognaam, identifiant, utilisateur, nom
    d'utilisateur, compte, Benutzername, …; see :data:`LOGIN_LABELS`). The
    value must be one token (logins hold no spaces), not a placeholder or a
    status word (``?``, ``n/a``, ``me``, ``unknown``, ``ok``, ``failed`` …),
    and be followed by nothing but another field or a separator: ``login:
    doesn't work`` and ``Account: Acme Corp`` are sentences, not logins (a
    display name such as ``Username: John Doe`` is not a login either).
    ``Email:`` is not a login label: it is on every signature.
``password_suspected``
    A password label (password, passwd, pwd, pw, wachtwoord, mot de passe,
    mdp, Passwort, Kennwort) followed on the same line by ``:`` or ``=`` and a
    value of at most :data:`PASSWORD_MAX_WORDS` words that is not a mask
    (``*****``, ``xxx``) nor a link; or followed by "is"/"was"/"est" and a
    word of at least 4 characters that looks like a secret (it has a digit, a
    symbol or mixed case: "my password is Welcome1", not "my password is
    wrong" nor "the password is 8 characters long"). A label right after
    "reset", "forgot", "vergeten", "oublié" … is a link text, not a password.
    "I forgot my password" and "password reset link" have no value and never
    match. It makes nothing "found": the pipeline uses it to warn the client
    that a password was mailed and should be changed. A password on the line
    after its label is not seen.

No I/O here and no database: the functions are pure so that the pipeline, the
web page and the tests all read the same verdict. Mail text is
sender-controlled, so every pattern is written to run in time linear in the
text (no two unbounded runs of the same characters side by side).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from maildesk.core.policy import RequiredInfo
from maildesk.core.words import LANGUAGES, every_language, word_list
from maildesk.ingest.inline_steps import find_inline_steps

if TYPE_CHECKING:
    from maildesk.mail.parse import InboundMail

__all__ = [
    "ACTION_WORDS",
    "IMAGE_EXTENSIONS",
    "ITEMS",
    "LOGIN_LABELS",
    "MIN_SCREENSHOT_BYTES",
    "PASSWORD_MAX_WORDS",
    "AttachmentInfo",
    "IntakeCheck",
    "ReportPart",
    "check_report",
    "suspects_password",
]

#: Every item this module can look for, in the order a client is asked for them.
ITEMS: Final = ("url", "screenshot", "steps", "login")

#: Images smaller than this (bytes) are not screenshots: tracking pixels
#: (tens of bytes), social-network icons and small signature logos. Even a
#: cropped screenshot of one error message is several KB as PNG or JPEG.
#: Larger company logos exist and do count (see the module docstring).
MIN_SCREENSHOT_BYTES: Final = 2048

#: File names that are images whatever their declared content type (mailers
#: often send ``application/octet-stream``).
IMAGE_EXTENSIONS: Final = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".heic")

#: A ``password: …`` value of more words than this is a sentence, not a password.
PASSWORD_MAX_WORDS: Final = 4

#: Evidence strings longer than this are cut (they are recorded on the ticket).
_EVIDENCE_MAX: Final = 200


class AttachmentInfo(Protocol):
    """What intake reads of an attachment; :class:`maildesk.mail.parse.Attachment` fits."""

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def inline(self) -> bool: ...


@dataclass(frozen=True)
class ReportPart:
    """One inbound client mail of a ticket, as intake sees it.

    ``text`` is the new text of the mail, quotes already removed by the caller.
    """

    text: str
    subject: str
    attachments: tuple[AttachmentInfo, ...] = ()

    @classmethod
    def from_mail(cls, mail: InboundMail, text: str) -> ReportPart:
        """The part for ``mail`` whose new text (quotes removed) is ``text``."""
        return cls(text=text, subject=mail.subject, attachments=mail.attachments)


@dataclass(frozen=True)
class IntakeCheck:
    """The verdict on a ticket's report.

    ``missing`` holds the required items not found, in ``RequiredInfo.items``
    order. ``found`` maps every item found (required or not) to short evidence
    for the ticket's history: the URL, the image's file name, "3 numbered
    steps", "login: jdoe".
    """

    missing: tuple[str, ...]
    found: dict[str, str]
    password_suspected: bool

    @property
    def complete(self) -> bool:
        """Whether nothing required is missing."""
        return not self.missing


def check_report(parts: Sequence[ReportPart], required: RequiredInfo) -> IntakeCheck:
    """Which of the required items the ticket's mails carry, as a whole."""
    found: dict[str, str] = {}
    password = False
    for part in parts:
        if "url" not in found:
            url = _find_url(f"{part.subject}\n{part.text}", required.url_domains)
            if url is not None:
                found["url"] = url
        if "screenshot" not in found:
            shot = _find_screenshot(part.attachments)
            if shot is not None:
                found["screenshot"] = shot
        if "steps" not in found:
            steps = _find_steps(part.text, required.steps_min_items, required.steps_min_words)
            if steps is not None:
                found["steps"] = steps
        if "login" not in found:
            login = _find_login(part.text)
            if login is not None:
                found["login"] = login
        password = password or suspects_password(part.text)
    ordered: dict[str, str] = {item: found[item] for item in ITEMS if item in found}
    missing = tuple(item for item in required.items if item not in found)
    return IntakeCheck(missing=missing, found=ordered, password_suspected=password)


# --------------------------------------------------------------------------
# Shared text helpers
# --------------------------------------------------------------------------

_APOSTROPHES: Final = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: casefolded, marks removed, one apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _cut(text: str) -> str:
    return text if len(text) <= _EVIDENCE_MAX else text[: _EVIDENCE_MAX - 1] + "…"


def _phrase_pattern(phrases: Iterable[str]) -> str:
    """An alternation of folded phrases, whole words, any whitespace between words."""
    alternatives = sorted(
        {r"\s+".join(re.escape(word) for word in _fold(p).split()) for p in phrases if p.strip()},
        key=len,
        reverse=True,
    )
    return r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)"


# --------------------------------------------------------------------------
# url
# --------------------------------------------------------------------------

# Stops at whitespace and at characters that cannot be in a URL as written in
# mail (angle brackets and quotes delimit it, as in "text <https://…>").
_URL: Final = re.compile(
    r"""(?:(?<![\w.+-])https?://|(?<![\w.@/:-])www\.)[^\s<>"'`{}|\\^\[\]]+""",
    re.IGNORECASE,
)
_TRAILING: Final = ".,;:!?*'\"…»"


def _trim_url(url: str) -> str:
    """``url`` without trailing punctuation; a ``)`` stays if it closes a ``(``."""
    end, opened, closed = len(url), url.count("("), url.count(")")
    while end:
        last = url[end - 1]
        if last == ")" and closed > opened:
            closed -= 1
        elif last not in _TRAILING:
            break
        end -= 1
    return url[:end]


def _host(url: str) -> str | None:
    candidate = url if "://" in url else f"http://{url}"
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host or "." not in host.strip("."):
        return None
    return host.rstrip(".")


def _norm_domain(domain: str) -> str:
    return domain.strip().lower().removeprefix("*.").strip(".")


def _on_domains(host: str, domains: tuple[str, ...]) -> bool:
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in map(_norm_domain, domains) if d)


@lru_cache(maxsize=64)
def _bare_url_pattern(domains: tuple[str, ...]) -> re.Pattern[str]:
    """``host/path`` on one of ``domains`` (or a subdomain), without scheme."""
    names = "|".join(
        re.escape(d) for d in sorted({_norm_domain(d) for d in domains} - {""}, key=len)[::-1]
    )
    return re.compile(
        rf"(?<![\w.@/:-])(?:[a-z0-9-]+\.)*(?:{names})(?::\d+)?/[^\s<>\"'`{{}}|\\^\[\]]*",
        re.IGNORECASE,
    )


def _find_url(text: str, domains: tuple[str, ...]) -> str | None:
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        host = _host(url)
        if host is None:
            continue
        if not domains or _on_domains(host, domains):
            return _cut(url)
    if domains and any(_norm_domain(d) for d in domains):
        for match in _bare_url_pattern(domains).finditer(text):
            url = _trim_url(match.group())
            host = _host(url)
            if host is not None and _on_domains(host, domains):
                return _cut(url)
    return None


# --------------------------------------------------------------------------
# screenshot
# --------------------------------------------------------------------------


def _is_image(attachment: AttachmentInfo) -> bool:
    ctype = attachment.content_type.split(";", 1)[0].strip().lower()
    name = attachment.filename.strip().lower()
    if ctype == "image/svg+xml" or name.endswith(".svg"):
        return False
    return ctype.startswith("image/") or name.endswith(IMAGE_EXTENSIONS)


def _find_screenshot(attachments: Iterable[AttachmentInfo]) -> str | None:
    for attachment in attachments:
        if _is_image(attachment) and attachment.size >= MIN_SCREENSHOT_BYTES:
            return _cut(attachment.filename or attachment.content_type)
    return None


# --------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------

#: Words that say the client did something, per language (data: the [intake]
#: table of maildesk/lang/<code>/words.toml). Matched as whole words (phrases with
#: any whitespace between their words), case- and accent-insensitively, so "cliqué"
#: also matches "clique". Sequencing words ("then", "daarna", "puis") and "visit"
#: are left out: they are as frequent in newsletters and complaints as in an
#: account of what was done.
ACTION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    language: word_list(language, "intake", "action_words") for language in LANGUAGES
}

_ACTION: Final = re.compile(_phrase_pattern(w for ws in ACTION_WORDS.values() for w in ws))
_WORD: Final = re.compile(r"\w+")

# A list line: number, bullet or step label, then whitespace and some text.
_LIST_ITEM: Final = re.compile(
    r"""^[ \t]*
    (?:
        (?P<num>\(?\d{1,2}[.)](?!\d)
          | (?:step|stap|etape|schritt|paso)[ \t]*\d{1,2}(?:[ \t]*[:.)-])?)
      | [-*•·‣▪◦–+]
    )
    [ \t]+(?P<body>[\w"'«“(\[][^\n]*)""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
# "Browser: Chrome", "OS: Windows 11": a detail of the environment, not a step.
_FIELD_LINE: Final = re.compile(r"^[\w'()/ -]{1,30}:\s*\S")


def _is_field(item: str) -> bool:
    """``Browser: Chrome`` is a detail; ``Click Grades: nothing happens`` is a step."""
    if not _FIELD_LINE.match(item):
        return False
    label = item.split(":", 1)[0]
    return len(label.split()) <= 3 and _ACTION.search(label) is None


def _find_steps(text: str, min_items: int, min_words: int) -> str | None:
    folded = _fold(text)
    numbered = bulleted = 0
    for match in _LIST_ITEM.finditer(folded):
        body = match.group("body")
        if _is_field(body):
            continue
        if match.group("num"):
            numbered += 1
        else:
            bulleted += 1
    if numbered + bulleted >= min_items:
        kind = "numbered steps" if numbered >= bulleted else "listed steps"
        return f"{numbered + bulleted} {kind}"
    inline = find_inline_steps(text, min_items, _ACTION)
    if inline is not None:
        return inline
    words = len(_WORD.findall(folded))
    if words >= min_words:
        action = _ACTION.search(folded)
        if action is not None:
            return f"{words}-word description ({' '.join(action.group().split())!r})"
    return None


# --------------------------------------------------------------------------
# login
# --------------------------------------------------------------------------

#: Labels of a login line, in every language (the [intake] table of the word files).
LOGIN_LABELS: Final = every_language("intake", "login_labels")

# Written so that no two unbounded runs of blanks are adjacent: a line of
# blanks must cost linear time, not quadratic (mail text is sender-controlled).
_LOGIN: Final = re.compile(
    r"(?:^|[,;|(]|[.!?:](?=[^\S\n])|[^\S\n][-–](?=[^\S\n]))[^\S\n]*"
    r"(?:(?:[-*•]|\d{1,2}[.)])[^\S\n]+)?"
    r"(?:(?:my|your|the|mijn|uw|de|mon|votre|le|mein)[^\S\n]+)?"
    r"(?P<label>"
    + "|".join(re.escape(label) for label in sorted(LOGIN_LABELS, key=len)[::-1])
    + r")[^\S\n]*(?:\([^)\n]{0,30}\)[^\S\n]*)?[:=][^\S\n]*"
    r"(?P<value>[^\s,;|]+)(?P<rest>[^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_WRAPPING: Final = "\"'<>«»“”‘’`*_[]"
# fmt: off
_PLACEHOLDERS: Final = frozenset(
    {
        "?", "-", "n/a", "na", "none", "unknown", "idem", "same", "me", "mine", "myself",
        "moi", "ik", "mij", "ich", "onbekend", "inconnu", "aucun", "geen", "keine",
        "unbekannt", "xxx", "...", "…", "tbd", "ok", "fails", "failed", "error", "broken",
        "impossible", "kapot", "mislukt", "fout", "erreur", "echec", "échec", "fehler",
    }
)
# fmt: on
# What may follow a login value on its line: nothing, a separator, or another field.
_AFTER_VALUE: Final = re.compile(r"\s*(?:$|[,;|/(]|[-–]\s|\w[\w' -]{0,30}[:=])")


def _find_login(text: str) -> str | None:
    for match in _LOGIN.finditer(text.translate(_APOSTROPHES)):
        value = match.group("value").lstrip(_WRAPPING).rstrip(_WRAPPING + ".:!?")
        if not value or not any(ch.isalnum() for ch in value):
            continue
        if value.casefold() in _PLACEHOLDERS or len(value) > 100:
            continue
        if not _AFTER_VALUE.match(match.group("rest")):
            continue
        label = " ".join(match.group("label").lower().split())
        return _cut(f"{label}: {value}")
    return None


# --------------------------------------------------------------------------
# password
# --------------------------------------------------------------------------

# fmt: off
_PASSWORD_LABELS: Final = (
    r"password", r"passwd", r"passwort", r"pwd", r"pw", r"wachtwoord",
    r"mot[^\S\n]+de[^\S\n]+passe", r"mdp", r"kennwort",
)
# fmt: on
_PASSWORD: Final = re.compile(
    r"(?<![\w-])(?P<label>" + "|".join(_PASSWORD_LABELS) + r")"
    r"[^\S\n]*(?:\([^)\n]{0,30}\)[^\S\n]*)?"
    r"(?:(?P<colon>[:=])|(?<=\s)(?:is|was|est|etait|était|ist|war)(?:[^\S\n]*:)?)"
    r"[^\S\n]*(?P<value>[^\n]*)",
    re.IGNORECASE,
)
# Words right before a label that make it a link text ("Reset password: …").
_NOT_A_SECRET_BEFORE: Final = re.compile(
    r"(?:reset|forgot|forgotten|lost|vergeten|kwijt|herstel|herstellen|resetten|"
    r"oublie|oublié|perdu|reinitialiser|réinitialiser|vergessen|zurucksetzen|zurücksetzen)"
    r"[^\S\n]+(?:(?:your|my|the|je|uw|mijn|het|votre|mon|le|de|ihr|mein|das)[^\S\n]+)?$",
    re.IGNORECASE,
)
#: "password is 8 characters": a shorter word after "is" is not the secret.
_SECRET_MIN_CHARS: Final = 4
_MASK: Final = re.compile(r"[*•·.…\-_?#\s]+|[xX]{3,}")
_LINK: Final = re.compile(r"(?:https?://|www\.)", re.IGNORECASE)


def _looks_secret(token: str) -> bool:
    """A bare word after "password is" is a secret if it is not plain lower-case letters."""
    has_digit = any(ch.isdigit() for ch in token)
    has_symbol = any(not ch.isalnum() for ch in token)
    mixed = any(ch.isupper() for ch in token[1:]) and any(ch.islower() for ch in token)
    return has_digit or has_symbol or mixed


def suspects_password(text: str) -> bool:
    """Whether ``text`` seems to carry a password (see the module docstring)."""
    for line in text.splitlines():
        for match in _PASSWORD.finditer(line):
            if _NOT_A_SECRET_BEFORE.search(line[: match.start()]):
                continue
            value = match.group("value").strip()
            if not value or _MASK.fullmatch(value) or _LINK.match(value):
                continue
            if match.group("colon"):
                if len(value.split()) <= PASSWORD_MAX_WORDS:
                    return True
            else:
                token = value.split()[0].rstrip(".,;!?")
                if len(token) >= _SECRET_MIN_CHARS and _looks_secret(token):
                    return True
    return False
