"""The breadcrumb's trail, fitted to its room: the middle goes first."""

from __future__ import annotations

from rich.cells import cell_len

from moment_tui.ui.screens.detail_text import rules_currency
from moment_tui.ui.widgets.breadcrumb import fit

TRAIL = ["Bills", "INV-2026-0172", "INV-2026-0380", "Kagiso Mahlangu"]


def test_a_trail_that_fits_is_whole() -> None:
    assert fit(TRAIL, 80) == "Bills › INV-2026-0172 › INV-2026-0380 › Kagiso Mahlangu"
    assert fit(["Home"], 10) == "Home"


def test_a_long_trail_loses_its_middle_and_keeps_the_view_and_where_you_are() -> None:
    assert fit(TRAIL, 50) == "Bills › … › INV-2026-0380 › Kagiso Mahlangu"
    assert fit(TRAIL, 40) == "Bills › … › Kagiso Mahlangu"
    assert fit(TRAIL, 20) == "… › Kagiso Mahlangu"
    assert fit(TRAIL, 10) == "… › Kagis…"
    for room in range(4, 70):
        assert cell_len(fit(TRAIL, room)) <= room, room
        if room >= 20:
            assert fit(TRAIL, room).endswith("Kagiso Mahlangu"), room


class _Bill:
    def __init__(self, currency: str) -> None:
        self.currency = currency


def test_rules_without_a_currency_of_their_own_take_their_bills_one() -> None:
    assert rules_currency("USD", [_Bill("ZAR")]) == "USD"
    assert rules_currency(None, [_Bill("ZAR"), _Bill("ZAR")]) == "ZAR"
    assert rules_currency(None, [_Bill("ZAR"), _Bill("NGN")]) is None
    assert rules_currency(None, []) is None
