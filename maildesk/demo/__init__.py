"""``maildesk demo``: the example contracts replayed as stories on a simulated clock.

Wiring-level like the daemon: it builds a :class:`~maildesk.daemon.Maildesk` from an
example config and drives it; nothing but the CLI and the tests import it.
"""
