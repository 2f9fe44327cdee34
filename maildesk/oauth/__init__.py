"""OAuth2 access tokens for mailboxes: obtained, cached, refreshed, kept safely.

The token layer sits below the mail protocols: ``ingest.imap`` logs in with an
access token from a :class:`~maildesk.oauth.source.TokenSource`, and
``notify.smtp`` authenticates with one; neither knows which provider issued it.
Each provider lives in one module that alone imports its library: msal in
``microsoft``, google-auth in ``google``, Authlib in ``generic``. Refresh tokens
and cached access tokens are kept by ``store`` under the data folder.
"""
