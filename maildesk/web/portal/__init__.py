"""The client portal: one page per client, opened by a signed link (see ``app``)."""
