"""Entry points over HTTP: the operator endpoints (``ops``) and the client portal (``portal``)."""
