"""The console starts headless, shows its mode and whether Moment answers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from textual.pilot import Pilot

from moment_tui.api.client import RetryPolicy
from moment_tui.config import Settings
from moment_tui.runtime import RuntimeOptions
from moment_tui.secrets import Secret
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.widgets.connection_panel import ConnectionPanel
from moment_tui.ui.widgets.mode_banner import ModeBanner
from tests.ui.ui_helpers import sandbox_app

TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LIVE_KEY = "sk_4eC39HqLyjWDarjtT1zdp7dc"
API_URL = "https://example.test"


def settings_for(key: str | None, tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        api_key=Secret(key) if key else None,
        api_url=API_URL,
        config_dir=tmp_path,
        data_dir=tmp_path,
        **extra,  # type: ignore[arg-type]
    )


def app_for(settings: Settings, tmp_path: Path, status: int, body: dict[str, object]) -> MomentApp:
    """The real app and runtime; only the API answers come from a MockTransport."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json=body, headers={"content-type": "application/problem+json"}
        )

    options = RuntimeOptions(
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
        listener_port=0,
        workspace=tmp_path / "workspace.sqlite3",
        sandbox_db=tmp_path / "sandbox.sqlite3",
    )
    return create_app(settings, options)


NOT_FOUND = {"title": "Not Found", "status": 404, "detail": "no such customer"}
REFUSED = {"title": "Unauthorized", "status": 401, "detail": "Invalid API key"}


def text_of(app: MomentApp, widget: type[ConnectionPanel] | type[ModeBanner]) -> str:
    return str(app.query_one(widget).content)


WAIT_SECONDS = 20.0  # a deadline: waits end as soon as the condition holds


async def wait_until(pilot: Pilot[int], condition: Callable[[], bool]) -> None:
    """Let the app run until ``condition`` holds; TimeoutError after WAIT_SECONDS."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():
            await pilot.pause()


async def test_test_mode_connects_and_masks_the_key(tmp_path: Path) -> None:
    app = app_for(settings_for(TEST_KEY, tmp_path), tmp_path, 404, NOT_FOUND)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Connected" in text_of(app, ConnectionPanel))
        panel = text_of(app, ConnectionPanel)
        assert panel.startswith(f"● Connected to {API_URL}")
        assert not app.query_one(ConnectionPanel).has_class("-failed")

        banner = app.query_one(ModeBanner)
        assert str(banner.content) == f"Test mode · {API_URL} · key sk_test_…7dc"
        assert banner.has_class("-test")
        assert not banner.has_class("-live")
        assert TEST_KEY not in str(banner.content)
        assert TEST_KEY not in panel
        assert app.title == "moment-tui"


async def test_live_key_shows_a_live_banner(tmp_path: Path) -> None:
    settings = settings_for(LIVE_KEY, tmp_path, read_only=True)
    app = app_for(settings, tmp_path, 404, NOT_FOUND)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Connected" in text_of(app, ConnectionPanel))
        banner = app.query_one(ModeBanner)
        assert str(banner.content) == (
            f"LIVE MODE · real money · {API_URL} · writes ask first · read-only"
        )
        assert banner.has_class("-live")
        assert LIVE_KEY not in str(banner.content)
        # The banner is docked at the top of the screen and visible.
        assert banner.region.y == 0
        assert banner.region.height == 1


async def test_a_refused_key_is_reported(tmp_path: Path) -> None:
    app = app_for(settings_for(TEST_KEY, tmp_path), tmp_path, 401, REFUSED)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Known here" in text_of(app, ConnectionPanel))
        assert text_of(app, ConnectionPanel).startswith(
            f"✕ Cannot use {API_URL}\nkey refused: Invalid API key\nKnown here: 0 customers"
        )
        wanted = f"Cannot use {API_URL}: key refused: Invalid API key"
        # The whole reason in a notification, where the panel may cut it.
        await wait_until(pilot, lambda: wanted in [str(n.message) for n in app._notifications])
        assert app.query_one(ConnectionPanel).has_class("-failed")
        assert TEST_KEY not in text_of(app, ConnectionPanel)


async def test_without_a_key_it_runs_on_the_sandbox(tmp_path: Path) -> None:
    app = app_for(settings_for(None, tmp_path), tmp_path, 500, {})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Connected" in text_of(app, ConnectionPanel))
        assert text_of(app, ConnectionPanel).startswith("● Connected to the sandbox")
        banner = app.query_one(ModeBanner)
        assert str(banner.content) == "Sandbox · no API key: a local Moment on this machine"
        assert banner.has_class("-sandbox")
        assert app.runtime.sandbox is not None


async def test_q_quits_and_closes_the_client(tmp_path: Path) -> None:
    app = app_for(settings_for(TEST_KEY, tmp_path), tmp_path, 404, NOT_FOUND)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Connected" in text_of(app, ConnectionPanel))
        client = app.runtime.client
        assert client is not None
        await pilot.press("q")
    assert app.return_code == 0
    with pytest.raises(RuntimeError, match="client has been closed"):
        await client.get_customer("x")


async def test_quitting_while_a_form_is_made_ahead_waits_for_it_and_quits_cleanly(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        spares = app.spares._spares
        # Settled: the three made ahead, and nothing more to make.
        await wait_until(
            pilot, lambda: len(spares) == 3 and all(s.form.is_mounted for s in spares.values())
        )
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0)  # warm() is done
        spares.pop("bill").form.remove()
        await pilot.pause()
        assert app.spares.make("bill")  # being mounted now …
        pending = app.spares.mounting()
        assert pending is not None
        assert not pending.done()
        app.exit()  # … quit in the same breath: the quit waits until it is mounted
        assert not app._exit
    # (Closed half-mounted, its widgets raised from their mount handlers, out of here.)
    assert pending.done()
    assert pending.exception() is None
    assert app.return_code == 0


def test_factory_wires_the_runtime_to_the_settings(tmp_path: Path) -> None:
    assert create_app(settings_for(None, tmp_path)).runtime.is_sandbox
    sandboxed = settings_for(TEST_KEY, tmp_path, force_sandbox=True)
    assert create_app(sandboxed).runtime.is_sandbox
    app = create_app(settings_for(TEST_KEY, tmp_path))
    assert not app.runtime.is_sandbox
    assert app.runtime.client is None  # made when the app starts, not before


def paint_pending(app: MomentApp) -> bool:
    screen = app.screen
    return bool(screen._layout_required or screen._repaint_required)


async def test_a_modal_pushed_during_a_batch_is_painted_when_it_ends(tmp_path: Path) -> None:
    """A screen that goes idle inside a batch (some Footer recomposing, in this view or
    one made ahead) kept its first paint pending until its next message: ``?`` opened
    its keys unseen in a real terminal. The batch's end now wakes the screen on top."""
    from moment_tui.ui.modals.keys import KeysHelp

    app = app_for(settings_for(TEST_KEY, tmp_path), tmp_path, 404, NOT_FOUND)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Connected" in text_of(app, ConnectionPanel))
        # Not through Pilot's pause, which paints the screen on top itself (and so hid
        # this): the app left alone, as in a terminal.
        with app.batch_update():
            await app.push_screen(KeysHelp(app.screen))
            await poll(lambda: app.screen.is_mounted and app.screen._message_queue.empty())
            assert isinstance(app.screen, KeysHelp)
            assert paint_pending(app)  # nothing may be painted inside a batch
        # The batch's end wakes the modal at once (left alone, it stays asleep until
        # something else posts to it: in a quiet terminal, nothing does).
        assert not app.screen._message_queue.empty()
        await poll(lambda: not paint_pending(app))


async def poll(condition: Callable[[], bool]) -> None:
    """Until ``condition`` holds, without Pilot; TimeoutError after WAIT_SECONDS."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():  # noqa: ASYNC110 (a state to watch, not an event)
            await asyncio.sleep(0.01)


async def test_once_settled_the_console_is_frozen_for_the_collector_until_it_closes(
    tmp_path: Path,
) -> None:
    """After the views are made ahead, what exists is frozen (a full collection walked
    it all, 115-165 ms, under live traffic); closing the console unfreezes it, so a
    second console in the same process (the tests) leaves nothing uncollectable."""
    gc.unfreeze()
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: all(v.mode in app._screen_stacks for v in app.views))
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0)  # frozen, once settled
    assert gc.get_freeze_count() == 0
