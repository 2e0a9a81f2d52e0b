"""When parts of the console fail, it says so and keeps running: never a traceback."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from moment_tui.api.errors import Problem, Unprocessable
from moment_tui.store import eventlog
from moment_tui.ui.app import MomentApp
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.delivery_list import DeliveryList
from moment_tui.ui.widgets.webhook_panel import READING, WebhookPanel
from tests.ui.ui_helpers import connected, sandbox_app, text_of, wait_until


def messages(app: MomentApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_a_refused_simulated_payment_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
        runtime = app.runtime

        async def refuse() -> None:
            problem = Problem(422, "Request could not be processed", "bill … is already paid")
            raise Unprocessable("POST", "/sandbox/payments", problem)

        runtime.simulate_payment = refuse  # type: ignore[method-assign]
        await pilot.press("p")
        await wait_until(
            pilot,
            lambda: any("refused the payment" in m for m in messages(app)),
            "a notification about the refusal",
        )
        assert app.is_running
        refusal = next(m for m in messages(app) if "refused the payment" in m)
        assert "already paid" in refusal


async def press_p_and_wait_for(pilot: Pilot[int], app: MomentApp, notice: str) -> None:
    await pilot.press("p")
    await wait_until(pilot, lambda: notice in messages(app), f"the notice {notice!r}")


def payments_made(folder: Path) -> int:
    """How many payments the sandbox under ``folder`` has recorded."""
    db = sqlite3.connect(folder / "sandbox.sqlite3")
    try:
        count: int = db.execute("SELECT count(*) FROM payments").fetchone()[0]
        return count
    finally:
        db.close()


async def test_read_only_makes_no_payment_and_says_why(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
        await press_p_and_wait_for(
            pilot, app, "Read-only: the console makes no payments (see --read-only)."
        )
    assert payments_made(tmp_path) == 0


async def test_without_a_listener_no_payment_is_made_whose_webhook_would_be_lost(
    tmp_path: Path,
) -> None:
    """A second console on a taken port: its sandbox has nowhere to deliver, so p
    refuses (before, it paid, and the event waited for a listener that never came)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = sandbox_app(tmp_path, port=taken.getsockname()[1])
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
            wanted = (
                "The webhook listener is not running, so a payment's webhook could not "
                "reach this console; nothing was paid."
            )
            await press_p_and_wait_for(pilot, app, wanted)
    assert payments_made(tmp_path) == 0


async def test_a_workspace_that_cannot_open_is_reported_and_the_app_stays_up(
    tmp_path: Path,
) -> None:
    newer = sqlite3.connect(tmp_path / "ws.sqlite3")
    newer.execute("PRAGMA user_version = 99")  # written by a newer moment-tui
    newer.close()
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot,
            lambda: "could not start" in text_of(app, ConnectionPanel),
            "the failure to be shown",
        )
        assert "newer moment-tui" in text_of(app, ConnectionPanel)
        assert app.query_one(ConnectionPanel).content  # still drawn, not crashed
        assert app.is_running


async def test_an_event_log_that_cannot_be_read_says_so_where_its_figures_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conn: sqlite3.Connection, **_: object) -> object:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(eventlog, "read_books", broken)
    monkeypatch.setattr(eventlog, "latest", broken)
    app = sandbox_app(tmp_path)
    wanted = (
        "Could not read the event log's counts: database disk image is malformed",
        "Could not read the earlier deliveries: database disk image is malformed",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot,
            lambda: all(m in messages(app) for m in wanted),
            "both failures to be notified",
        )
        assert "malformed" in text_of(app, WebhookPanel)  # set by the same handler
        assert READING not in text_of(app, WebhookPanel)
        deliveries = app.home.query_one(DeliveryList)
        await wait_until(pilot, lambda: deliveries.has_class("-empty"), "the hint to show")
        hint = str(app.home.query_one("#delivery-hint", Static).content)
        assert hint == "Earlier deliveries could not be read: database disk image is malformed"
        assert app.is_running


async def test_a_key_the_keyring_could_not_be_asked_for_is_not_silently_absent(
    tmp_path: Path,
) -> None:
    why = "no usable system keyring (KeyringLocked), so it may be stored there"
    app = sandbox_app(tmp_path, sources={"api_key": f"not found: {why}"})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
        assert f"No API key was found ({why})." in messages(app)


async def test_no_key_stored_is_no_warning(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, sources={"api_key": "not stored"})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
        assert not any("No API key" in m for m in messages(app))


async def test_a_screenshot_without_a_downloads_directory_goes_to_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The palette's Screenshot on a server with no ~/Downloads (Textual's choice, so
    it said only "Failed to save screenshot")."""
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "no-such-downloads"))
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox to connect")
        app.action_screenshot("shot.svg")
        saved = tmp_path / "screenshots" / "shot.svg"
        await wait_until(pilot, lambda: saved.exists() and saved.stat().st_size > 0, "the file")
        await wait_until(
            pilot,
            lambda: any("shot.svg" in m for m in messages(app)),
            "a notification saying where it went",
        )
    assert "Connected" in saved.read_text()  # the screen, as SVG text
    assert not (tmp_path / "no-such-downloads").exists()
