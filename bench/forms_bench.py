"""The create forms: opening one, checking it as you type, and a create's round trip.

    .venv/bin/python bench/forms_bench.py [--opens 20] [--rechecks 200] [--keys 60]
        [--creates 10]

Headless (``run_test(size=(120, 40))``) on the real console and its embedded
sandbox, once the catalogue has synced and the views have been made (as a person
pressing a key a second after the start finds them):

* open: ``n`` on the Bills view → the New bill form's first field focused *and* drawn
  (the first frame painted after the focus moved there, the form on screen), Esc
  between opens: with the blank form made ahead (``ui.spares``; the bench waits for
  it between opens, as a person's pause gives it), and built as the key is read (the
  spare taken away first). Target ≤ 100 ms.
* validation: ``FormScreen._recheck`` (what every keystroke runs: the whole form built
  and checked with the request model, every field's message updated) timed directly,
  on the smallest variant and on the three-level one with every field filled; then a
  keystroke in the amount → the first frame showing its updated note ("sends 1234
  (R 12.34)"). Target ≤ 16 ms (one frame).
* create: Ctrl+S → the new bill's detail drawn (its breadcrumb names the new bill, which
  it does once the bill is loaded), a new reference each time, on an existing account
  and as the three-level nested bill. Target ≤ 300 ms.

A time ends at the first frame, as the terminal would receive it, drawn after the
change (``App._display`` is watched, as ``console_bench`` does); keys are posted as the
terminal driver posts them, so no test harness wait is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from console_bench import WAIT, Frames, connected, sandbox_console, until  # noqa: E402
from textual import events  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from moment_tui.money import format_minor  # noqa: E402
from moment_tui.ui.app import MomentApp  # noqa: E402
from moment_tui.ui.screens.browse import ListScreen  # noqa: E402
from moment_tui.ui.screens.form_base import FormScreen  # noqa: E402
from moment_tui.ui.screens.new_bill import NewBill  # noqa: E402
from moment_tui.ui.widgets.form_field import FormField, field_id  # noqa: E402

SIZE = (120, 40)


def spread(label: str, values: list[float], target: float, unit: str = "ms") -> None:
    if not values:
        print(f"  {label:<52} (no samples)")
        return
    ordered = sorted(values)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)]
    verdict = "ok" if p99 <= target else "OVER"
    print(
        f"  {label:<52} n={len(values):<4} median {statistics.median(values):7.2f} {unit}"
        f"  p99 {p99:7.2f} {unit}  max {ordered[-1]:7.2f} {unit}"
        f"   target ≤ {target:g} {unit}: {verdict}"
    )


async def soon(condition: Callable[[], bool], what: str) -> float:
    """Poll (between the app's own turns) until ``condition()``; when it first held."""
    deadline = time.perf_counter() + WAIT
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.0005)
    return time.perf_counter()


def key(app: MomentApp, name: str, character: str | None = None) -> float:
    """Post a key as the terminal driver does; returns when (perf_counter)."""
    since = time.perf_counter()
    app.post_message(events.Key(name, character))
    return since


def focused_path(app: MomentApp) -> str | None:
    node = app.focused
    while node is not None and not isinstance(node, FormField):
        node = node.parent  # type: ignore[assignment]
    return node.spec.path if isinstance(node, FormField) else None


def field(app: MomentApp, path: str) -> FormField:
    return app.screen.query_one(f"#{field_id(path)}", FormField)


def built(app: MomentApp, path: str) -> bool:
    """The field is on the form, composed (a section shown late is mounted then)."""
    found = app.screen.query(f"#{field_id(path)}")
    return bool(found) and bool(found.first().query(Input))


def set_value(app: MomentApp, path: str, value: str) -> None:
    """Fill a field as typing would end (its Changed message runs the form's check)."""
    field(app, path).query_one(Input).value = value


async def drawn_after(frames: Frames, since: float, text: str) -> float:
    """Milliseconds from ``since`` to the first frame after it that draws ``text``."""
    return await frames.shown(since, text)


# --- opening ------------------------------------------------------------------------------


class FocusAtFrames:
    """Which form field had the focus when each frame was drawn (beside ``Frames``)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str | None]] = []

    def install(self, frames: Frames) -> None:
        """After ``frames.install()``: each frame is noted by the time ``frames`` gave it."""
        original = MomentApp._display
        seen = self.seen

        def display(app: MomentApp, screen: Any, renderable: Any) -> None:
            original(app, screen, renderable)
            if renderable is not None:
                seen.append((frames.frames[-1][0], focused_path(app)))
                del seen[:-400]

        MomentApp._display = display  # type: ignore[method-assign]

    async def first(self, since: float, path: str, frames: Frames, text: str) -> float:
        """When the first frame after ``since`` drawing ``text`` with ``path`` focused was."""
        deadline = time.perf_counter() + WAIT
        while time.perf_counter() < deadline:
            drawn = {at for at, frame in frames.frames if at >= since and text in frame}
            for at, focused in self.seen:
                if at >= since and focused == path and at in drawn:
                    return at
            await asyncio.sleep(0.0005)
        raise TimeoutError(f"no frame drew {text!r} with {path} focused")


focus_frames = FocusAtFrames()


async def opens(
    pilot: Pilot[Any], app: MomentApp, frames: Frames, count: int, *, spare: bool
) -> list[float]:
    """``spare``: each ``n`` finds the blank form made ahead (as a person pressing it a
    few seconds after the last form closed does); else none is (forms opened back to
    back, or with ui.spares out of the way), and each is built as the key is read."""
    times: list[float] = []
    for _ in range(count):
        if spare:
            await until(
                pilot,
                lambda: "bill" in app.spares._spares and app.spares._spares["bill"].form.is_mounted,
                "the spare form",
            )
        else:
            taken = app.spares._spares.pop("bill", None)
            if taken is not None:
                taken.form.remove()
        since = key(app, "n", "n")
        await soon(
            lambda: isinstance(app.screen, NewBill) and focused_path(app) == "target",
            "the first field focused",
        )
        # The first frame since the key that draws the form (its fields in it) with the
        # focus on its first field, as it was when the frame was drawn.
        painted = await focus_frames.first(since, "target", frames, "Find the account")
        times.append((painted - since) * 1000)
        app.post_message(events.Key("escape", None))
        await until(pilot, lambda: isinstance(app.screen, ListScreen), "back to the list")
        await pilot.pause(0.05)
    return times


# --- checking as you type -------------------------------------------------------------------


def recheck_times(form: FormScreen, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        form._recheck()
        times.append((time.perf_counter() - started) * 1000)
    return times


def note_for(typed: str) -> str:
    if not typed:
        return "amount due is required"
    minor = int(typed) * 100
    return f"sends {minor} ({format_minor(minor, 'ZAR')})"


async def keystrokes(app: MomentApp, frames: Frames, count: int) -> list[float]:
    """Digits typed into the amount and taken away again, each until its note is drawn."""
    times: list[float] = []
    typed = ""
    adding = True
    while len(times) < count:
        if adding:
            digit = str(len(typed) % 9 + 1)
            typed += digit
            since = key(app, digit, digit)
        else:
            typed = typed[:-1]
            since = key(app, "backspace", None)
        times.append(await drawn_after(frames, since, note_for(typed)))
        if len(typed) == 6:
            adding = False
        elif not typed:
            adding = True
        await asyncio.sleep(0.02)  # a fast typist: 50 keys a second
    return times


# --- a create's round trip -------------------------------------------------------------------


async def creates(
    pilot: Pilot[Any], app: MomentApp, frames: Frames, count: int, variant: str, account: str
) -> list[float]:
    times: list[float] = []
    stamp = f"{int(time.time()) % 100000:05d}"
    for number in range(count):
        reference = f"INV-BENCH-{variant[:4].upper()}-{stamp}-{number}"
        app.post_message(events.Key("n", "n"))
        await until(pilot, lambda: focused_path(app) == "target", "the form")
        form = app.screen
        assert isinstance(form, NewBill)
        if variant == "account":
            field(app, "account").pick(account, "the bench's account")
        else:
            field(app, "target").control.value = "new_both"  # type: ignore[attr-defined]
            await until(pilot, lambda: built(app, "account.customer.metadata"), "the nested fields")
            set_value(app, "account.external_reference", f"UAR-BENCH-{stamp}-{number}")
            set_value(app, "account.name", "Bench plan")
            set_value(app, "account.customer.external_reference", f"UCR-BENCH-{stamp}-{number}")
            set_value(app, "account.customer.name", "Bench Customer")
            set_value(app, "account.customer.email", "bench@example.com")
        set_value(app, "external_reference", reference)
        set_value(app, "currency", "ZAR")
        set_value(app, "amount_due", "1,234.50")
        await until(pilot, lambda f=form: f.checked.ok, "the form valid")  # type: ignore[misc]
        await pilot.pause(0.1)
        since = key(app, "ctrl+s", None)
        times.append(await drawn_after(frames, since, f"Bills › {reference}"))
        await until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "the detail")
        app.post_message(events.Key("escape", None))
        await until(pilot, lambda: isinstance(app.screen, ListScreen), "back to the list")
        await pilot.pause(0.05)
    return times


# --- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    frames = Frames()
    frames.install()
    focus_frames.install(frames)
    with tempfile.TemporaryDirectory() as folder:
        app = sandbox_console(Path(folder))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: connected(app), "the catalogue synced")
            await until(pilot, lambda: "requests" in app._screen_stacks, "the views made")
            await pilot.pause(1.0)
            await pilot.press("4")
            await until(
                pilot,
                lambda: isinstance(app.screen, ListScreen) and app.screen.count is not None,
                "the bills view",
            )
            print(f"forms on the sandbox, {SIZE[0]}x{SIZE[1]}, headless")

            spread(
                "open: n → first field focused and drawn (made ahead)",
                await opens(pilot, app, frames, args.opens, spare=True),
                100,
            )
            spread(
                "open: n → … (built as the key is read)",
                await opens(pilot, app, frames, args.opens, spare=False),
                100,
            )

            app.post_message(events.Key("n", "n"))
            await until(pilot, lambda: focused_path(app) == "target", "the form")
            form = app.screen
            assert isinstance(form, NewBill)
            spread(
                "validate: _recheck, bill on an account (empty)",
                recheck_times(form, args.rechecks),
                16,
            )
            field(app, "target").control.value = "new_both"  # type: ignore[attr-defined]
            await until(pilot, lambda: built(app, "account.customer.metadata"), "the nested fields")
            for path, value in {
                "account.external_reference": "UAR-BENCH-0",
                "account.name": "Bench plan",
                "account.customer.external_reference": "UCR-BENCH-0",
                "account.customer.name": "Bench Customer",
                "account.customer.email": "bench@example.com",
                "account.customer.phone": "+27821234567",
                "account.customer.currency": "ZAR",
                "account.customer.balance": "-12.50",
                "account.customer.metadata": "segment=retail; plan=gold",
                "external_reference": "INV-BENCH-0",
                "currency": "ZAR",
                "metadata": "description=Bench",
            }.items():
                set_value(app, path, value)
            await pilot.pause(0.2)
            spread(
                "validate: _recheck, three-level bill (every field)",
                recheck_times(form, args.rechecks),
                16,
            )
            field(app, "amount_due").control.focus()
            await until(pilot, lambda: focused_path(app) == "amount_due", "the amount focused")
            await pilot.pause(0.2)
            spread(
                "validate: amount keystroke → its note drawn",
                await keystrokes(app, frames, args.keys),
                16,
            )
            app.post_message(events.Key("escape", None))
            await until(pilot, lambda: isinstance(app.screen, ListScreen), "back to the list")
            app.moment.drafts.forget("new-bill")

            queries = app.moment.queries
            [account] = (await queries.account_ids(queries.filter(), None))[:1]
            spread(
                "create: Ctrl+S → new bill's detail (on an account)",
                await creates(pilot, app, frames, args.creates, "account", account),
                300,
            )
            spread(
                "create: Ctrl+S → new bill's detail (three-level)",
                await creates(pilot, app, frames, args.creates, "nested", account),
                300,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=20)
    parser.add_argument("--rechecks", type=int, default=200)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--creates", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
