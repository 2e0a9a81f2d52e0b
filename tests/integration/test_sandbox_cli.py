"""``moment-tui sandbox`` as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import httpx
import pytest

from moment_tui.sandbox.server import SandboxConfig, SandboxThread

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


async def test_sandbox_command_announces_its_address_and_serves(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        "sandbox",
        "--port",
        "0",
        "--seed",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        match = ADDRESS.match(first.rstrip("\n"))
        assert match is not None, first
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


async def test_webhook_url_without_secret_is_a_usage_error(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        "sandbox",
        "--webhook-url",
        "http://127.0.0.1:9/x",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert lines == [
        "moment-tui: --webhook-url needs a signing secret: pass --webhook-secret whsec_… "
        "or set MOMENT_WEBHOOK_SECRET"
    ]


async def test_bad_webhook_secret_is_a_usage_error(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "moment_tui",
        "sandbox",
        "--webhook-url",
        "http://127.0.0.1:9/x",
        "--webhook-secret",
        "not-a-secret",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
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
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "moment_tui",
            "sandbox",
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(tmp_path),
        )
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
