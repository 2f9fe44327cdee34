"""A deterministic corpus of realistic support mails for the benchmark.

``generate(seed, n)`` yields ``n`` mails; the same seed and ``n`` always give the
same bytes. The mix follows what a support mailbox receives:

- new reports (about 62 %), plain text or multipart/alternative (text + HTML),
  in English, Dutch, French or German, most with a page URL, many with steps;
  a few say the platform is down (a high-priority keyword in the bench config);
- replies (about 22 %) that carry the ticket tag ``[#2026-000123]`` in the
  subject, ``In-Reply-To`` and ``References``, and quote the mail they answer;
- follow-ups that carry only the ticket tag (about 6 %, no thread headers);
- auto-replies (about 10 %): out-of-office answers with ``Auto-Submitted``;
- about one mail in seven with a PNG screenshot of 50-300 KB (random bytes
  after a PNG signature; maildesk never decodes the image);
- non-ASCII names, subjects and bodies in utf-8 and iso-8859-1, encoded as
  quoted-printable, base64 or raw 8-bit, subjects as RFC 2047 words or raw
  8-bit utf-8.

Every sender is at ``bench.example``, the domain the bench config registers
for its one client (``match_domain = true``), so no mail is quarantined as
coming from a stranger. Ticket numbers in tags are predicted from the order
of the corpus: the k-th new report becomes ticket ``{year}-{k:06d}`` when the
mails are processed in order on an empty database.

``python -m bench.corpus --n 20 --out DIR`` writes the mails as ``.eml`` files
for a look, and prints the mix.
"""

from __future__ import annotations

import argparse
import base64
import email.header
import html
import quopri
import random
import struct
import sys
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

CLIENT_DOMAIN = "bench.example"
SUPPORT_ADDRESS = "support@helpdesk.example"
SUPPORT_NAME = "Helpdesk"
HIGH_KEYWORDS = ("is down", "niet bereikbaar", "en panne", "ausgefallen")

SCREENSHOT_SHARE = 1 / 7
SCREENSHOT_MIN = 50 * 1024
SCREENSHOT_MAX = 300 * 1024
_KIND_WEIGHTS = (("report", 0.62), ("reply", 0.22), ("tagged", 0.06), ("auto_reply", 0.10))
_AUTO_SHARE = dict(_KIND_WEIGHTS)["auto_reply"]


@dataclass(frozen=True)
class BenchMail:
    """One generated mail and what the benchmark knows about it."""

    index: int
    raw: bytes
    message_id: str  # without angle brackets
    kind: str  # report | reply | tagged | auto_reply
    sender: str
    ticket: str | None  # the ticket it opens or continues (predicted)
    charset: str
    screenshot: bool


# -- the words -----------------------------------------------------------------------

_NAMES = (
    "Zoë Janssens",
    "François Dubois",
    "Jürgen Müller",
    "Anneke de Vries",
    "Søren Østergaard",
    "Ana Núñez",
    "Chloé Lefèvre",
    "Bart Peeters",
    "Émilie Gauthier",
    "Łukasz Wójcik",
    "Ingrid Bäckström",
    "Mehmet Yılmaz",
    "Sarah O'Neill",
    "Thomas Maes",
    "Inès Benali",
    "Jan Vermeulen",
    "Noémie Lambert",
    "Dirk Claes",
    "Renée Fontaine",
    "Björn Åkesson",
)

_PAGES = (
    ("login page", "course/1203/login"),
    ("quiz", "mod/quiz/view.php?id=88417"),
    ("gradebook", "grade/report/grader/index.php?id=5121"),
    ("assignment upload", "mod/assign/view.php?id=30125&action=editsubmission"),
    ("calendar", "calendar/view.php?view=month"),
    ("forum", "mod/forum/discuss.php?d=44120"),
    ("certificate download", "mod/customcert/view.php?id=771&downloadown=1"),
    ("video lessons", "mod/page/view.php?id=9012"),
)

_TEXT: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "greet": ("Hello,", "Hi support team,", "Good morning,", "Dear helpdesk,"),
        "subject": (
            "Problem with the {page}",
            "{page} shows an error",
            "Cannot open the {page}",
            "Error on {page} since this morning",
        ),
        "problem": (
            "Since this morning our students cannot use the {page}. They get a blank page "
            "with the message 'Something went wrong' after a few seconds.",
            "When a teacher opens the {page}, the page loads for a long time and then "
            "shows an error 500. It worked fine last week.",
            "Several users report that the {page} does not save their changes. There is "
            "no error message, the changes are simply gone after a reload.",
        ),
        "down": ("The whole platform is down for everyone, nobody can log in.",),
        "steps": (
            "Steps to reproduce:",
            "1. Log in as a student",
            "2. Go to the course 'Introduction to Statistics'",
            "3. Click on the {page}",
            "4. Wait a few seconds",
        ),
        "url": ("This is the page: {url}", "URL: {url}", "It happens on {url}"),
        "close": ("Thanks in advance,", "Kind regards,", "Best regards,"),
        "reply": (
            "Here is the screenshot you asked for.",
            "The problem still occurs this afternoon, also with another browser.",
            "Thanks, it works again for most users but two of them still see the error.",
            "Any news on this? Our exam starts tomorrow at 9.",
        ),
        "ooo": ("I am out of the office until Monday with limited access to e-mail.",),
        "wrote": ("On {date}, {name} <{addr}> wrote:",),
    },
    "nl": {
        "greet": ("Hallo,", "Beste helpdesk,", "Goedemorgen,", "Dag support,"),
        "subject": (
            "Probleem met de {page}",
            "Foutmelding op de {page}",
            "{page} werkt niet meer",
            "Storing {page} sinds vanochtend",
        ),
        "problem": (
            "Sinds vanochtend kunnen onze cursisten de {page} niet meer gebruiken. Ze "
            "krijgen een lege pagina met de melding 'Er is iets misgegaan'.",
            "Wanneer een docent de {page} opent, laadt de pagina heel lang en verschijnt "
            "er een foutmelding. Vorige week werkte alles nog prima, ook in de cafés.",
            "Meerdere gebruikers melden dat de {page} hun wijzigingen niet bewaart. Er is "
            "geen foutmelding, na herladen is alles weg. Heel vervelend voor de coördinator.",
        ),
        "down": ("Het hele platform is niet bereikbaar, niemand kan nog inloggen.",),
        "steps": (
            "Stappen:",
            "1. Inloggen als cursist",
            "2. Ga naar de cursus 'Inleiding statistiek'",
            "3. Klik op de {page}",
            "4. Enkele seconden wachten",
        ),
        "url": ("Dit is de pagina: {url}", "URL: {url}", "Het gebeurt op {url}"),
        "close": ("Alvast bedankt,", "Met vriendelijke groeten,", "Groeten,"),
        "reply": (
            "Hierbij de schermafbeelding waar u om vroeg.",
            "Het probleem doet zich vanmiddag nog steeds voor, ook in een andere browser.",
            "Bedankt, het werkt weer voor de meeste gebruikers, maar twee zien nog de fout.",
            "Is er al nieuws? Ons examen begint morgen om 9 uur. Financiële dienst wacht.",
        ),
        "ooo": ("Ik ben afwezig tot maandag en lees mijn e-mail slechts beperkt.",),
        "wrote": ("Op {date} schreef {name} <{addr}>:",),
    },
    "fr": {
        "greet": ("Bonjour,", "Madame, Monsieur,", "Bonjour l'équipe support,"),
        "subject": (
            "Problème avec la page {page}",
            "Erreur sur {page}",
            "Impossible d'accéder à {page}",
            "{page} : écran blanc depuis ce matin",
        ),
        "problem": (
            "Depuis ce matin, nos étudiants ne peuvent plus utiliser la page {page}. Ils "
            "obtiennent une page blanche avec le message « Une erreur est survenue ».",
            "Lorsqu'un enseignant ouvre la page {page}, le chargement est très long puis "
            "une erreur s'affiche. Tout fonctionnait la semaine dernière, même à l'école.",
            "Plusieurs utilisateurs signalent que la page {page} n'enregistre pas leurs "
            "modifications. Aucun message d'erreur, tout a disparu après rechargement.",
        ),
        "down": ("Toute la plateforme est en panne, plus personne ne peut se connecter.",),
        "steps": (
            "Étapes :",
            "1. Se connecter en tant qu'étudiant",
            "2. Aller dans le cours « Introduction à la statistique »",
            "3. Cliquer sur {page}",
            "4. Attendre quelques secondes",
        ),
        "url": ("Voici la page : {url}", "URL : {url}", "Cela se produit sur {url}"),
        "close": ("Merci d'avance,", "Cordialement,", "Bien à vous,"),
        "reply": (
            "Voici la capture d'écran demandée.",
            "Le problème persiste cet après-midi, aussi avec un autre navigateur.",
            "Merci, cela fonctionne à nouveau pour la plupart, mais deux élèves voient encore "
            "l'erreur.",
            "Des nouvelles ? Notre examen commence demain à 9 h.",
        ),
        "ooo": ("Je suis absente jusqu'à lundi et je consulte mes courriels de façon limitée.",),
        "wrote": ("Le {date}, {name} <{addr}> a écrit :",),
    },
    "de": {
        "greet": ("Hallo,", "Sehr geehrte Damen und Herren,", "Guten Morgen,"),
        "subject": (
            "Problem mit {page}",
            "Fehlermeldung auf {page}",
            "{page} lässt sich nicht öffnen",
            "Störung {page} seit heute früh",
        ),
        "problem": (
            "Seit heute Morgen können unsere Studierenden {page} nicht mehr nutzen. Sie "
            "sehen eine leere Seite mit der Meldung „Es ist ein Fehler aufgetreten“.",
            "Wenn eine Lehrkraft {page} öffnet, lädt die Seite sehr lange und zeigt dann "
            "einen Fehler. Letzte Woche funktionierte alles, auch für die Prüfungsgruppe.",
            "Mehrere Benutzer melden, dass {page} ihre Änderungen nicht speichert. Es gibt "
            "keine Fehlermeldung, nach dem Neuladen ist alles weg. Sehr ärgerlich.",
        ),
        "down": ("Die gesamte Plattform ist ausgefallen, niemand kann sich anmelden.",),
        "steps": (
            "Schritte:",
            "1. Als Student anmelden",
            "2. Zum Kurs „Einführung in die Statistik“ gehen",
            "3. Auf {page} klicken",
            "4. Einige Sekunden warten",
        ),
        "url": ("Das ist die Seite: {url}", "URL: {url}", "Es passiert auf {url}"),
        "close": ("Vielen Dank im Voraus,", "Mit freundlichen Grüßen,", "Viele Grüße,"),
        "reply": (
            "Anbei der gewünschte Screenshot.",
            "Das Problem tritt heute Nachmittag immer noch auf, auch mit einem anderen Browser.",
            "Danke, es funktioniert wieder für die meisten, aber zwei sehen noch den Fehler.",
            "Gibt es Neuigkeiten? Unsere Prüfung beginnt morgen um 9 Uhr.",
        ),
        "ooo": ("Ich bin bis Montag nicht im Büro und lese meine E-Mails nur eingeschränkt.",),
        "wrote": ("Am {date} schrieb {name} <{addr}>:",),
    },
}

_UTF8_ONLY_EXTRAS = (
    "PS: the invoice of 250 € is paid – see attachment of last week.",
    "PS: merci à l’équipe, ça marchait très bien jusqu’ici 🙂",
    "PS: our colleague Łukasz in Kraków sees the same thing.",
    "PS: œuvre complète – the course “Œnologie” is affected too.",
)
_MAILERS = (
    "Mozilla Thunderbird 128.4.0",
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.200.91.1.1)",
    "Roundcube Webmail/1.6.9",
)
_SCREENSHOT_NAMES = (
    "screenshot.png",
    "Screenshot 2026-11-16 at 10.12.33.png",
    "Schermafbeelding 2026-11-16 om 10.12.33.png",
    "Capture d’écran 2026-11-16 à 10.12.33.png",
    "Bildschirmfoto 2026-11-16 um 10.12.33.png",
)


# -- encodings -----------------------------------------------------------------------


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return False
    return True


def _ascii_local(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    plain = "".join(c for c in folded if c.isascii() and (c.isalnum() or c == " "))
    return ".".join(plain.lower().split()) or "user"


def _encode_header(value: str, charset: str, raw8bit: bool) -> bytes:
    """A header value: ASCII as is, else raw 8-bit utf-8 or RFC 2047 words."""
    if value.isascii():
        return value.encode("ascii")
    if raw8bit:
        return value.encode("utf-8")
    return email.header.Header(value, charset=charset).encode(linesep="\n").encode("ascii")


def _address(name: str, addr: str, charset: str, raw8bit: bool) -> bytes:
    if name.isascii():
        quoted = f'"{name}"' if any(c in name for c in "'.,") else name
        return f"{quoted} <{addr}>".encode("ascii")
    return _encode_header(name, charset, raw8bit) + f" <{addr}>".encode("ascii")


def _text_part(text: str, subtype: str, charset: str, cte: str) -> bytes:
    """A text/* MIME part (headers and body) with LF line ends."""
    data = text.replace("\r\n", "\n").encode(charset)
    if cte == "quoted-printable":
        body = quopri.encodestring(data)
    elif cte == "base64":
        body = base64.encodebytes(data)
    else:
        body = data
    head = f"Content-Type: text/{subtype}; charset={charset}\nContent-Transfer-Encoding: {cte}\n"
    if subtype == "plain" and charset == "utf-8" and cte == "8bit":
        head = head.replace("charset=utf-8", 'charset="UTF-8"; format=flowed')
    return head.encode("ascii") + b"\n" + body.rstrip(b"\n") + b"\n"


def _png(rng: random.Random, size: int) -> bytes:
    """A PNG signature and IHDR chunk followed by random bytes: ``size`` bytes in all."""
    ihdr = struct.pack(">IIBBBBB", 1920, 1080, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    head = b"\x89PNG\r\n\x1a\n" + chunk
    return head + rng.randbytes(max(size - len(head), 0))


def _attachment_part(rng: random.Random) -> bytes:
    name = rng.choice(_SCREENSHOT_NAMES)
    data = _png(rng, rng.randint(SCREENSHOT_MIN, SCREENSHOT_MAX))
    if name.isascii():
        disp = f'filename="{name}"'
    else:
        disp = "filename*=utf-8''" + "".join(
            c
            if c.isascii() and (c.isalnum() or c in ".-_")
            else "".join(f"%{b:02X}" for b in c.encode())
            for c in name
        )
    inline = rng.random() < 0.25
    head = (
        f'Content-Type: image/png; name="screenshot.png"\n'
        f"Content-Disposition: {'inline' if inline else 'attachment'}; {disp}\n"
        "Content-Transfer-Encoding: base64\n"
    )
    if inline:
        head += f"Content-ID: <img{rng.getrandbits(48):012x}@{CLIENT_DOMAIN}>\n"
    return head.encode("ascii") + b"\n" + base64.encodebytes(data)


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode("ascii")]
    out.append(b"This is a multi-part message in MIME format.\n")
    for part in parts:
        out.append(f"--{boundary}\n".encode("ascii") + part)
    out.append(f"--{boundary}--\n".encode("ascii"))
    return b"".join(out)


def _html_of(text: str, charset: str) -> str:
    paras = [p for p in text.split("\n\n") if p.strip()]
    inner = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paras)
    head = f'<html><head><meta charset="{charset}"></head><body style="font-family:Calibri">'
    return f"{head}\n{inner}\n</body></html>"


# -- the generator -------------------------------------------------------------------


@dataclass
class _Report:
    message_id: str
    subject: str
    sender: str
    name: str
    lang: str
    ticket: str
    text: str
    date: datetime


class _Generator:
    def __init__(self, seed: int, n: int, year: int, only_reports: bool) -> None:
        self.rng = random.Random(f"maildesk-bench:{seed}")
        self.seed = seed
        self.n = n
        self.year = year
        self.only_reports = only_reports
        pool = max(60, n // 3)
        self.senders: list[tuple[str, str, str]] = []
        for k in range(pool):
            name = _NAMES[k % len(_NAMES)]
            lang = ("en", "nl", "fr", "de")[(k // len(_NAMES) + k) % 4]
            self.senders.append((name, f"{_ascii_local(name)}{k}@{CLIENT_DOMAIN}", lang))
        self.reports: list[_Report] = []
        self.start = datetime(year, 11, 16, 8, 0, tzinfo=UTC)

    def _kind(self, index: int) -> str:
        if self.only_reports or not self.reports:
            return "report"
        roll = self.rng.random()
        for kind, weight in _KIND_WEIGHTS:
            if roll < weight:
                return kind
            roll -= weight
        return "report"

    def mail(self, index: int) -> BenchMail:
        rng = self.rng
        kind = self._kind(index)
        date = self.start + timedelta(seconds=37 * index + rng.randint(0, 30))
        message_id = f"{rng.getrandbits(64):016x}.{self.seed}.{index}@mail.{CLIENT_DOMAIN}"
        screenshot = kind != "auto_reply" and rng.random() < SCREENSHOT_SHARE / (
            1 - (0 if self.only_reports else _AUTO_SHARE)
        )
        headers: list[tuple[str, str]] = []
        quote = ""
        in_reply_to: str | None = None
        references: tuple[str, ...] = ()
        if kind == "report":
            name, addr, lang = rng.choice(self.senders)
            words = _TEXT[lang]
            page, path = rng.choice(_PAGES)
            subject = rng.choice(words["subject"]).format(page=page)
            url = f"https://learn.{CLIENT_DOMAIN}/{path}"
            lines = [rng.choice(words["greet"]), ""]
            lines.append(rng.choice(words["problem"]).format(page=page))
            if rng.random() < 0.06:
                lines.append(words["down"][0])
            if rng.random() < 0.8:
                lines += ["", rng.choice(words["url"]).format(url=url)]
            if rng.random() < 0.55:
                lines += ["", *(s.format(page=page) for s in words["steps"])]
            body_text = "\n".join(lines)
            ticket = f"{self.year}-{len(self.reports) + 1:06d}"
            self.reports.append(
                _Report(message_id, subject, addr, name, lang, ticket, body_text, date)
            )
        else:
            report = rng.choice(self.reports[-200:])
            name, addr, lang = report.name, report.sender, report.lang
            words = _TEXT[lang]
            ticket = report.ticket
            tag = f"[#{ticket}]"
            if kind == "auto_reply":
                subject = f"Automatic reply: Re: {tag} {report.subject}"
                body_text = words["ooo"][0]
                headers.append(("Auto-Submitted", "auto-replied"))
                if rng.random() < 0.5:
                    headers.append(("X-Auto-Response-Suppress", "All"))
                if rng.random() < 0.3:
                    headers.append(("Precedence", "auto_reply"))
            else:
                subject = f"Re: {tag} {report.subject}"
                body_text = rng.choice(words["reply"])
                if kind == "reply":
                    in_reply_to = report.message_id
                    references = (report.message_id,)
                    attribution = words["wrote"][0].format(
                        date=format_datetime(report.date), name=name, addr=addr
                    )
                    quoted = "\n".join(f"> {ln}" if ln else ">" for ln in report.text.split("\n"))
                    quote = f"\n\n{attribution}\n{quoted}"
        if kind != "auto_reply":
            body_text += f"\n\n{rng.choice(words['close'])}\n{name}"
            body_text += f"\n-- \n{name}\nBench Learning | +32 2 555 01 {index % 100:02d}"
            if rng.random() < 0.25:
                body_text += "\n\n" + rng.choice(_UTF8_ONLY_EXTRAS)
            body_text += quote
        latin1 = _fits_latin1(body_text + subject + name) and rng.random() < 0.45
        charset = "iso-8859-1" if latin1 else "utf-8"
        raw = self._assemble(
            rng,
            index,
            date,
            message_id,
            name,
            addr,
            subject,
            body_text,
            charset,
            in_reply_to,
            references,
            headers,
            screenshot,
        )
        return BenchMail(index, raw, message_id, kind, addr, ticket, charset, screenshot)

    def _assemble(
        self,
        rng: random.Random,
        index: int,
        date: datetime,
        message_id: str,
        name: str,
        addr: str,
        subject: str,
        text: str,
        charset: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        extra: list[tuple[str, str]],
        screenshot: bool,
    ) -> bytes:
        raw8 = charset == "utf-8" and rng.random() < 0.2
        cte = rng.choice(("quoted-printable", "quoted-printable", "base64", "8bit"))
        if text.isascii():
            cte = rng.choice(("7bit", "quoted-printable"))
        hop = date - timedelta(seconds=rng.randint(1, 5))
        head: list[bytes] = [
            f"Return-Path: <{addr}>".encode(),
            (
                f"Received: from mx1.{CLIENT_DOMAIN} "
                f"(mx1.{CLIENT_DOMAIN} [192.0.2.{index % 250 + 1}])\n"
                f"\tby mx.helpdesk.example (Postfix) with ESMTPS id {rng.getrandbits(40):010X}\n"
                f"\tfor <{SUPPORT_ADDRESS}>; {format_datetime(hop)}"
            ).encode(),
            b"From: " + _address(name, addr, charset, raw8),
            b"To: " + _address(SUPPORT_NAME, SUPPORT_ADDRESS, charset, False),
            b"Subject: " + _encode_header(subject, charset, raw8),
            f"Date: {format_datetime(date)}".encode(),
            f"Message-ID: <{message_id}>".encode(),
        ]
        if in_reply_to:
            head.append(f"In-Reply-To: <{in_reply_to}>".encode())
        if references:
            head.append(("References: " + " ".join(f"<{r}>" for r in references)).encode())
        for key, value in extra:
            head.append(f"{key}: {value}".encode())
        head.append(f"X-Mailer: {rng.choice(_MAILERS)}".encode())
        head.append(b"MIME-Version: 1.0")
        alternative = rng.random() < 0.5
        text_part = _text_part(text, "plain", charset, cte)
        if alternative:
            html_part = _text_part(_html_of(text, charset), "html", charset, "quoted-printable")
            body = _multipart(
                "alternative", [text_part, html_part], f"=_alt_{index}_{rng.getrandbits(32):08x}"
            )
        else:
            body = text_part
        if screenshot:
            body = _multipart(
                "mixed", [body, _attachment_part(rng)], f"=_mix_{index}_{rng.getrandbits(32):08x}"
            )
        raw = b"\n".join(head) + b"\n" + body
        return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def generate(
    seed: int = 1, n: int = 2000, *, year: int = 2026, only_reports: bool = False
) -> Iterator[BenchMail]:
    """Yield ``n`` mails; deterministic in (seed, n, year, only_reports)."""
    gen = _Generator(seed, n, year, only_reports)
    for index in range(n):
        yield gen.mail(index)


def describe(mails: list[BenchMail]) -> dict[str, object]:
    """The mix of a corpus: kinds, charsets, screenshots, sizes."""
    sizes = sorted(len(m.raw) for m in mails)
    return {
        "n": len(mails),
        "kinds": dict(Counter(m.kind for m in mails)),
        "charsets": dict(Counter(m.charset for m in mails)),
        "with_screenshot": sum(m.screenshot for m in mails),
        "bytes_total": sum(sizes),
        "bytes_median": sizes[len(sizes) // 2] if sizes else 0,
        "bytes_max": sizes[-1] if sizes else 0,
    }


def main(argv: list[str] | None = None) -> int:
    """Write a corpus as .eml files (or just describe it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--out", type=Path, help="folder for the .eml files")
    args = parser.parse_args(argv)
    mails = list(generate(args.seed, args.n, year=args.year))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for m in mails:
            (args.out / f"{m.index:06d}-{m.kind}.eml").write_bytes(m.raw)
    for key, value in describe(mails).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
