"""The console's views, in the order of their keys: the app registers each as a mode.

A view is named here, not in ``app.py``: adding one means adding a line below and
its screen module. Screens are imported when first shown, so the console's first
paint pays only for the home screen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from textual.screen import Screen

    from moment_tui.ui.console import Console


@dataclass(frozen=True)
class View:
    mode: str  # the app mode (its own stack of screens: Escape goes back within it)
    title: str  # the palette entry and the breadcrumb's first crumb
    key: str
    description: str
    screen: str  # "module:Class", a ConsoleScreen taking the Console

    def factory(self, console: Console) -> Callable[[], Screen[None]]:
        def build() -> Screen[None]:
            module, _, name = self.screen.partition(":")
            cls = getattr(importlib.import_module(module), name)
            screen: Screen[None] = cls(console)
            return screen

        return build


VIEWS: Final = (
    View(
        "home",
        "Home",
        "1",
        "At a glance: outstanding, overdue aging, payments, live deliveries",
        "moment_tui.ui.screens.home:HomeScreen",
    ),
    View(
        "customers",
        "Customers",
        "2",
        "Every customer the catalogue knows: balance, accounts, bills, outstanding",
        "moment_tui.ui.screens.customers:CustomersScreen",
    ),
    View(
        "accounts",
        "Accounts",
        "3",
        "Accounts under their customers: balance, bills, outstanding",
        "moment_tui.ui.screens.accounts:AccountsScreen",
    ),
    View(
        "bills",
        "Bills",
        "4",
        "Bills: amounts due, paid and remaining, status, due dates, overdue",
        "moment_tui.ui.screens.bills:BillsScreen",
    ),
    View(
        "requests",
        "Requests",
        "5",
        "Every API call the console made, with its request and response",
        "moment_tui.ui.screens.requests:RequestsScreen",
    ),
)
