"""moment-tui: a terminal console for Moment's Billing API."""

__version__ = "0.1.0"
