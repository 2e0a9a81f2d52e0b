"""The console in a real terminal: tmux, as a presenter over SSH would have it.

Pilot drives the app from inside; these tests run ``moment-tui`` as a user does, in
a tmux pane of a given size and ``TERM``, send it keys, read the pane, resize it
mid-session, and check that copying (OSC 52) reaches the terminal's clipboard with
no clipboard program on the machine. Skipped without tmux (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
if TMUX is None:
    pytest.skip("no tmux on PATH (Debian: apt-get install tmux)", allow_module_level=True)

CONSOLE = str(Path(sys.executable).with_name("moment-tui"))
WAIT = 30.0
TERMS = ["xterm-256color", "screen-256color", "tmux-256color", "linux", "vt100"]


class Pane:
    """One console in a detached tmux session on a private tmux server."""

    def __init__(self, socket: str, home: Path, size: tuple[int, int], env: dict[str, str]):
        self.socket = socket
        self.name = "console"
        width, height = size
        environment = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        }
        exports = " ".join(f"{k}={v}" for k, v in environment.items())
        # A clean environment, as a login over SSH has: nothing of the test run's.
        path = os.environ.get("PATH", "/usr/bin:/bin")
        command = f"env -i PATH={path} LANG=C.UTF-8 {exports} {CONSOLE} --listen 127.0.0.1:0"
        # No status line: the pane is the whole window, as a terminal would be.
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                  command, ";", "set-option", "-g", "status", "off")  # fmt: skip
        # What a terminal does with OSC 52: tmux keeps it as a paste buffer.
        self.tmux("set-option", "-g", "set-clipboard", "on")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            [TMUX or "tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the server it may start is nobody's child
            text=True,
            check=False,
        )
        return done.stdout

    def text(self, *, escapes: bool = False) -> str:
        flags = ["-p", "-t", self.name] + (["-e"] if escapes else [])
        return self.tmux("capture-pane", *flags)

    def lines(self) -> list[str]:
        return self.text().split("\n")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.name, key)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def alive(self) -> bool:
        return self.tmux("list-panes", "-t", self.name, "-F", "#{pane_dead}").strip() == "0"

    def wait(self, *texts: str, what: str = "") -> str:
        """Until every one of ``texts`` is on the pane; fail with the pane after WAIT s."""
        deadline = time.monotonic() + WAIT
        while True:
            shown = self.text()
            if all(text in shown for text in texts):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what or texts}; the pane:\n{shown}")
            time.sleep(0.05)

    def wait_until(self, condition: object, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                size = self.tmux("display", "-p", "-t", self.name, "#{pane_width}x#{pane_height}")
                raise AssertionError(
                    f"gave up waiting for {what}; the pane ({size.strip()}):\n{self.text()}"
                )
            time.sleep(0.05)


@pytest.fixture
def tmux_server(tmp_path: Path) -> Iterator[str]:
    socket = f"moment-test-{os.getpid()}-{tmp_path.name}"
    yield socket
    subprocess.run([TMUX or "tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def start(socket: str, home: Path, size: tuple[int, int] = (80, 24), **env: str) -> Pane:
    pane = Pane(socket, home, size, {"TERM": "xterm-256color", **env})
    pane.wait("Sandbox", "Quit", "Connected to the sandbox", what="the console started")
    return pane


@pytest.mark.slow
@pytest.mark.parametrize("term", TERMS)
def test_each_term_starts_switches_views_and_quits(
    tmux_server: str, tmp_path: Path, term: str
) -> None:
    pane = start(tmux_server, tmp_path, (80, 24), TERM=term)
    lines = pane.lines()
    assert lines[0].startswith(" Sandbox · no API key")
    assert "Quit" in lines[23]
    pane.keys("4")
    shown = pane.wait("31 bills · row", "Reference", what="the bills view")
    assert "Bills" in shown.split("\n")[1]
    assert all(len(line) <= 80 for line in shown.split("\n"))
    pane.keys("?")
    pane.wait("Go to", "filter", what="the keys of the bills view")
    pane.keys("Escape")
    pane.wait_until(lambda: "Everywhere" not in pane.text(), "the keys closed")
    pane.keys("q")
    pane.wait_until(lambda: not pane.alive() or "Sandbox" not in pane.text(), "the console quit")


GRAYS = {0, 7, 8, 15, 16, 231, *range(232, 256)}  # the 256-colour palette's greys
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def hues(coded: str) -> list[str]:
    """Every colour in the escape codes that is not a grey (NO_COLOR: Textual draws in
    monochrome, greys only; meaning is never carried by colour alone)."""
    found: list[str] = []
    for match in SGR.finditer(coded):
        parts = [int(p) for p in match.group(1).split(";") if p]
        i = 0
        while i < len(parts):
            code = parts[i]
            if code in (38, 48) and i + 2 < len(parts) and parts[i + 1] == 5:
                if parts[i + 2] not in GRAYS:
                    found.append(match.group(0))
                i += 3
            elif code in (38, 48) and i + 4 < len(parts) and parts[i + 1] == 2:
                if len(set(parts[i + 2 : i + 5])) != 1:
                    found.append(match.group(0))
                i += 5
            else:
                if 31 <= code <= 36 or 41 <= code <= 46 or 91 <= code <= 96 or 101 <= code <= 106:
                    found.append(match.group(0))
                i += 1
    return found


@pytest.mark.slow
def test_no_color_draws_in_greys_only(tmux_server: str, tmp_path: Path) -> None:
    pane = start(tmux_server, tmp_path, (120, 40), NO_COLOR="1")
    assert hues(pane.text(escapes=True)) == []
    pane.keys("4")
    pane.wait("31 bills · row", what="the bills view")
    coded = pane.text(escapes=True)
    assert "\x1b[" in coded  # styled (bold, reverse, greys) …
    assert hues(coded) == []  # … but no colour
    # What colour would have said is in the words: status and overdue marks.
    shown = pane.text()
    assert "unpaid" in shown
    assert "⚠" in shown


@pytest.mark.slow
def test_resizing_mid_session_lays_the_console_out_again(tmux_server: str, tmp_path: Path) -> None:
    pane = start(tmux_server, tmp_path, (80, 24))
    pane.keys("4")
    pane.wait("31 bills · row", what="the bills view")
    pane.resize(120, 40)
    pane.wait_until(
        lambda: len(pane.lines()) >= 40 and "Quit" in pane.lines()[39], "40 lines, footer last"
    )
    pane.wait("2 Customers", "4 Bills", "Remaining", what="the wide layout")
    wide = pane.lines()
    assert any("Customer" in line and "Reference" in line for line in wide)
    pane.resize(80, 24)
    pane.wait_until(
        lambda: len(pane.lines()) <= 25 and "palette" in pane.lines()[23], "the narrow layout"
    )
    assert all(len(line) <= 80 for line in pane.lines())


@pytest.mark.slow
def test_copy_reaches_the_terminal_clipboard_through_osc_52(
    tmux_server: str, tmp_path: Path
) -> None:
    pane = start(tmux_server, tmp_path, (120, 40))
    pane.keys("4")
    pane.wait("31 bills · row", what="the bills view")
    pane.keys("c")
    pane.wait("Copy · bill_", what="the copy menu")
    pane.keys("i")  # Id
    pane.wait_until(lambda: pane.tmux("show-buffer").startswith("bill_"), "the id in tmux")
    assert len(pane.tmux("show-buffer").strip()) == len("bill_") + 21
