"""``moment-tui sandbox`` as a real process."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import sys
from pathlib import Path

import httpx
import pytest

from moment_tui import cli
from moment_tui.commands.base import Io
from moment_tui.sandbox import server
from moment_tui.sandbox.delivery import DEFAULT_SCHEDULE
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from moment_tui.webhooks.signing import new_webhook_secret

ADDRESS = re.compile(r"^Sandbox API: (http://127\.0\.0\.1:(\d+))$")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        # Never consult a real keyring: it could hold someone's webhook secret.
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONUNBUFFERED="1",
    )
    return env


async def _sandbox_process(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    """``moment-tui sandbox ARGS…`` with stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        "sandbox",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
    )


async def _address_line(process: asyncio.subprocess.Process) -> re.Match[str]:
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
    match = ADDRESS.match(first.rstrip("\n"))
    assert match is not None, first
    return match


async def test_sandbox_command_announces_its_address_and_serves(tmp_path: Path) -> None:
    process = await _sandbox_process(tmp_path, "--port", "0", "--seed")
    try:
        assert process.stdout is not None
        match = await _address_line(process)
        url, port = match.group(1), int(match.group(2))
        assert port > 0
        rest = []
        for _ in range(3):
            rest.append((await asyncio.wait_for(process.stdout.readline(), timeout=5)).decode())
        assert rest[0] == "Seeded 38 demo customers with accounts and bills\n"
        assert rest[1] == "Webhooks: no --webhook-url; events are stored, not delivered\n"
        assert rest[2].startswith(f"Bill page: {url}/pay/bill_")
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": "Bearer sk_test_cli0000001"}
        ) as http:
            response = await http.get("/billing/customers/UCR100001")
            assert response.status_code == 200
            assert response.json()["name"] == "Thabo Mokoena"
            page = await http.get(rest[2].removeprefix(f"Bill page: {url}").strip())
            assert page.status_code == 200
            assert "<form" in page.text
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


@pytest.mark.parametrize(
    ("extra", "warned"),
    [
        pytest.param(("--webhook-url", "http://127.0.0.1:9/x"), True, id="memory-webhooks"),
        pytest.param(("--webhook-url", "http://127.0.0.1:9/x", "--db", "FILE"), False, id="file"),
        pytest.param((), False, id="memory-no-webhooks"),
    ],
)
async def test_pending_webhooks_in_memory_are_warned_about_on_stderr(
    tmp_path: Path, extra: tuple[str, ...], warned: bool
) -> None:
    """With --webhook-url and the default --db :memory:, a restart loses pending
    deliveries: one warning line on stderr; stdout still starts with the address."""
    argv = [str(tmp_path / "s.db") if arg == "FILE" else arg for arg in extra]
    if "--webhook-url" in argv:
        argv += ["--webhook-secret", new_webhook_secret()]
    process = await _sandbox_process(tmp_path, "--port", "0", *argv)
    try:
        assert process.stdout is not None
        await _address_line(process)
        # The line after the address is written after the warning would have been.
        await asyncio.wait_for(process.stdout.readline(), timeout=5)
    finally:
        if process.returncode is None:
            process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), timeout=10)
    expected = [server.MEMORY_WEBHOOKS_WARNING] if warned else []
    assert err.decode().splitlines() == expected


async def test_webhook_url_without_secret_is_a_usage_error(tmp_path: Path) -> None:
    process = await _sandbox_process(tmp_path, "--webhook-url", "http://127.0.0.1:9/x")
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert lines == [
        "moment-tui: --webhook-url needs a signing secret: pass --webhook-secret whsec_… "
        "or set MOMENT_WEBHOOK_SECRET"
    ]


async def test_bad_webhook_secret_is_a_usage_error(tmp_path: Path) -> None:
    process = await _sandbox_process(
        tmp_path, "--webhook-url", "http://127.0.0.1:9/x", "--webhook-secret", "not-a-secret"
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("moment-tui: --webhook-secret: ")
    assert "not-a-secret" not in lines[0]  # a secret is never echoed


async def test_taken_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        thread = SandboxThread(SandboxConfig(port=port, db_path=str(tmp_path / "s.db")))
        with pytest.raises(OSError, match="address already in use"):
            thread.start()
        thread.stop()  # safe after a failed start, and twice
        thread.stop()
        process = await _sandbox_process(tmp_path, "--port", str(port))
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 1
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"moment-tui: sandbox: cannot listen on 127.0.0.1:{port}: ")
    assert lines[0].lower().endswith("address already in use")


async def test_sandbox_thread_stops_and_frees_its_port() -> None:
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    async with httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/pay/nothing")).status_code == 404
    thread.stop()
    thread.stop()  # a second stop is harmless
    async with httpx.AsyncClient(base_url=url) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/pay/nothing")


# --- --retry-schedule: the delays before each retry ------------------------------------


def _config_for(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, SandboxConfig, str]:
    """Run ``moment-tui sandbox ARGV`` up to the point it would serve; its config."""
    seen: list[SandboxConfig] = []

    async def capture(config: SandboxConfig, announce: object, warn: object) -> None:
        seen.append(config)

    monkeypatch.setattr(server, "serve_forever", capture)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["sandbox", *argv], Io(stdout=out, stderr=err, env={}))
    assert len(seen) == (1 if code == 0 else 0), err.getvalue()
    return code, (seen[0] if seen else SandboxConfig()), err.getvalue()


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("0.5,2", (0.5, 2.0)),
        ("10,20", (10.0, 20.0)),
        ("0", (0.0,)),
        ("none", ()),
        ("NONE", ()),
    ],
)
def test_retry_schedule_is_the_delays_before_each_retry(
    monkeypatch: pytest.MonkeyPatch, text: str, schedule: tuple[float, ...]
) -> None:
    code, config, _ = _config_for(monkeypatch, "--retry-schedule", text)
    assert code == 0
    assert config.retry_schedule == schedule


def test_default_retry_schedule_matches_its_help(monkeypatch: pytest.MonkeyPatch) -> None:
    code, config, _ = _config_for(monkeypatch)
    assert code == 0
    assert config.retry_schedule == DEFAULT_SCHEDULE == (1.0, 5.0, 30.0, 120.0, 300.0, 600.0)
    assert config.db_path == ":memory:"  # the default: nothing survives a restart
    out = io.StringIO()
    with pytest.raises(SystemExit):
        cli.main(["sandbox", "--help"], Io(stdout=out, stderr=io.StringIO(), env={}))
    help_text = " ".join(out.getvalue().split())
    assert "(default 1,5,30,120,300,600)" in help_text
    assert "the first attempt is immediate" in help_text
    assert "pass a file to keep data and resume deliveries" in help_text


@pytest.mark.parametrize("text", ["", "-1", "1,,2", "x", "nan", "inf", "1;2"])
def test_bad_retry_schedule_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    with pytest.raises(SystemExit) as exited:
        _config_for(monkeypatch, "--retry-schedule", text)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--db", ""],  # read as ":memory:" before: every event lost at the stop
        ["--latency", "-5"],
        ["--latency", "5ms"],
        ["--latency", "600000"],
        ["--webhook-secret", ""],
        ["--webhook-url", " "],
    ],
)
def test_empty_or_impossible_values_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _config_for(monkeypatch, *argv)
    assert exited.value.code == 2


def test_a_host_other_machines_can_reach_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    code, config, err = _config_for(monkeypatch, "--host", "192.0.2.10")
    assert (code, config.host) == (0, "192.0.2.10")
    assert err.splitlines() == [
        "Note: --host 192.0.2.10 lets other machines reach this sandbox, which takes any "
        "sk_test_ key and whose bill pages need none."
    ]
    for loopback in ("127.0.0.1", "::1", "[::1]", "localhost"):
        code, config, err = _config_for(monkeypatch, "--host", loopback)
        assert (code, err) == (0, "")
    code, _, err = _config_for(monkeypatch, "--host", "999.1.1.1")
    assert (code, err) == (2, "moment-tui: --host: '999.1.1.1' is not a host name or address\n")
