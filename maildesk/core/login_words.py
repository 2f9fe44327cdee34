"""Why a mail server refused a login, in words an operator can act on.

IMAP and SMTP servers answer a refused login with one short line, and most say
the same for a wrong password and an unknown user (on purpose: they do not tell
a stranger which users exist). These words name what the answer can mean for
the way maildesk logged in, and what to change. Pure: the protocol modules call
it with the server's text.
"""

from __future__ import annotations

# Providers that no longer take a password for IMAP or SMTP.
_OAUTH_ONLY = {
    "outlook.office365.com": "Microsoft 365",
    "smtp.office365.com": "Microsoft 365",
    "imap.gmail.com": "Google",
    "smtp.gmail.com": "Google",
}


def _clean(server_text: str) -> str:
    """The server's line without the ``b'...'`` of a bytes repr imapclient may add."""
    text = server_text.strip()
    if len(text) > 2 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text or "no reason given"


def refused_words(
    host: str, username: str, how: str, password_env: str | None, server_text: str
) -> str:
    """What a refused login (``how``: "password", "xoauth2", "oauthbearer") means."""
    said = _clean(server_text)
    if "[UNAVAILABLE]" in said.upper() and how == "password":
        return (
            "the server could not check the login just now (a fault on its side); "
            f"maildesk tries again (server said: {said})"
        )
    if "[UNAVAILABLE]" in said.upper():
        return (
            f"the server accepted the access token but could not open a mailbox for "
            f"{username!r}: there is no such user or mailbox on the server, or it failed "
            f"opening it; check `username` (server said: {said})"
        )
    if how == "password":
        provider = _OAUTH_ONLY.get(host.lower())
        if provider is not None or "application-specific password" in said.lower():
            return (
                f"{provider or 'the provider'} refused the password login for {username}: "
                "it has switched off password login; set auth = 'oauth2' with a provider "
                f"block (see docs/mailboxes.md) (server said: {said})"
            )
        where = f"${password_env}" if password_env else "the configured password"
        return (
            f"the server refused user {username!r} with the password from {where}: the "
            f"password is wrong, or there is no user {username!r} on this server (servers "
            "do not say which); check `username` and the password "
            f"(server said: {said})"
        )
    return (
        f"the server refused the access token for user {username!r} ({how.upper()}): the "
        "token was issued for another user or the mailbox is not shared with the app "
        "(Microsoft app-only: Add-MailboxPermission for the app's service principal; "
        "delegated: the signed-in user needs Full Access to the mailbox), the app lacks "
        "the mail permission (IMAP.AccessAsApp / IMAP.AccessAsUser.All, or "
        "https://mail.google.com/ for Google), or the server no longer accepts the token "
        f"(server said: {said})"
    )
