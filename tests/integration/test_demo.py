"""``moment-tui demo``: its arguments, its isolated setup, what ``--seed`` repeats, and
the odd wrongly signed delivery that the listener rejects and nothing applies.

The console itself needs a terminal; here the setup is built with
:func:`moment_tui.commands.demo.prepare` (what ``cmd_demo`` hands the console) and the
runtime started on it in-process, with HOME and XDG pointing at a temp dir (the
autouse ``home`` fixture), so "never the user's files" is checked on real paths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
from pathlib import Path
from typing import Any

import pytest

from moment_tui.api.client import MomentClient
from moment_tui.cli import build_parser, main
from moment_tui.commands.base import EXIT_USAGE, Io
from moment_tui.commands.demo import BASE_INTERVAL, DemoSetup, cmd_demo, prepare
from moment_tui.config import default_config_dir, default_data_dir
from moment_tui.runtime import Runtime
from moment_tui.sandbox.server import Sandbox, SandboxConfig
from moment_tui.secrets import SecretStore
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery, read_books
from moment_tui.store.workspace import workspace_path
from moment_tui.webhooks.reconcile import Reconciler
from moment_tui.webhooks.signing import new_webhook_secret
from tests.conftest import NoKeyring
from tests.integration.conftest import API_KEY, StartSandbox, eventually
from tests.integration.pipeline_helpers import open_pipeline

TODAY = dt.date(2026, 11, 1)
HOUR = 3600.0  # a demo interval no test waits for: the tests tick the traffic themselves


class Terminal(io.StringIO):
    """A stream that says it is a terminal (the demo refuses to start without one)."""

    def isatty(self) -> bool:
        return True


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, Io(stdout=out, stderr=err, stdin=io.StringIO(), env=env or {}))
    except SystemExit as exit_:  # argparse's own usage errors end this way
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def demo_args(*argv: str) -> tuple[argparse.Namespace, Io]:
    """The parsed ``moment-tui [flags] demo …`` and an Io carrying its console flags."""
    from moment_tui.cli import console_flags

    args = build_parser().parse_args(["demo", *argv] if "demo" not in argv else list(argv))
    # The user's config directory (under the test's HOME), with no keyring to ask.
    store = SecretStore(default_config_dir(), backend=NoKeyring())
    stream = Io(
        stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), env={}, store=store
    )
    stream.flags = console_flags(args)
    return args, stream


# --- arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--speed", "0"], "--speed: expected a number above 0 and at most 50, not '0'"),
        (["--speed", "-2"], "--speed: expected a number above 0 and at most 50, not '-2'"),
        (["--speed", "51"], "--speed: expected a number above 0 and at most 50, not '51'"),
        (["--speed", "nan"], "--speed: expected a number above 0 and at most 50, not 'nan'"),
        (["--speed", "inf"], "--speed: expected a number above 0 and at most 50, not 'inf'"),
        (["--speed", "fast"], "--speed: expected a number above 0 and at most 50, not 'fast'"),
        (["--seed", "-1"], "--seed: expected a whole number from 0 to 2**63-1, not '-1'"),
        (["--seed", "4.5"], "--seed: expected a whole number from 0 to 2**63-1, not '4.5'"),
        (["--seed", "seven"], "--seed: expected a whole number from 0 to 2**63-1, not 'seven'"),
        (["--seed", str(2**63)], "--seed: expected a whole number from 0 to 2**63-1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], says: str) -> None:
    code, out, err = run(["demo", *argv])
    assert code == EXIT_USAGE
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("moment-tui demo: argument ")
    assert says in err


def test_without_a_terminal_it_says_so_in_one_line_and_starts_nothing(home: Path) -> None:
    code, out, err = run(["demo", "--seed", "3", "--speed", "2.5", "--keys", "--masked"])
    assert code == EXIT_USAGE
    assert (out, err) == ("", "moment-tui: demo: the demo is the console, which needs a terminal\n")
    assert not default_data_dir().exists()


# --- the setup: its own temporary directory, never the user's ------------------------------


def test_the_setup_is_a_seeded_sandbox_rooted_in_its_own_directory(tmp_path: Path) -> None:
    args, stream = demo_args("--seed", "42", "--speed", "4", "--keys", "--masked")
    setup = prepare(args, stream, tmp_path)
    settings, options = setup.settings, setup.options
    assert settings.mode == "sandbox"
    assert (settings.data_dir, settings.config_dir) == (tmp_path / "data", tmp_path / "config")
    assert (settings.listen.host, settings.listen.port) == ("127.0.0.1", 0)  # any free port
    assert settings.webhook_secrets == ()  # the runtime makes a private one
    assert options.sandbox_db == tmp_path / "data" / "sandbox.sqlite3"
    assert options.workspace == tmp_path / "data" / "workspace.sqlite3"
    assert (setup.seed, setup.seed_given, options.random_seed) == (42, True, 42)
    assert options.demo_payments == setup.interval == BASE_INTERVAL / 4
    assert options.demo_wrong_signatures is True
    assert options.payment_rng is not None
    assert options.payment_rng.random() == random.Random(42).random()  # `p` is seeded too
    assert (setup.masked, setup.keys, setup.notes) == (True, True, [])


def test_without_seed_a_random_one_is_chosen_and_the_flags_that_apply_are_kept(
    tmp_path: Path,
) -> None:
    args, stream = demo_args("--read-only", "--listen", "127.0.0.1:0", "demo")
    setup = prepare(args, stream, tmp_path)
    assert not setup.seed_given
    assert 0 <= setup.seed < 1_000_000
    assert setup.options.random_seed == setup.seed
    assert setup.settings.read_only
    assert (setup.speed, setup.interval) == (1.0, BASE_INTERVAL)


def test_a_configured_key_is_ignored_and_said_to_be(tmp_path: Path) -> None:
    args, stream = demo_args("--seed", "1")
    stream.env = {"MOMENT_API_KEY": "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "MOMENT_API_URL": "x"}
    setup = prepare(args, stream, tmp_path)
    assert setup.settings.mode == "sandbox"
    assert setup.settings.api_key is None
    assert setup.notes == [
        "moment-tui demo: ignoring the API key from MOMENT_API_KEY: the demo runs on its own "
        "sandbox"
    ]


def test_the_command_runs_the_console_in_a_directory_it_removes_at_exit(home: Path) -> None:
    args, _ = demo_args("--seed", "9")
    seen: list[DemoSetup] = []

    def console(setup: DemoSetup) -> int:
        assert setup.workdir.is_dir()
        assert setup.options.sandbox_db is not None
        assert setup.options.sandbox_db.parent.is_dir()
        seen.append(setup)
        return 0

    terminal = Terminal()
    store = SecretStore(default_config_dir(), backend=NoKeyring())
    stream = Io(stdout=terminal, stderr=io.StringIO(), stdin=terminal, env={}, store=store)
    assert cmd_demo(args, stream, console=console) == 0
    (setup,) = seen
    assert not setup.workdir.exists()
    assert home not in setup.workdir.parents
    assert not default_data_dir().exists()


async def test_the_runtime_on_the_demo_setup_never_touches_the_users_files(
    tmp_path: Path, home: Path
) -> None:
    users_data, users_config = default_data_dir(), default_config_dir()
    assert home in users_data.parents  # platformdirs reads the test's HOME / XDG
    args, stream = demo_args("--seed", "5")
    workdir = tmp_path / "demo"
    setup = prepare(args, stream, workdir)
    runtime = Runtime(setup.settings, setup.options)
    deliveries: list[Delivery] = []
    started = await runtime.start(deliveries.append, lambda _: None)
    try:
        assert started.problems == []
        assert started.listener_url is not None
        assert not started.listener_url.startswith("http://127.0.0.1:8765")
        connected = await runtime.connect()
        assert connected.synced > 0
    finally:
        await runtime.close()
    assert (workdir / "data" / "sandbox.sqlite3").is_file()
    assert (workdir / "data" / "workspace.sqlite3").is_file()
    for mode in ("sandbox", "test", "live"):
        path = workspace_path(users_data, mode, setup.settings.api_url)
        assert not path.exists()
    assert not (users_data / "sandbox.sqlite3").exists()
    assert not users_data.exists()
    assert not users_config.exists()


# --- --seed: the same data and the same payments --------------------------------------------


def seeded_ids(sandbox: Sandbox) -> dict[str, list[str]]:
    return {
        table: [row["id"] for row in sandbox.db.all(f"SELECT id FROM {table} ORDER BY seq")]  # noqa: S608
        for table in ("customers", "accounts", "bills")
    }


def traffic(sandbox: Sandbox, ticks: int) -> list[tuple[Any, ...]]:
    """Tick the sandbox's demo traffic as its loop would; each payment made, in order,
    and each tick's wrongly-signed-delivery decision."""
    demo = sandbox.demo
    assert demo is not None
    decisions = []
    for _ in range(ticks):
        demo.tick()
        decisions.append(demo.wrong_signature_due())
    rows = sandbox.db.all(
        "SELECT p.target_kind, p.target_id, p.amount, p.currency FROM payments AS p ORDER BY rowid"
    )
    return [tuple(row) for row in rows] + [("forged?", *decisions)]


def demo_config(seed: int) -> dict[str, Any]:
    # A webhook URL nobody listens on: the sender is enabled (so the forged-delivery
    # decision is the demo's), and nothing is sent before the test ends.
    return {
        "seed": True,
        "seed_today": TODAY,
        "random_seed": seed,
        "demo_payments": HOUR,
        "demo_wrong_signatures": True,
        "webhook_url": "http://127.0.0.1:9/hooks",
        "webhook_secrets": (new_webhook_secret(),),
        "retry_schedule": (),
    }


async def test_the_same_seed_gives_the_same_data_and_the_same_payments(
    start_sandbox: StartSandbox,
) -> None:
    first = await start_sandbox(**demo_config(11))
    again = await start_sandbox(**demo_config(11))
    other = await start_sandbox(**demo_config(12))
    assert seeded_ids(first) == seeded_ids(again)
    assert seeded_ids(first)["customers"] != seeded_ids(other)["customers"]
    names = "SELECT name, email, phone FROM customers ORDER BY seq"
    assert [tuple(r) for r in first.db.all(names)] == [tuple(r) for r in again.db.all(names)]

    made = traffic(first, 40)
    assert made == traffic(again, 40)
    assert made != traffic(other, 40)
    payments, forged = made[:-1], made[-1][1:]
    assert len(payments) >= 30  # a tick with nothing to pay raises a bill instead
    kinds = {kind for kind, *_ in payments}
    assert "bill" in kinds
    assert kinds & {"account", "customer"}  # some go through an account or a customer
    assert any(forged)  # the odd tick …
    assert not all(forged)  # … not every one


async def test_the_plain_sandbox_traffic_is_unchanged_by_the_demo_flag(
    start_sandbox: StartSandbox,
) -> None:
    """Without the demo's flag no extra draw is made: the sandbox's own demo payments
    (`moment-tui sandbox --demo-payments`) are what they were."""
    config = demo_config(11) | {"demo_wrong_signatures": False}
    plain = await start_sandbox(**config)
    assert plain.demo is not None
    assert not any(plain.demo.wrong_signature_due() for _ in range(50))
    state = plain.demo.rng.getstate()
    plain.demo.wrong_signature_due()
    assert plain.demo.rng.getstate() == state


# --- the wrongly signed delivery ---------------------------------------------------------------


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


async def test_a_wrongly_signed_demo_delivery_is_rejected_and_applies_nothing(
    tmp_path: Path, start_sandbox: StartSandbox, secret: str
) -> None:
    async with open_pipeline(tmp_path / "ws.sqlite3", (secret,)) as pipe:
        sandbox = await start_sandbox(
            **demo_config(21) | {"webhook_url": pipe.url, "webhook_secrets": (secret,)}
        )
        applications: list[Application] = []
        client = MomentClient(API_KEY, base_url=sandbox.url)
        try:
            await pipe.attach(
                Reconciler(pipe.workspace, client, on_application=applications.append)
            )
            demo = sandbox.demo
            assert demo is not None
            while not demo.tick():  # one real payment, delivered and applied
                pass
            sandbox.sender.wake()
            await eventually(lambda: any(a.state == "confirmed" for a in applications))
            (good,) = pipe.announced
            catalogue = pipe.rows("SELECT * FROM bills ORDER BY id")

            assert await demo.send_wrong_signature() == 401
            await eventually(lambda: len(pipe.announced) == 2)
            bad = pipe.announced[1]
            assert (bad.verdict, bad.status, bad.reason) == (
                "rejected",
                401,
                "no_matching_signature",
            )
            assert bad.webhook_id != good.webhook_id
            assert bad.event_id is None  # an unverified body is not read
            assert bad.amount is None

            assert len(applications) == 1  # the good one only
            snapshot = await pipe.workspace.read(read_books)
            assert (snapshot.books.verified, snapshot.books.rejected) == (1, 1)
            assert (snapshot.books.applied, snapshot.books.confirmed) == (1, 1)
            assert pipe.rows("SELECT * FROM bills ORDER BY id") == catalogue
            # The sandbox's outbox never saw it: one event, delivered at the first attempt.
            events = sandbox.db.all("SELECT state, attempts FROM events")
            assert [tuple(e) for e in events] == [("delivered", 1)]
            assert len(sandbox.db.all("SELECT * FROM deliveries")) == 1
            assert demo.forged == 1
        finally:
            await client.aclose()


async def test_no_forgery_without_a_webhook_url(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox(**demo_config(21) | {"webhook_url": None})
    assert sandbox.demo is not None
    sandbox.demo.tick()
    assert not any(sandbox.demo.wrong_signature_due() for _ in range(50))
    assert await sandbox.demo.send_wrong_signature() is None


def test_the_sandbox_config_default_keeps_the_demo_flag_off() -> None:
    assert SandboxConfig().demo_wrong_signatures is False
    assert SandboxConfig().random_seed is None


async def test_the_demo_traffic_keeps_bills_to_pay(start_sandbox: StartSandbox) -> None:
    """With keep_unpaid (the console's demo), a tick raises a bill while fewer than that
    are unpaid, so a long demo never shows "nothing outstanding"; without it the books
    run dry as before."""
    unpaid = "SELECT count(*) AS n FROM bills WHERE status = 'unpaid'"
    kept = await start_sandbox(**demo_config(5), demo_keep_unpaid=6)
    plain = await start_sandbox(**demo_config(5))
    for sandbox in (kept, plain):
        traffic(sandbox, 150)
    assert kept.db.one(unpaid)["n"] >= 5  # type: ignore[index]
    assert plain.db.one(unpaid)["n"] <= 1  # type: ignore[index]
    assert kept.demo is not None
    assert kept.demo.raised > 0
