"""The new text of a reply: hand-written mails from the clients maildesk's users write with.

Each case is a reply as it reaches the support mailbox; the assertion is what
maildesk relays and reads staff commands from.
"""

from __future__ import annotations

import pytest

from maildesk.mail.reply import DEFAULT_LANGUAGES, KNOWN_LANGUAGES, extract_new_text

QUESTION = "> Can you look at the export page?\n> #time 1h\n"


# -- quote headers, one per client and language ------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        # Gmail (en), with and without the day name, and wrapped before the address
        "On Mon, May 6, 2024 at 10:12 AM Jan Peeters <jan@example.be> wrote:",
        "On Mon, 6 May 2024 at 10:12, Jan Peeters <jan@example.be> wrote:",
        "On Mon, May 6, 2024 at 10:12 AM Jan Peeters <\njan@example.be> wrote:",
        # Apple Mail (en)
        "On 6 May 2024, at 10:12, Jan Peeters <jan@example.be> wrote:",
        # Thunderbird (en), no address
        "On 06/05/2024 10:12, Jan Peeters wrote:",
        # Gmail and Apple Mail in Dutch
        "Op ma 6 mei 2024 om 10:12 schreef Jan Peeters <jan@example.be>:",
        "Op 6 mei 2024 om 10:12 heeft Jan Peeters <jan@example.be> het volgende geschreven:",
        # Gmail and Apple Mail in French, with the no-break space before the colon
        "Le lun. 6 mai 2024 à 10:12, Jan Peeters <jan@example.be> a écrit\u00a0:",
        "Le 6 mai 2024 à 10:12, Jan Peeters <jan@example.be> a écrit :",
        # Gmail in German, both word orders
        "Am Mo., 6. Mai 2024 um 10:12 Uhr schrieb Jan Peeters <jan@example.be>:",
        "Jan Peeters <jan@example.be> schrieb am Mo., 6. Mai 2024 um 10:12:",
    ],
)
def test_wrote_header_and_quote_are_dropped(header: str) -> None:
    mail = f"The export works again.\n\n{header}\n\n{QUESTION}"
    assert extract_new_text(mail) == "The export works again."


@pytest.mark.parametrize(
    "block",
    [
        # classic Outlook
        "-----Original Message-----\nFrom: Jan Peeters [mailto:jan@example.be]\n"
        "Sent: Monday, May 6, 2024 10:12 AM\nTo: Support\nSubject: Export",
        # new Outlook, with its line of underscores and bold field names
        "________________________________\n*From:* Jan Peeters <jan@example.be>\n"
        "*Sent:* Monday, May 6, 2024 10:12 AM\n*To:* Support <support@example.com>\n"
        "*Subject:* Export",
        # a "Reply-To:" between "From:" and "Date:" (Outlook for Mac)
        "From: Jan Peeters <jan@example.be>\nReply-To: Jan Peeters <jan@example.be>\n"
        "Date: Monday, 6 May 2024 at 10:12\nTo: Support <support@example.com>\nSubject: Export",
        # Outlook in Dutch, French and German
        "-----Oorspronkelijk bericht-----\nVan: Jan Peeters <jan@example.be>\n"
        "Verzonden: maandag 6 mei 2024 10:12\nAan: Support\nOnderwerp: Export",
        "De : Jan Peeters <jan@example.be>\nEnvoyé : lundi 6 mai 2024 10:12\n"
        "À : Support\nObjet : Export",
        "Von: Jan Peeters <jan@example.be>\nGesendet: Montag, 6. Mai 2024 10:12\n"
        "An: Support\nBetreff: Export",
    ],
)
def test_outlook_block_and_the_unmarked_earlier_mail_are_dropped(block: str) -> None:
    mail = f"The export works again.\n\n{block}\n\nCan you look at the export page?\n#time 1h\n"
    assert extract_new_text(mail) == "The export works again."


def test_forward_marker_with_nothing_typed_keeps_the_forwarded_text() -> None:
    mail = (
        "---------- Forwarded message ---------\n"
        "From: Jan Peeters <jan@example.be>\n"
        "Date: Mon, May 6, 2024 at 10:12 AM\n"
        "Subject: Export\n"
        "To: <support@example.com>\n"
        "\n"
        "The export page shows an error.\n"
    )
    assert extract_new_text(mail) == "The export page shows an error."


# -- staff commands ----------------------------------------------------------------------


def test_time_command_inside_the_quote_is_gone() -> None:
    mail = (
        "Fixed the export.\n"
        "#time 30m\n"
        "\n"
        "On Mon, May 6, 2024 at 10:12 AM Support <support@example.com> wrote:\n"
        "> Looked at the login page.\n"
        "> #time 1h\n"
    )
    new = extract_new_text(mail)
    assert new == "Fixed the export.\n#time 30m"
    assert "#time 1h" not in new


def test_time_command_below_a_sign_off_is_kept() -> None:
    """The library's own sign-off rule would cut at "Thanks,"; maildesk keeps the command."""
    mail = (
        "Thanks, that was it.\n\nThanks,\n#time 15m\n\n"
        "On Mon, May 6, 2024 at 10:12 AM Jan <jan@example.be> wrote:\n> It broke.\n"
    )
    assert extract_new_text(mail) == "Thanks, that was it.\n\nThanks,\n#time 15m"


# -- signatures, trailers, whitespace --------------------------------------------------------


def test_signature_after_the_standard_delimiter_is_dropped() -> None:
    mail = "Fixed.\n#time 30m\n\n-- \nJan Peeters\nACME support\n+32 2 555 01 01\n"
    assert extract_new_text(mail) == "Fixed.\n#time 30m"


def test_dashes_inside_a_line_are_not_a_signature() -> None:
    mail = "Step 1 -- open the page.\nStep 2 -- click export.\n"
    assert extract_new_text(mail) == "Step 1 -- open the page.\nStep 2 -- click export."


def test_mobile_trailer_is_dropped() -> None:
    assert extract_new_text("Works now.\n\nSent from my iPhone\n") == "Works now."
    assert extract_new_text("Werkt weer.\n\nVerstuurd vanaf mijn iPhone\n") == "Werkt weer."


def test_mail_without_a_quote_comes_back_unchanged() -> None:
    mail = (
        "Hello,\n\n"
        "Steps:\n"
        "  1. open https://lms.example.com/course/42\n"
        "  2. click Export\n"
        "\n"
        "    # indented code keeps its indentation\n"
        "    print('x')\n"
        "\n"
        "Kind regards,\n"
        "Jan\n"
    )
    assert extract_new_text(mail + "  \n\n\n") == mail.rstrip()


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_become_lf(newline: str) -> None:
    mail = newline.join(
        ["Works now.", "", "On Mon, 6 May 2024, Jan <jan@example.be> wrote:", "> q"]
    )
    assert extract_new_text(mail) == "Works now."


def test_whitespace_only_mail_is_empty() -> None:
    assert extract_new_text("") == ""
    assert extract_new_text(" \r\n\t\n") == ""


# -- quote-only, bottom posting, inline answers ----------------------------------------------


def test_all_quote_mail_is_returned_whole() -> None:
    """Nothing typed: keep the mail (never lose it silently); it still reads as a quote."""
    mail = "> Can you look at the export page?\n> #time 1h\n"
    assert extract_new_text(mail) == mail.rstrip()


def test_quote_header_and_quote_only_is_returned_whole() -> None:
    mail = "On Mon, 6 May 2024 at 10:12, Jan <jan@example.be> wrote:\n\n" + QUESTION
    assert extract_new_text(mail) == mail.rstrip()


def test_bottom_posted_answer_is_taken_from_below_the_quote() -> None:
    mail = "On Mon, 6 May 2024 at 10:12, Jan <jan@example.be> wrote:\n\n" + QUESTION + "\nDone.\n"
    assert extract_new_text(mail) == "Done."


def test_leading_excerpt_without_a_header_is_kept() -> None:
    mail = "> Can you look at the export page?\n\nDone, it works.\n\n> earlier mail\n> more\n"
    assert extract_new_text(mail) == "> Can you look at the export page?\n\nDone, it works."


def test_inline_answers_keep_their_questions_and_drop_the_rest_of_the_quote() -> None:
    mail = (
        "Answers below.\n"
        "\n"
        "On Mon, May 6, 2024 at 10:12 AM Jan <jan@example.be> wrote:\n"
        "> Does the login work?\n"
        "\n"
        "Yes.\n"
        "\n"
        "> And the export?\n"
        "\n"
        "Not yet.\n"
        "\n"
        "> Regards, Jan\n"
        "> #time 1h\n"
    )
    assert extract_new_text(mail) == (
        "Answers below.\n\n> Does the login work?\n\nYes.\n\n> And the export?\n\nNot yet."
    )


def test_rewrapped_quote_line_is_not_an_inline_answer() -> None:
    mail = (
        "Done.\n"
        "\n"
        "On Mon, May 6, 2024 at 10:12 AM Jan <jan@example.be> wrote:\n"
        "> The export page shows an error when the course has more than a\n"
        "hundred students.\n"
        "> Can you look?\n"
    )
    assert extract_new_text(mail) == "Done."


# -- languages ---------------------------------------------------------------------------


def test_languages_choose_which_headers_are_known() -> None:
    mail = (
        "Det fungerar nu.\n\nFrån: Jan Peeters <jan@example.be>\n"
        "Skickat: den 6 maj 2024 10:12\nTill: Support\nÄmne: Export\n\nKan ni titta?\n"
    )
    assert "Från:" in extract_new_text(mail)
    assert extract_new_text(mail, [*DEFAULT_LANGUAGES, "sv"]) == "Det fungerar nu."


def test_unknown_language_is_refused() -> None:
    assert set(DEFAULT_LANGUAGES) <= KNOWN_LANGUAGES
    with pytest.raises(ValueError, match="xx"):
        extract_new_text("hello", ["en", "xx"])


# -- pathological input ------------------------------------------------------------------
# pytest-timeout only guards against a hang (catastrophic backtracking would take
# minutes); the timings themselves are in the module docstring, not asserted.


@pytest.mark.timeout(20)
@pytest.mark.parametrize("token", ["On ", "Op ", "Le ", "Am ", "> On "])
def test_long_lines_that_start_like_headers_finish(token: str) -> None:
    line = (token * 70)[:200]
    mail = "Hello\n" + "\n".join([line] * 4000) + "\n"
    expected = "Hello" if token.startswith(">") else mail.rstrip()  # a trailing quote goes
    assert extract_new_text(mail) == expected


@pytest.mark.timeout(20)
def test_one_huge_line_finishes() -> None:
    mail = "Hello\n" + "On " * 300_000
    assert extract_new_text(mail) == mail.rstrip()


@pytest.mark.timeout(20)
def test_header_beyond_the_window_still_drops_a_trailing_quote() -> None:
    typed = "log line 1234\n" * 5000  # 70 KB: more than the header search looks at
    mail = typed + "\nOn Mon, 6 May 2024 at 10:12, Jan <jan@example.be> wrote:\n" + QUESTION
    assert extract_new_text(mail) == typed.rstrip()
