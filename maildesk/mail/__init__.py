"""The mail format: reading and writing RFC 5322 and MIME, and nothing else.

Parsing, charsets, MIME parts, HTML to text, DSN reports, the new text of a
reply, Authentication-Results and the sender's address, and composing outgoing
mail. No database and no network: ``ingest/`` and ``notify/`` build on it.
"""
