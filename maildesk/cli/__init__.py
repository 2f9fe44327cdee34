"""The maildesk command line (entry point: ``maildesk.cli.main:main``)."""
