"""Render the console's main views to SVG (and PNG, with rsvg-convert) in this folder.

    .venv/bin/python screenshots/make_screenshots.py

One headless run of the real console on a fresh, seeded sandbox (no API key, temp
directories): three simulated payments (real signed webhooks, applied and
confirmed; the tests' seeded choice of bill, account and customer), one delivery
signed with the wrong secret, then

* ``home-120x40``     the home screen with those live deliveries;
* ``rejected-detail`` the rejected delivery's detail: the signature diagnosis;
* ``home-80x24``      the same home screen in a small terminal.

Times and ids are live, so the pictures differ from run to run (the pinned,
deterministic pictures are the snapshot tests in tests/ui/__snapshots__).

PNGs need ``rsvg-convert`` (Debian: ``apt-get install librsvg2-bin``) and look right
with the font the SVGs name, Fira Code (``apt-get install fonts-firacode``).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout: moment_tui and tests.ui.ui_helpers

import httpx  # noqa: E402

from moment_tui.ui.app import MomentApp  # noqa: E402
from moment_tui.ui.modals.delivery_detail import DeliveryDetail  # noqa: E402
from moment_tui.ui.widgets.delivery_table import DeliveryTable  # noqa: E402
from moment_tui.webhooks.outbound import amount_applied_event, send  # noqa: E402
from moment_tui.webhooks.signing import new_webhook_secret  # noqa: E402
from tests.ui.ui_helpers import (  # noqa: E402
    assert_no_secret,
    cell,
    connected,
    on_screen,
    sandbox_app,
    table_settled,
    wait_until,
)

DEFAULT_PORT = 8765  # the console's default listener port, when it is free
PAYMENTS = 3


def listener_port() -> int:
    """The default port if nothing uses it (the picture then shows the usual address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", DEFAULT_PORT))
        except OSError:
            return 0
    return DEFAULT_PORT


async def render(folder: Path, work: Path) -> list[Path]:
    app = sandbox_app(work, port=listener_port())
    written: list[Path] = []

    def save(name: str) -> None:
        assert_no_secret(app, *secrets(app))
        app.save_screenshot(f"{name}.svg", path=str(folder))
        written.append(folder / f"{name}.svg")

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the sandbox")
        for seq in range(1, PAYMENTS + 1):
            await pilot.press("p")
            await wait_until(
                pilot, lambda seq=seq: cell(app, seq, "result") == "confirmed", f"#{seq}"
            )
        assert app.runtime.listener is not None
        paid = app.home.query_one(DeliveryTable).deliveries[1].target()
        assert paid is not None
        body = amount_applied_event(25000, "ZAR", **{f"{paid[0]}_id": paid[1]})
        async with httpx.AsyncClient() as http:
            await send(http, app.runtime.listener.url, body, [new_webhook_secret()], "msg_demo")
        rejected = PAYMENTS + 1
        await wait_until(pilot, lambda: cell(app, rejected, "verdict") == "rejected", "rejection")
        tallies = (f"{PAYMENTS} verified · 0 dup · 1 rejected", f"{PAYMENTS} confirmed")
        await wait_until(pilot, lambda: on_screen(app, *tallies), "the tallies drawn")
        await wait_until(pilot, lambda: table_settled(app), "the rows drawn whole")
        save("home-120x40")

        table = app.home.query_one(DeliveryTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(rejected)))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeliveryDetail), "the detail")
        await wait_until(pilot, lambda: on_screen(app, "Signature check"), "the detail drawn")
        save("rejected-detail")
        await pilot.press("escape")

        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: app.size == (80, 24), "the smaller terminal")
        await wait_until(pilot, lambda: on_screen(app, *tallies), "the tallies drawn")
        await wait_until(pilot, lambda: table_settled(app), "the rows drawn whole")
        save("home-80x24")
    return written


def secrets(app: MomentApp) -> tuple[str, ...]:
    sandbox = app.runtime.sandbox
    return tuple(sandbox.config.webhook_secrets) if sandbox is not None else ()


def to_png(svg: Path) -> Path | None:
    """``svg`` as PNG beside it, or None without rsvg-convert."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    # Textual writes spaces as &#160;; without xml:space librsvg drops them at line starts.
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    png = svg.with_suffix(".png")
    subprocess.run(  # noqa: S603 - a fixed tool on our own file
        [tool, "--format=png", "--output", str(png)], input=text.encode(), check=True
    )
    return png


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="moment-tui-shots-") as work:
        svgs = asyncio.run(render(HERE, Path(work)))
    for svg in svgs:
        png = to_png(svg)
        print(svg.relative_to(HERE.parent), f"+ {png.name}" if png else "")
    if shutil.which("rsvg-convert") is None:
        print("no PNGs: rsvg-convert is missing (apt-get install librsvg2-bin)")
    elif shutil.which("fc-list") and "Fira Code" not in _fonts():
        print("note: the PNGs use a fallback font; apt-get install fonts-firacode for Fira Code")
    return 0


def _fonts() -> str:
    listing = subprocess.run(["fc-list"], capture_output=True, text=True, check=False)  # noqa: S607
    return listing.stdout


if __name__ == "__main__":
    sys.exit(main())
