"""Intake checks: does a ticket's report carry the URL, screenshot, steps and login?

Reports are built by hand as ``ReportPart`` values in English, Dutch and
French, the languages maildesk's clients write in; each test names the item it
is about. The ticket is checked as a whole, so several tests use two parts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildesk.core.policy import RequiredInfo
from maildesk.ingest.intake import (
    MIN_SCREENSHOT_BYTES,
    IntakeCheck,
    ReportPart,
    check_report,
    suspects_password,
)
from maildesk.mail.parse import Attachment

ALL = RequiredInfo(url=True, screenshot=True, steps=True, login=True)
LEARNING = RequiredInfo(url=True, screenshot=True, steps=True)  # learning-helpdesk
PREPAID = RequiredInfo(url=True, screenshot=True, steps=True, login=True)  # blocking anomaly
SETTINGS = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Att:
    """The four fields intake reads of an attachment."""

    filename: str
    content_type: str = "image/png"
    size: int = 48_000
    inline: bool = False


SCREENSHOT = Att("screenshot.png")
LOGO = Att("image001.png", size=1_200, inline=True)  # an Outlook signature logo
PIXEL = Att("pixel.gif", "image/gif", size=43, inline=True)


def part(text: str = "", subject: str = "Problem", *attachments: Att) -> ReportPart:
    return ReportPart(text=text, subject=subject, attachments=attachments)


def check(*parts: ReportPart, required: RequiredInfo = ALL) -> IntakeCheck:
    return check_report(parts, required)


# -- whole reports, per language -----------------------------------------------

EN_REPORT = """Hello,

The quiz in my course does not save answers.
Page: https://lms.acme.example/mod/quiz/view.php?id=12

1. Log in as a teacher
2. Open the course "Biology 101"
3. Click "Preview quiz" and answer the first question
4. Click "Next page": the answer is gone

Login: jdoe
"""

NL_REPORT = """Beste,

De toets slaat de antwoorden niet op: https://lms.acme.example/mod/quiz/view.php?id=12

Stap 1: inloggen als docent
Stap 2: ga naar de cursus Biologie
Stap 3: klik op "Voorbeeld toets"

Gebruikersnaam: pjansen
"""

FR_REPORT = """Bonjour,

Le quiz n'enregistre pas les réponses sur www.lms.acme.example/mod/quiz/view.php?id=12.

- Je me connecte en tant qu'enseignant
- J'ouvre le cours « Biologie »
- Je clique sur « Aperçu du test »

Identifiant : mdupont
"""


@pytest.mark.parametrize(
    ("text", "login"),
    [
        (EN_REPORT, "login: jdoe"),
        (NL_REPORT, "gebruikersnaam: pjansen"),
        (FR_REPORT, "identifiant: mdupont"),
    ],
    ids=["en", "nl", "fr"],
)
def test_complete_report_in_each_language(text: str, login: str) -> None:
    result = check(part(text, "Quiz", SCREENSHOT))
    assert result.missing == ()
    assert result.complete
    assert result.found["screenshot"] == "screenshot.png"
    assert result.found["url"].startswith(("https://lms.acme.example/", "www.lms.acme.example/"))
    assert result.found["login"] == login
    assert not result.password_suspected


def test_steps_evidence_of_each_report() -> None:
    assert check(part(EN_REPORT)).found["steps"] == "4 numbered steps"
    assert check(part(NL_REPORT)).found["steps"] == "3 numbered steps"
    result = check(part(FR_REPORT))
    assert result.found["steps"] == "3 listed steps"
    assert result.found["url"] == "www.lms.acme.example/mod/quiz/view.php?id=12"


@pytest.mark.parametrize(
    "text",
    ["It doesn't work.", "Het werkt niet.", "Ça ne marche pas.", ""],
    ids=["en", "nl", "fr", "empty"],
)
def test_a_one_liner_misses_everything(text: str) -> None:
    result = check(part(text, "Help"))
    assert result.missing == ("url", "screenshot", "steps", "login")
    assert result.found == {}
    assert not result.complete


def test_missing_lists_only_required_items_in_policy_order() -> None:
    assert check(part("help"), required=LEARNING).missing == ("url", "screenshot", "steps")
    assert check(part("help"), required=RequiredInfo(login=True, url=True)).missing == (
        "url",
        "login",
    )
    assert check(part("help"), required=RequiredInfo()).missing == ()


def test_found_records_items_that_are_not_required() -> None:
    result = check(part("login: jdoe", "x", SCREENSHOT), required=RequiredInfo(url=True))
    assert result.missing == ("url",)
    assert result.found == {"screenshot": "screenshot.png", "login": "login: jdoe"}


def test_found_is_in_item_order_whatever_the_part_order() -> None:
    result = check(part("login: jdoe"), part("see https://a.example/x", "x", SCREENSHOT))
    assert list(result.found) == ["url", "screenshot", "login"]


# -- the ticket as a whole -------------------------------------------------------


def test_follow_up_screenshot_completes_the_first_mail() -> None:
    first = part(EN_REPORT, "Quiz")
    assert check(first, required=LEARNING).missing == ("screenshot",)
    follow_up = part("Here is the screenshot.", "Re: Quiz", SCREENSHOT)
    result = check(first, follow_up, required=LEARNING)
    assert result.missing == ()
    assert result.found["screenshot"] == "screenshot.png"


def test_items_spread_over_three_mails_in_three_languages() -> None:
    parts = (
        part("Zie https://lms.acme.example/course/view.php?id=3", "Probleem"),
        part("1) Je clique sur Devoirs\n2) J'ouvre le devoir 4", "Re: Probleem"),
        part("username: kpeeters", "Re: Probleem", Att("IMG_2041.HEIC", "", 900_000)),
    )
    result = check(*parts, required=PREPAID)
    assert result.missing == ()
    assert result.found == {
        "url": "https://lms.acme.example/course/view.php?id=3",
        "screenshot": "IMG_2041.HEIC",
        "steps": "2 numbered steps",
        "login": "username: kpeeters",
    }


def test_first_part_with_an_item_gives_its_evidence() -> None:
    result = check(
        part("see https://one.example/a"),
        part("see https://two.example/b", "x", Att("second.png")),
        part("", "x", Att("third.png")),
    )
    assert result.found["url"] == "https://one.example/a"
    assert result.found["screenshot"] == "second.png"


def test_no_parts_misses_everything_required() -> None:
    assert check_report([], LEARNING) == IntakeCheck(
        missing=("url", "screenshot", "steps"), found={}, password_suspected=False
    )


# -- url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("The page https://lms.acme.example/course/12 is blank.", "https://lms.acme.example/course/12"),
        ("De pagina http://lms.acme.example/login.php geeft een fout.", "http://lms.acme.example/login.php"),
        ("La page (https://lms.acme.example/grade/report?id=7) est vide.", "https://lms.acme.example/grade/report?id=7"),
        ("Go to <https://lms.acme.example/x>, then click.", "https://lms.acme.example/x"),
        ("Open www.acme.example/help!", "www.acme.example/help"),
        ("Zie: WWW.ACME.EXAMPLE.", "WWW.ACME.EXAMPLE"),
        ("Wiki: https://wiki.example/Page_(draft).", "https://wiki.example/Page_(draft)"),
        ("« https://lms.acme.example/é/cours » ne marche pas", "https://lms.acme.example/é/cours"),
    ],
)  # fmt: skip
def test_url_forms(text: str, url: str) -> None:
    assert check(part(text)).found["url"] == url


def test_url_in_the_subject_counts() -> None:
    result = check(part("It shows an error.", "Error on https://lms.acme.example/course/5"))
    assert result.found["url"] == "https://lms.acme.example/course/5"


@pytest.mark.parametrize(
    "text",
    [
        "mail me at jdoe@acme.example",
        "ftp://files.acme.example/x",
        "the file report.pdf is wrong",
        "http://localhost/test",
        "see https://",
        "www.",
        "xhttps://lms.acme.example/a",
    ],
)
def test_not_urls(text: str) -> None:
    assert "url" not in check(part(text, "")).found


def test_url_domains_restrict_to_the_platform_and_its_subdomains() -> None:
    required = RequiredInfo(url=True, url_domains=("acme.example",))
    text = "Sent from https://mail.other.example/x — the page is https://lms.acme.example/c/1"
    assert check(part(text), required=required).found["url"] == "https://lms.acme.example/c/1"
    apex = part("see https://ACME.example/c/1")
    assert check(apex, required=required).found["url"] == "https://ACME.example/c/1"
    for other in (
        "https://notacme.example/c/1",
        "https://acme.example.evil.example/c/1",
        "https://other.example/?next=https%3A%2F%2Facme.example",
    ):
        assert check(part(other), required=required).missing == ("url",), other


def test_url_domains_written_loosely_still_match() -> None:
    required = RequiredInfo(url=True, url_domains=(" *.Acme.Example. ",))
    assert check(part("https://lms.acme.example/a"), required=required).missing == ()


def test_our_own_signature_link_counts_without_url_domains() -> None:
    # Not special-cased: a policy that wants the page URL lists its domains.
    text = "It does not work.\n\n-- \nAcme support https://support.acme.example"
    assert check(part(text)).found["url"] == "https://support.acme.example"
    required = RequiredInfo(url=True, url_domains=("lms.acme.example",))
    assert check(part(text), required=required).missing == ("url",)


def test_bare_platform_url_counts_only_with_url_domains() -> None:
    text = "On lms.acme.example/course/view.php?id=9 the menu is empty."
    assert "url" not in check(part(text)).found
    required = RequiredInfo(url=True, url_domains=("acme.example",))
    found = check(part(text), required=required).found
    assert found["url"] == "lms.acme.example/course/view.php?id=9"
    # A bare host without a path is not a page, and an address is not a URL.
    for text in ("I use lms.acme.example daily", "write to help@lms.acme.example/now"):
        assert check(part(text), required=required).missing == ("url",), text


def test_long_url_evidence_is_cut() -> None:
    url = "https://lms.acme.example/" + "a" * 500
    found = check(part(url)).found["url"]
    assert len(found) == 200
    assert found.endswith("…")


# -- screenshot -----------------------------------------------------------------


@pytest.mark.parametrize(
    "attachment",
    [
        Att("screenshot.png"),
        Att("Schermafbeelding 2024-03-01.jpg", "image/jpeg"),
        Att("capture d'écran.JPEG", "application/octet-stream"),
        Att("part-3.png", "image/png", inline=True),  # pasted into the body
        Att("photo.heic", "application/octet-stream"),
        Att("scan.webp", ""),
        Att("a.bmp", "application/octet-stream"),
        Att("noname", "image/tiff"),
        Att("x.gif", "IMAGE/GIF; name=x.gif"),
        Att("exactly-threshold.png", size=MIN_SCREENSHOT_BYTES),
    ],
    ids=lambda a: a.filename,
)
def test_screenshot_forms(attachment: Att) -> None:
    assert check(part("", "x", attachment)).found["screenshot"] == attachment.filename


@pytest.mark.parametrize(
    "attachment",
    [
        LOGO,
        PIXEL,
        Att("just-under.png", size=MIN_SCREENSHOT_BYTES - 1),
        Att("logo.svg", "image/svg+xml", size=30_000),
        Att("report.pdf", "application/pdf", size=300_000),
        Att("screenshot.docx", "application/vnd.openxmlformats", size=300_000),
        Att("notes.txt", "text/plain"),
    ],
    ids=lambda a: a.filename,
)
def test_not_screenshots(attachment: Att) -> None:
    assert check(part("", "x", attachment)).missing[:2] == ("url", "screenshot")


def test_signature_logo_beside_a_real_screenshot() -> None:
    result = check(part("see attached", "x", LOGO, PIXEL, Att("error.png")))
    assert result.found["screenshot"] == "error.png"


def test_parse_attachment_is_accepted() -> None:
    attachment = Attachment(
        filename="image001.png",
        content_type="image/png",
        size=51_200,
        sha256="0" * 64,
        inline=True,
        content_id="image001.png@01DA",
    )
    report = ReportPart(text="", subject="x", attachments=(attachment,))
    assert check_report([report], LEARNING).found["screenshot"] == "image001.png"


# -- steps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("1. Log in\n2. Open the course\n3. Click Grades", "3 numbered steps"),
        ("1) inloggen\n2) naar Cijfers", "2 numbered steps"),
        ("(1) ouvrir le cours\n(2) cliquer sur Notes", "2 numbered steps"),
        ("Step 1: log in\nStep 2 - open Grades", "2 numbered steps"),
        ("Stap 1 inloggen\nStap 2 cijfers openen", "2 numbered steps"),
        ("Étape 1 : se connecter\nétape 2 : ouvrir Notes", "2 numbered steps"),
        ("- log in\n- open Grades\n- nothing shows", "3 listed steps"),
        ("* inloggen\n* Cijfers openen", "2 listed steps"),
        ("• se connecter\n• ouvrir Notes", "2 listed steps"),
        ("Steps:\n\n  1. log in\n\n  2. open Grades\n", "2 numbered steps"),
    ],
)
def test_list_of_steps(text: str, evidence: str) -> None:
    assert check(part(text)).found["steps"] == evidence


@pytest.mark.parametrize(
    "text",
    [
        "It doesn't work.",
        "1. Log in",  # one item is not a list
        "- Browser: Chrome\n- OS: Windows 11\n- Version: 4.3",  # details, not steps
        "* Course ID: 12\n* Role: teacher",
        "1.5 hours later\n2.0 is the version",
        "-- \nJohn Doe\n--\nAcme",
        "see issue #4\n#5 too",
    ],
)
def test_not_a_list_of_steps(text: str) -> None:
    assert "steps" not in check(part(text)).found


def test_steps_min_items_comes_from_the_policy() -> None:
    text = "1. log in\n2. open Grades"
    strict = RequiredInfo(steps=True, steps_min_items=3)
    assert check(part(text), required=strict).missing == ("steps",)
    assert check(part(text + "\n3. click Export"), required=strict).missing == ()


EN_STORY = (
    "This morning I logged in as a teacher and went to the course Biology. There I clicked "
    "on the gradebook and selected the export to Excel. After a minute the page shows a "
    "white screen with an error about a timeout, and the file never arrives in my downloads."
)
NL_STORY = (
    "Vanochtend ben ik ingelogd als docent en daarna naar de cursus Biologie gegaan. Daar "
    "klikte ik op het cijferoverzicht en koos ik de export naar Excel. Na een minuut krijg "
    "ik een wit scherm met een foutmelding over een time-out en het bestand komt nooit aan."
)
FR_STORY = (
    "Ce matin je me suis connecté en tant qu'enseignant puis je suis allé dans le cours de "
    "biologie. J'ai cliqué sur le carnet de notes et sélectionné l'export vers Excel. Après "
    "une minute la page devient blanche avec une erreur de délai et le fichier n'arrive pas."
)


@pytest.mark.parametrize("text", [EN_STORY, NL_STORY, FR_STORY], ids=["en", "nl", "fr"])
def test_description_of_actions(text: str) -> None:
    evidence = check(part(text)).found["steps"]
    assert "-word description" in evidence


@pytest.mark.parametrize("text", [EN_STORY, NL_STORY, FR_STORY], ids=["en", "nl", "fr"])
def test_description_needs_min_words(text: str) -> None:
    required = RequiredInfo(steps=True, steps_min_words=2 * len(text.split()))
    assert check(part(text), required=required).missing == ("steps",)


def test_description_needs_an_action_word() -> None:
    text = (
        "The gradebook is wrong. The totals are not the sum of the grades and the averages "
        "are different from last year. Our teachers are worried and the students are "
        "confused, because the report cards are due next week and nobody understands this."
    )
    assert len(text.split()) >= 40
    assert "steps" not in check(part(text)).found


def test_words_of_separate_mails_do_not_add_up() -> None:
    half = " ".join(EN_STORY.split()[:25])
    other = " ".join(EN_STORY.split()[25:])
    result = check(part(half), part(other))
    assert "steps" not in result.found


def test_action_words_are_whole_words() -> None:
    # "thenceforth" is not "then", "reopened" is not "opened", "clickbait" is not "click".
    text = ("thenceforth reopened clickbait " * 20).strip()
    assert "steps" not in check(part(text)).found


# -- login ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("login: jdoe", "login: jdoe"),
        ("Login : jdoe", "login: jdoe"),
        ("Username: jdoe@school.example", "username: jdoe@school.example"),
        ("User name = j.doe", "user name: j.doe"),
        ("user: jdoe", "user: jdoe"),
        ("User ID: 20240117", "user id: 20240117"),
        ("Account: acme-teacher-3", "account: acme-teacher-3"),
        ("Gebruikersnaam: pjansen", "gebruikersnaam: pjansen"),
        ("gebruiker: p.jansen", "gebruiker: p.jansen"),
        ("Identifiant : mdupont", "identifiant: mdupont"),
        ("Utilisateur\u00a0: mdupont", "utilisateur: mdupont"),
        ("Nom d’utilisateur : marie.curie", "nom d'utilisateur: marie.curie"),
        ("Benutzername: hmueller", "benutzername: hmueller"),
        ("Login (student): s123456", "login: s123456"),
        ("- login: jdoe", "login: jdoe"),
        ('login: "jdoe".', "login: jdoe"),
        ("Course: Biology, login: jdoe, browser: Firefox", "login: jdoe"),
        ("Login: jdoe / Password: hunter2", "login: jdoe"),
        ("login: jdoe (teacher)", "login: jdoe"),
        ("Hi team,\n\nmy login: jdoe\n\nThanks", "login: jdoe"),
        ("Sorry: login: jdoe", "login: jdoe"),
    ],
)
def test_login_forms(text: str, evidence: str) -> None:
    assert check(part(text)).found["login"] == evidence


@pytest.mark.parametrize(
    "text",
    [
        "login: ",
        "login:",
        "Login: doesn't work",
        "Username: John Doe",
        "Account: Acme Corp",
        "User: I can't get in",
        "login: ?",
        "login: n/a",
        "Gebruikersnaam: onbekend",
        "Identifiant : inconnu",
        "user: me",
        "login: failed",
        "I can't log in",
        "My login doesn't work",
        "Email: jdoe@school.example",
        "User-Agent: Mozilla/5.0",
        "Mon identifiant ne marche pas",
        "the user logs in: nothing happens",
    ],
)
def test_not_logins(text: str) -> None:
    assert "login" not in check(part(text)).found


def test_login_in_a_follow_up_completes_a_blocking_anomaly_report() -> None:
    first = part(EN_REPORT.replace("Login: jdoe", ""), "Blocking", SCREENSHOT)
    assert check(first, required=PREPAID).missing == ("login",)
    result = check(first, part("Sorry, I forgot. Login: jdoe", "Re: Blocking"), required=PREPAID)
    assert result.missing == ()


# -- password -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "password: hunter2",
        "Password: x",
        "PASSWORD = correct horse battery",
        "pw: 1234",
        "pwd: S3cret!",
        "passwd: letmein",
        "wachtwoord: Zomer2024",
        "Wachtwoord = welkom01",
        "mot de passe : azerty123",
        "Mot de passe: soleil",
        "mdp : azerty",
        "Passwort: geheim",
        "Login: jdoe / Password: hunter2",
        "login jdoe, password (old): abc",
        "My password is Welcome1",
        "mijn wachtwoord is Zomer2024!",
        "mon mot de passe est Soleil2024",
        "new password: Abc123",
    ],
)
def test_password_suspected(text: str) -> None:
    assert suspects_password(text)
    assert check(part(f"Hello,\n{text}\nThanks")).password_suspected


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "password reset link",
        "The password reset link has expired.",
        "Ik ben mijn wachtwoord vergeten.",
        "J'ai oublié mon mot de passe.",
        "Password:",
        "password: ",
        "Password: ********",
        "password: xxx",
        "Reset your password: https://lms.acme.example/login/forgot.php",
        "Password: https://lms.acme.example/reset",
        "Forgot password: click the link",
        "Wachtwoord vergeten: klik hier",
        "my password is wrong",
        "the password is 8 characters long",
        "mon mot de passe est incorrect",
        "Password: I tried resetting it twice but the mail never came",
        "passport: X1234567",
        "The pwned list",
        "password-protected: yes",
    ],
)
def test_password_not_suspected(text: str) -> None:
    assert not suspects_password(text)


def test_password_makes_nothing_found_and_any_part_flags_it() -> None:
    result = check(part("Hello"), part("password: hunter2"))
    assert result.password_suspected
    assert result.found == {}


def test_password_in_the_subject_is_not_read() -> None:
    # Subjects get forwarding prefixes of every mailer; only the text is read.
    assert not check(part("hello", "PW: password: hunter2")).password_suspected


def test_from_mail_uses_the_given_new_text() -> None:
    @dataclass(frozen=True)
    class Mail:
        subject: str
        attachments: tuple[Att, ...]

    mail = Mail(subject="Quiz", attachments=(SCREENSHOT,))
    report = ReportPart.from_mail(mail, "new text")  # type: ignore[arg-type]
    assert report == ReportPart("new text", "Quiz", (SCREENSHOT,))


# -- properties ----------------------------------------------------------------------

SNIPPETS = (
    "",
    "It doesn't work.",
    "see https://lms.acme.example/c/1",
    "https://other.example/x",
    "1. log in\n2. open Grades",
    "login: jdoe",
    "password: hunter2",
    EN_STORY,
    NL_STORY,
    "Gebruikersnaam: pjansen",
    "- Browser: Chrome\n- OS: Windows",
)
ATTACHMENTS = (SCREENSHOT, LOGO, PIXEL, Att("doc.pdf", "application/pdf"))

parts_strategy = st.builds(
    ReportPart,
    text=st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=80)),
    subject=st.one_of(st.sampled_from(("Problem", "Re: https://lms.acme.example/a")), st.text()),
    attachments=st.lists(st.sampled_from(ATTACHMENTS), max_size=3).map(tuple),
)
required_strategy = st.builds(
    RequiredInfo,
    url=st.booleans(),
    screenshot=st.booleans(),
    steps=st.booleans(),
    login=st.booleans(),
    url_domains=st.sampled_from(((), ("acme.example",), ("lms.acme.example", "other.example"))),
    steps_min_words=st.integers(1, 80),
    steps_min_items=st.integers(2, 4),
)


@SETTINGS
@given(st.lists(parts_strategy, max_size=4), parts_strategy, required_strategy)
def test_adding_a_part_never_adds_a_missing_item(
    parts: list[ReportPart], extra: ReportPart, required: RequiredInfo
) -> None:
    before = check_report(parts, required)
    after = check_report([*parts, extra], required)
    assert set(after.missing) <= set(before.missing)
    assert set(before.found) <= set(after.found)
    assert after.password_suspected >= before.password_suspected


@SETTINGS
@given(st.lists(parts_strategy, max_size=4), required_strategy, st.randoms())
def test_order_of_parts_does_not_change_what_is_missing(
    parts: list[ReportPart], required: RequiredInfo, rnd: random.Random
) -> None:
    shuffled = list(parts)
    rnd.shuffle(shuffled)
    a, b = check_report(parts, required), check_report(shuffled, required)
    assert a.missing == b.missing
    assert set(a.found) == set(b.found)
    assert a.password_suspected == b.password_suspected


@SETTINGS
@given(st.lists(parts_strategy, max_size=4), required_strategy)
def test_missing_is_required_minus_found_in_policy_order(
    parts: list[ReportPart], required: RequiredInfo
) -> None:
    result = check_report(parts, required)
    assert result.missing == tuple(i for i in required.items if i not in result.found)
    assert all(result.found.values())


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_is_checked_without_error(text: str) -> None:
    result = check_report([ReportPart(text, text[:40], ())], ALL)
    assert set(result.missing) | set(result.found) >= set(ALL.items)


def test_list_item_with_a_colon_is_a_step_when_it_says_an_action() -> None:
    text = "1. Click Grades: nothing happens\n2. Open Export: blank page"
    assert check(part(text)).found["steps"] == "2 numbered steps"


def test_signature_and_pgp_dashes_are_not_list_items() -> None:
    text = "- -----BEGIN PGP SIGNED MESSAGE-----\n- -----END PGP SIGNATURE-----\n-- \nJohn"
    assert "steps" not in check(part(text)).found


@pytest.mark.parametrize(
    "text",
    [
        " " * 50_000,
        "\t" * 50_000 + "login",
        "login" + " " * 50_000,
        "password" + " " * 50_000 + "x",
        "step 1" + "\t" * 50_000,
        "https://a.example/" + ")" * 50_000,
        " - " * 20_000,
    ],
    ids=["spaces", "tabs", "login", "password", "step", "parens", "dashes"],
)
def test_long_runs_of_blanks_and_punctuation_are_handled(text: str) -> None:
    # These took minutes with quadratic patterns; no timing is asserted, the
    # suite's timeout is the guard.
    result = check(part(text, text[:200]))
    assert set(result.missing) | set(result.found) >= set(ALL.items)


@pytest.mark.parametrize(
    "line",
    [
        "Login de l'utilisateur : jdupont",
        "Identifiant de l'utilisateur: jdupont",
        "Login van de gebruiker: jdupont",
    ],
)
def test_qualified_login_labels(line: str) -> None:
    from maildesk.core.policy import RequiredInfo
    from maildesk.ingest.intake import ReportPart, check_report

    check = check_report(
        [ReportPart(text=f"Bonjour,\n{line}\n", subject="x")], RequiredInfo(login=True)
    )
    assert check.missing == ()
    assert "jdupont" in check.found["login"]
