"""Subcommands of ``moment-tui`` beyond the console and credentials (see ``cli.py``)."""
