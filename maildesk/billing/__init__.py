"""maildesk."""
