"""Pictures of each view, pinned as SVG snapshots (tests/ui/__snapshots__/).

Regenerate after a deliberate change with ``pytest tests/ui/test_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.

What makes the pictures stable:

* the sandbox is seeded for a fixed ``SEED_TODAY``, so its counts never change;
* the listener binds a FIXED port, ``SNAPSHOT_PORT``, because its address is on
  screen. This assumes nothing else on the machine uses 127.0.0.1:28765 while the
  snapshot tests run (each test checks first, and says so if it is taken). The port
  is below Linux's ephemeral range (32768-60999), so no port-0 listener or outgoing
  connection is handed it by chance. The tests run one after another, each app
  closing its listener before the next starts;
* deliveries carry wall-clock times and random ids, so the delivery and detail
  pictures use fixed ``Delivery``/``Application`` values (``fixed_deliveries``), fed
  through the path the runtime uses: the console state's ``add_deliveries`` and
  ``add_applications``, drawn by the table's own flush;
* every picture is taken only once the screen has settled on what it shows.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from moment_tui.ui.app import MomentApp
from moment_tui.ui.modals.delivery_detail import DeliveryDetail
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_list import DeliveryList
from moment_tui.ui.widgets.delivery_table import DeliveryTable
from moment_tui.ui.widgets.webhook_panel import WebhookPanel
from tests.ui.ui_helpers import (
    LIVE_KEY,
    TEST_KEY,
    cell,
    connected,
    fixed_deliveries,
    keyed_app,
    on_screen,
    sandbox_app,
    screen_text,
    table_settled,
    text_of,
    wait_until,
)

SNAPSHOT_PORT = 28765
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Snap = Callable[..., bool]
Before = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def snapshot_port_is_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", SNAPSHOT_PORT))
        except OSError as exc:  # pragma: no cover - depends on the machine
            pytest.fail(f"the snapshot tests need 127.0.0.1:{SNAPSHOT_PORT} free: {exc}")


async def settled(pilot: Pilot[Any]) -> None:
    """Connected with counts, the listener address shown, the footer drawn."""
    app = pilot.app
    assert isinstance(app, MomentApp)
    address = f"127.0.0.1:{SNAPSHOT_PORT}/webhooks/moment"
    await wait_until(pilot, lambda: connected(app), "the catalogue counts")
    await wait_until(pilot, lambda: text_of(app, WebhookPanel).startswith(address), address)
    # What the picture shows, not just what the widgets hold: repaints come later.
    counts = text_of(app, ConnectionPanel).splitlines()
    books = text_of(app, WebhookPanel).splitlines()
    await wait_until(pilot, lambda: on_screen(app, *counts, *books), "the panels drawn")
    hint = app.home.query_one(DeliveryList).hint
    await wait_until(pilot, lambda: on_screen(app, hint), "the empty table's hint")
    await wait_until(pilot, lambda: "Quit" in screen_text(app).splitlines()[-1], "the footer")


async def with_deliveries(pilot: Pilot[Any]) -> None:
    """Settled, then the fixed deliveries arrive as the runtime reports them."""
    await settled(pilot)
    app = pilot.app
    assert isinstance(app, MomentApp)
    pairs = fixed_deliveries()
    app.moment.state.add_deliveries([delivery for delivery, _ in pairs])
    app.moment.state.add_applications([a for _, a in pairs if a is not None])
    table = app.home.query_one(DeliveryTable)
    await wait_until(
        pilot,
        lambda: (
            table.row_count == len(pairs)
            and all(cell(app, a.delivery_seq, "result").startswith(a.state) for _, a in pairs if a)
        ),
        "the fixed deliveries and their results",
    )
    await wait_until(
        pilot,
        lambda: on_screen(
            app, "3 verified · 1 dup · 1 rejected", "2 confirmed · 1 drift · 0 unchecked"
        ),
        "the tally drawn",
    )
    await wait_until(pilot, lambda: table_settled(app), "the columns to fit the rows")
    assert table.cursor_row == len(pairs) - 1  # the table follows the newest row


def detail_of(seq: int) -> Before:
    """With the fixed deliveries, Enter on row ``seq`` (the app's own way to the detail)."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await with_deliveries(pilot)
        app = pilot.app
        assert isinstance(app, MomentApp)
        table = app.home.query_one(DeliveryTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(seq)))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the detail")
        assert isinstance(app.screen, DeliveryDetail)
        first_line = app.screen.text.splitlines()[0]
        assert first_line.startswith(f"Delivery #{seq} · ")
        await wait_until(pilot, lambda: on_screen(app, first_line), "the detail drawn")

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_home_after_start(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES)
def test_home_with_deliveries(snap_compare: Snap, tmp_path: Path, size: tuple[int, int]) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=with_deliveries)


@pytest.mark.parametrize("size", SIZES)
def test_detail_of_a_verified_delivery(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=detail_of(1))


@pytest.mark.parametrize("size", SIZES)
def test_detail_of_a_rejected_delivery(
    snap_compare: Snap, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = sandbox_app(tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=size, run_before=detail_of(4))


def test_home_in_test_mode(snap_compare: Snap, tmp_path: Path) -> None:
    app = keyed_app(TEST_KEY, tmp_path, port=SNAPSHOT_PORT)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


def test_home_in_live_mode(snap_compare: Snap, tmp_path: Path) -> None:
    app = keyed_app(LIVE_KEY, tmp_path, port=SNAPSHOT_PORT, read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)
