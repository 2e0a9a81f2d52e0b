"""``moment-tui demo``: the console on a fresh seeded sandbox with demo traffic.

Everything lives in a temporary directory made for the run and removed at exit: the
settings' data and config directories, the sandbox's database and the workspace. The
user's own workspace, sandbox file, config file and stored key are never used (a
configured key is ignored, and said to be). The webhook listener takes a free port,
so a console already running on 8765 does not stand in the way.

This module prepares the run (:func:`prepare`, testable without a terminal) and stays
below the UI like every command (``tests/unit/test_architecture.py``): the console
itself is started by the function ``cli`` passes to :func:`register`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from moment_tui.commands import serve
from moment_tui.commands.base import PROG, Io, UsageError, add_version, ascii_digits
from moment_tui.config import SECRET_VARIABLES, Listen, Settings, locate_secret

if TYPE_CHECKING:
    from moment_tui.runtime import RuntimeOptions

KEEP_UNPAID: Final = 6  # bills kept unpaid by the demo traffic: Home never runs dry
BASE_INTERVAL: Final = 3.0  # seconds between demo payments at --speed 1
MAX_SPEED: Final = 50.0
MAX_SEED: Final = 2**63 - 1
DEMO_LISTEN: Final = Listen("127.0.0.1", 0)  # any free port
NEEDS_A_TERMINAL: Final = "demo: the demo is the console, which needs a terminal"

Console = Callable[["DemoSetup"], int]


@dataclass(frozen=True)
class DemoSetup:
    """What a demo runs with: settings and runtime options rooted in ``workdir``."""

    settings: Settings
    options: RuntimeOptions
    seed: int
    seed_given: bool
    speed: float
    masked: bool
    keys: bool
    workdir: Path
    notes: list[str] = field(default_factory=list)  # said on stderr before the console

    @property
    def interval(self) -> float:
        """Seconds between demo payments."""
        return BASE_INTERVAL / self.speed


def register(sub: Any, console: Console) -> None:
    """Add ``demo``; ``console`` starts the console on a :class:`DemoSetup` (the CLI
    gives it: commands never import the UI) and returns the exit status."""
    demo = sub.add_parser(
        "demo",
        help="the console on a fresh seeded sandbox with demo payments (for presenting)",
        description="Start the console on a fresh, seeded sandbox in a temporary directory "
        "(never your workspace; removed at exit), with demo payments every few seconds: "
        "partial, full, through accounts and customers, and now and then a delivery signed "
        "with a wrong secret, which the listener rejects. Ctrl+N masks names, emails and "
        "phone numbers on screen. See docs/demo.md.",
    )
    add_version(demo)
    demo.add_argument(
        "--seed",
        type=_seed,
        metavar="N",
        help="seed the data and the payments: the same N on the same day gives the same "
        "customers, ids, amounts and order of payments (default: a random seed, printed at "
        "exit)",
    )
    demo.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help=f"scale the traffic: a payment every {BASE_INTERVAL:g} s divided by X "
        f"(above 0, at most {MAX_SPEED:g}; default 1)",
    )
    demo.add_argument(
        "--keys", action="store_true", help="show the keys pressed in a strip above the footer"
    )
    demo.add_argument(
        "--masked", action="store_true", help="start with personal data masked (Ctrl+N toggles)"
    )
    demo.set_defaults(handler=functools.partial(cmd_demo, console=console))


def _seed(text: str) -> int:
    if not ascii_digits(text) or int(text) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1, not {text!r}")
    return int(text)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_SPEED:  # nan and inf fail too
        raise argparse.ArgumentTypeError(
            f"expected a number above 0 and at most {MAX_SPEED:g}, not {text!r}"
        )
    return value


def cmd_demo(args: argparse.Namespace, io: Io, *, console: Console) -> int:
    if not serve.can_draw(io):
        raise UsageError(NEEDS_A_TERMINAL)
    with tempfile.TemporaryDirectory(prefix="moment-tui-demo-", ignore_cleanup_errors=True) as tmp:
        setup = prepare(args, io, Path(tmp))
        for note in setup.notes:
            io.err(note)
        status = console(setup)
    if not setup.seed_given:
        io.err(f"{PROG} demo: seed {setup.seed}; --seed {setup.seed} repeats this data and traffic")
    return status


def prepare(args: argparse.Namespace, io: Io, workdir: Path) -> DemoSetup:
    """The demo's settings and runtime options, every file under ``workdir``.

    Of the console flags only ``--listen`` and ``--read-only`` apply (the demo is a
    sandbox, whatever key or API URL is configured); nothing is read from the user's
    config file, and the secret store is only asked whether a key would be ignored.
    """
    seed_given = args.seed is not None
    seed = args.seed if seed_given else random.SystemRandom().randrange(1_000_000)
    data, config = workdir / "data", workdir / "config"
    data.mkdir(parents=True, exist_ok=True)
    config.mkdir(parents=True, exist_ok=True)
    listen = io.flags.get("listen") or DEMO_LISTEN
    read_only = bool(io.flags.get("read_only"))
    settings = Settings(
        listen=listen,
        read_only=read_only,
        force_sandbox=True,
        config_dir=config,
        data_dir=data,
        sources={"listen": "moment-tui demo"},
    )
    from moment_tui.runtime import RuntimeOptions

    speed: float = args.speed
    options = RuntimeOptions(
        sandbox_db=data / "sandbox.sqlite3",
        workspace=data / "workspace.sqlite3",
        demo_payments=BASE_INTERVAL / speed,
        payment_rng=random.Random(seed),
        random_seed=seed,
        demo_wrong_signatures=True,
        demo_keep_unpaid=KEEP_UNPAID,
    )
    notes: list[str] = []
    source = configured_key(io)
    if source is not None:
        notes.append(
            f"{PROG} demo: ignoring the API key from {source}: the demo runs on its own sandbox"
        )
    return DemoSetup(
        settings=settings,
        options=options,
        seed=seed,
        seed_given=seed_given,
        speed=speed,
        masked=bool(args.masked),
        keys=bool(args.keys),
        workdir=workdir,
        notes=notes,
    )


def configured_key(io: Io) -> str | None:
    """Where a configured API key comes from (the demo ignores it), or None."""
    variable = SECRET_VARIABLES["api_key"]
    if io.env.get(variable, "").strip():
        return variable
    with contextlib.suppress(Exception):  # an unreadable store: nothing to ignore
        located = locate_secret(io.env, io.secret_store(), "api_key")
        if located.value is not None:
            return located.source
    return None
