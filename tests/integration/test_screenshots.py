"""screenshots/make_screenshots.py, run as a developer runs it (its own process, SVGs
only, into a temp dir), so the README's pictures can always be made again: every
picture is written, shows what it is of, and holds no key or secret.

The script checks each picture against the run's own webhook secret itself (and fails
if one is there); from outside, this checks for anything shaped like a key or secret
and for the test key it gives doctor."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui.ui_helpers import SECRET_ON_SCREEN, TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "screenshots" / "make_screenshots.py"
DEADLINE = 240.0  # seconds; a run takes about 30 s on a quiet machine
# Each picture, and words that show it is of what its name says.
EXPECTED = {
    "home-120x40": ["Outstanding", "Connected to the sandbox", "Deliveries", "rejected"],
    "home-80x24": ["Outstanding", "Webhooks", "no_matching_signature"],
    "customers-120x40": ["38 customers", "Naledi Dlamini", "UCR100002"],
    "customer-detail-120x40": ["Naledi Dlamini", "UCR100002", "Timeline · 1 payment"],
    "bills-120x40": ["31 bills", "Live deliveries", "confirmed", "401 no_matching_signature"],
    "bills-overdue-80x24": ["bills · overdue", "R 4,155.00  overdue"],  # a row's status
    "bill-paid-120x40": ["PAID", "Timeline · 1 payment", "#1 confirmed"],
    "new-bill-80x24": [
        "New bill",
        "a new account for a new customer",
        "Lerato Mokoena",
        "use international E.164 form",
    ],
    "event-pane-80x24": ["Live deliveries", "Inspect", "no_matching_signature"],
    "rejected-detail-120x40": ["Signature check", "no_matching_signature", "hints"],
    "verified-detail-80x24": ["verified", "obligation.amount_applied", "Open ", "u customer"],
    "requests-120x40": ["API calls · 5", "/billing/bills", "timed out"],
    "doctor-100": ["✓", "API key", "Listener", "test mode", "Send Moment"],
}


def text_of(svg: Path) -> str:
    """The picture's text: its runs joined, entities read, non-breaking spaces plain."""
    raw = svg.read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]*>", "", raw)).replace("\xa0", " ")


@pytest.mark.slow
def test_the_script_makes_every_picture_without_a_secret(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    began = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--no-png"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    took = time.monotonic() - began
    assert run.returncode == 0, f"exit {run.returncode} after {took:.0f} s:\n{run.stderr[-6000:]}"
    made = sorted(p.name for p in out.iterdir())
    assert made == sorted(f"{name}.svg" for name in EXPECTED), made  # --no-png: SVGs only
    for name, words in EXPECTED.items():
        svg = out / f"{name}.svg"
        raw = svg.read_text(encoding="utf-8")
        assert raw.startswith("<svg"), f"{name}: not an SVG"
        assert len(raw) > 5_000, f"{name}: next to nothing drawn"
        text = text_of(svg)
        missing = [word for word in words if word not in text]
        assert not missing, f"{name} does not show {missing}"
        for shown in (raw, html.unescape(raw), text):
            assert not SECRET_ON_SCREEN.findall(shown), f"{name}: secret-like text"
            assert TEST_KEY not in shown
            assert TEST_KEY.removeprefix("sk_test_") not in shown
    for name in EXPECTED:
        assert f"{name}.svg" in run.stdout  # each one said
    assert "rsvg-convert" not in run.stdout  # no PNGs asked for: nothing said about them
