"""``moment-tui doctor`` against real servers on loopback: the shared sandbox as the API,
small aiohttp stubs for a refused key and a skewed clock, and doctor's own listener
reached through ``--public-url`` as if the tunnel were direct. Every run checks that
neither the API key nor the webhook secret appears in any output."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import io
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from moment_tui.cli import main
from moment_tui.commands.base import Io
from moment_tui.config import default_data_dir
from moment_tui.secrets import SecretStore
from moment_tui.store.workspace import workspace_path
from moment_tui.webhooks.signing import new_webhook_secret
from tests.conftest import MemoryKeyring

from .conftest import API_KEY

SECRET = new_webhook_secret()
LIVE_KEY = "sk_liveDoctor4eC39HqLyjWDarjt"
MALFORMED_SECRET = "whsec_this*is*not*base64*at*all"
NAMES = ["api_key", "api", "clock", "webhook_secret", "listener", "tunnel"]
# Every value that must never be printed, and the parts of them that identify them.
NEVER_SHOWN = (
    API_KEY,
    API_KEY.removeprefix("sk_test_"),
    LIVE_KEY,
    LIVE_KEY.removeprefix("sk_"),
    SECRET,
    SECRET.removeprefix("whsec_"),
    MALFORMED_SECRET,
    MALFORMED_SECRET.removeprefix("whsec_"),
)
KEY_LABEL = "sk_test_…jWD"  # mask(API_KEY)
SECRET_LABEL = f"whsec_…{SECRET[-3:]}"


class TtyStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def check(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(c for c in self.json()["checks"] if c["name"] == name)
        return found

    def statuses(self) -> dict[str, str]:
        return {c["name"]: c["status"] for c in self.json()["checks"]}


def doctor(
    *args: str,
    env: dict[str, str],
    store: SecretStore | None = None,
    tty: bool = False,
    top: tuple[str, ...] = (),
) -> Result:
    stream = TtyStringIO if tty else io.StringIO
    out, err = stream(), stream()
    streams = Io(stdout=out, stderr=err, env=env, store=store)
    try:
        code = main([*top, "doctor", *args], streams)
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    result = Result(code, out.getvalue(), err.getvalue())
    for value in NEVER_SHOWN:
        assert value not in result.out + result.err, "a key or secret leaked into the output"
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "config", backend=MemoryKeyring())


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def env(sandbox_url: str) -> dict[str, str]:
    """A test key for the shared sandbox (the "API") and a webhook secret."""
    return {
        "MOMENT_API_KEY": API_KEY,
        "MOMENT_API_URL": sandbox_url,
        "MOMENT_WEBHOOK_SECRET": SECRET,
    }


class StubApi:
    """An API on its own thread that answers every request with ``status`` (a problem
    body) and a ``Date`` header ``clock_offset`` seconds from this machine's clock."""

    def __init__(self, status: int = 404, clock_offset: float = 0.0) -> None:
        self.status = status
        self.clock_offset = clock_offset
        self.authorizations: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _answer(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        date = email.utils.formatdate(time.time() + self.clock_offset, usegmt=True)
        detail = "invalid API key" if self.status == 401 else "no such customer"
        problem = {"type": "about:blank", "title": "Stub", "status": self.status, "detail": detail}
        return web.json_response(
            problem, status=self.status, headers={"Date": date}, content_type="application/json"
        )

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def start(self) -> str:
        self._thread.start()
        assert self._ready.wait(10), "the stub API did not start"
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@contextlib.contextmanager
def stub_api(status: int = 404, clock_offset: float = 0.0) -> Iterator[StubApi]:
    stub = StubApi(status, clock_offset)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


def listener_url(port: int, path: str = "/webhooks/moment") -> str:
    return f"http://127.0.0.1:{port}{path}"


# --- everything in order ---------------------------------------------------------------


def test_every_check_passes_against_the_sandbox(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    result = doctor("--listen", f"127.0.0.1:{port}", env=env, store=store)

    assert result.code == 0
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0] == f"OK   API key         {KEY_LABEL} (test mode, from MOMENT_API_KEY)"
    assert re.fullmatch(
        rf"OK   API             {re.escape(env['MOMENT_API_URL'])} answered in \d+ ms,"
        r" key accepted",
        lines[1],
    )
    assert lines[2] == "OK   Clock           in step with the API's clock (within 2 s)"
    assert lines[3] == f"OK   Webhook secret  {SECRET_LABEL} from MOMENT_WEBHOOK_SECRET"
    assert lines[4] == (
        f"OK   Listener        127.0.0.1:{port} is free; webhooks at {listener_url(port)}"
    )
    assert (
        lines[5] == "SKIP Tunnel          not checked: pass --public-url https://…/webhooks/moment"
    )
    assert "  Events  obligation.amount_applied" in lines
    assert "  URL     (not given)" in lines
    assert "  HTTPS   required" in lines
    assert lines[-1] == (
        "No problems found. Before sending Moment a URL, test it: "
        "moment-tui doctor --public-url https://…/webhooks/moment"
    )


def test_a_terminal_gets_marks_and_the_key_source_from_the_keyring(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    store.set("api_key", API_KEY)
    keyed_by_store = {k: v for k, v in env.items() if k != "MOMENT_API_KEY"}

    result = doctor("--listen", f"127.0.0.1:{port}", env=keyed_by_store, store=store, tty=True)

    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"✓ API key         {KEY_LABEL} (test mode, from the keyring)"
    assert lines[5] == "– Tunnel          not checked: pass --public-url https://…/webhooks/moment"


def test_json_shape(env: dict[str, str], port: int, store: SecretStore) -> None:
    result = doctor("--listen", f"127.0.0.1:{port}", "--json", env=env, store=store)

    assert result.code == 0
    data = result.json()
    assert list(data) == ["ok", "checks", "send_to_moment"]
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == NAMES
    for check in data["checks"]:
        assert list(check) == ["name", "label", "ok", "status", "detail", "fix"]
    assert [c["ok"] for c in data["checks"]] == [True, True, True, True, True, None]
    assert data["checks"][0]["detail"] == f"{KEY_LABEL} (test mode, from MOMENT_API_KEY)"
    assert data["checks"][5]["status"] == "skipped"
    assert data["send_to_moment"] == {
        "url": None,
        "https": None,
        "tested": False,
        "ready": False,
        "path": "/webhooks/moment",
        "method": "POST",
        "events": ["obligation.amount_applied"],
        "ask_for_secret": False,
        "note": "your tunnel's (or server's) public https:// URL ending in /webhooks/moment; "
        "check it first with moment-tui doctor --public-url URL",
    }


# --- the key and the API ----------------------------------------------------------------


def test_no_key_fails_that_check_and_skips_the_api_ones(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    no_key = {k: v for k, v in env.items() if k != "MOMENT_API_KEY"}

    result = doctor("--listen", f"127.0.0.1:{port}", "--json", env=no_key, store=store)

    assert result.code == 1
    assert result.json()["ok"] is False
    assert result.check("api_key") == {
        "name": "api_key",
        "label": "API key",
        "ok": False,
        "status": "fail",
        "detail": "not set",
        "fix": "run moment-tui login with your sk_test_… key from Moment, or set MOMENT_API_KEY",
    }
    assert result.check("api")["status"] == "skipped"
    assert result.check("api")["ok"] is None
    assert result.check("clock")["status"] == "skipped"
    assert result.statuses()["webhook_secret"] == "ok"
    assert result.err == "moment-tui: doctor: 1 check to fix: API key\n"


def test_human_output_puts_each_fix_under_its_failure(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    no_key = {k: v for k, v in env.items() if k != "MOMENT_API_KEY"}

    result = doctor("--listen", f"127.0.0.1:{port}", env=no_key, store=store)

    lines = result.out.splitlines()
    assert lines[:4] == [
        "FAIL API key         not set",
        "                     fix: run moment-tui login with your sk_test_… key from Moment, "
        "or set MOMENT_API_KEY",
        "SKIP API             needs a usable API key",
        "SKIP Clock           needs a usable API key (the API's Date header is the reference)",
    ]


def test_an_api_answering_401_fails_the_api_check(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    with stub_api(status=401) as api:
        result = doctor(
            "--listen", f"127.0.0.1:{port}", "--json",
            env={**env, "MOMENT_API_URL": api.url}, store=store,
        )  # fmt: skip
        sent = api.authorizations

    assert result.code == 1
    check = result.check("api")
    assert check["status"] == "fail"
    assert check["detail"] == f"{api.url}: key refused: invalid API key"
    assert "moment-tui login stores a new one" in check["fix"]
    assert result.statuses() == {
        "api_key": "ok",
        "api": "fail",
        "clock": "ok",  # a refusal still carries the API's Date
        "webhook_secret": "ok",
        "listener": "ok",
        "tunnel": "skipped",
    }
    assert sent
    assert all(a == f"Bearer {API_KEY}" for a in sent)
    assert result.err == "moment-tui: doctor: 1 check to fix: API\n"


def test_a_live_key_is_named_and_the_sandbox_refuses_it(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--json",
        env={**env, "MOMENT_API_KEY": LIVE_KEY}, store=store,
    )  # fmt: skip

    assert result.code == 1
    assert (
        result.check("api_key")["detail"] == "sk_…rjt (LIVE mode: real money, from MOMENT_API_KEY)"
    )
    assert result.check("api")["detail"] == (
        f"{env['MOMENT_API_URL']}: key refused: this is a local sandbox and refuses live keys; "
        "use an sk_test_ key"
    )


def test_a_public_key_is_not_usable_and_the_exit_is_1_not_2(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    public = "pk_test_4eC39HqLyjWDarjtT1zdp7dc"
    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--json",
        env={**env, "MOMENT_API_KEY": public}, store=store,
    )  # fmt: skip

    assert result.code == 1
    assert public not in result.out + result.err
    assert result.check("api_key")["detail"] == (
        "pk_test_…7dc from MOMENT_API_KEY is not usable: that is a public key (pk_…); "
        "the console needs a secret key sk_…"
    )
    assert result.check("api")["status"] == "skipped"


# --- the clock --------------------------------------------------------------------------


def test_a_clock_five_minutes_off_fails(env: dict[str, str], port: int, store: SecretStore) -> None:
    with stub_api(clock_offset=-300) as api:  # the API's clock is 5 minutes behind ours
        result = doctor(
            "--listen", f"127.0.0.1:{port}", "--json",
            env={**env, "MOMENT_API_URL": api.url}, store=store,
        )  # fmt: skip

    assert result.code == 1
    clock = result.check("clock")
    assert clock["status"] == "fail"
    assert re.fullmatch(
        r"this machine is (4 min 59 s|5 min|5 min 1 s) ahead of the API's clock; "
        r"Moment's deliveries would fail the 3-minute window",
        clock["detail"],
    )
    assert clock["fix"].startswith("turn on network time")
    assert result.statuses()["api"] == "ok"


def test_a_clock_under_a_minute_off_is_a_warning(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    with stub_api(clock_offset=45) as api:  # the API's clock is ahead of ours
        result = doctor(
            "--listen", f"127.0.0.1:{port}", "--json",
            env={**env, "MOMENT_API_URL": api.url}, store=store,
        )  # fmt: skip

    assert result.code == 0  # a warning is not a failure
    clock = result.check("clock")
    assert (clock["status"], clock["ok"]) == ("warn", True)
    assert re.fullmatch(
        r"this machine is (44|45|46) s behind the API's clock \(the window is 3 minutes\)",
        clock["detail"],
    )


# --- the webhook secret -------------------------------------------------------------------


def test_a_missing_secret_fails_with_its_fix(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    no_secret = {k: v for k, v in env.items() if k != "MOMENT_WEBHOOK_SECRET"}

    result = doctor("--listen", f"127.0.0.1:{port}", "--json", env=no_secret, store=store)

    assert result.code == 1
    check = result.check("webhook_secret")
    assert (check["status"], check["detail"]) == ("fail", "not set")
    assert check["fix"] == (
        "run moment-tui login, or set MOMENT_WEBHOOK_SECRET (Moment gives you the signing "
        "secret, whsec_…, when it registers the URL)"
    )
    assert result.json()["send_to_moment"]["ask_for_secret"] is True
    assert result.err == "moment-tui: doctor: 1 check to fix: Webhook secret\n"


def test_a_malformed_secret_is_a_failed_check_not_a_usage_error(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    bad = {**env, "MOMENT_WEBHOOK_SECRET": MALFORMED_SECRET}

    result = doctor("--listen", f"127.0.0.1:{port}", "--json", env=bad, store=store)

    assert result.code == 1
    check = result.check("webhook_secret")
    assert check["status"] == "fail"
    assert check["detail"] == (
        "whsec_…all from MOMENT_WEBHOOK_SECRET is malformed: the part after whsec_ must be base64"
    )
    assert check["fix"].startswith("copy the secret Moment gave you again, whole")
    assert result.statuses()["api_key"] == "ok"


def test_a_stored_secret_is_named_by_its_place(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    store.set("webhook_secret", SECRET)
    stored = {k: v for k, v in env.items() if k != "MOMENT_WEBHOOK_SECRET"}

    result = doctor("--listen", f"127.0.0.1:{port}", "--json", env=stored, store=store)

    assert result.check("webhook_secret")["detail"] == f"{SECRET_LABEL} from the keyring"


# --- the listener address -----------------------------------------------------------------


def test_a_port_in_use_fails_and_skips_the_tunnel(env: dict[str, str], store: SecretStore) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        # The top-level --listen applies to doctor as to every command.
        result = doctor(
            "--json", "--public-url", listener_url(port),
            env=env, store=store, top=("--listen", f"127.0.0.1:{port}"),
        )  # fmt: skip

    assert result.code == 1
    check = result.check("listener")
    assert check["status"] == "fail"
    assert check["detail"].startswith(f"127.0.0.1:{port} is in use (")
    assert check["fix"] == (
        "another moment-tui console or listen is running (stop it), or pick --listen HOST:PORT"
    )
    tunnel = result.check("tunnel")
    assert (tunnel["status"], tunnel["detail"]) == ("skipped", "the listener address is not free")


# --- the tunnel -----------------------------------------------------------------------------


def test_a_public_url_straight_to_the_listener_passes(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    url = listener_url(port)

    result = doctor("--listen", f"127.0.0.1:{port}", "--public-url", url, env=env, store=store)

    assert result.code == 0
    lines = result.out.splitlines()
    assert re.fullmatch(
        rf"OK   Tunnel          a signed test delivery came back verified through "
        rf"{re.escape(url)} in \d+ ms",
        lines[5],
    )
    assert f"  URL     {url}  (tested)" in lines
    assert "  HTTPS   no: Moment needs https://" in lines
    assert lines[-1] == (
        "No problems found. Run again with your tunnel's https:// URL before sending it."
    )
    # The listener had a throwaway workspace: the real one was never created.
    real = workspace_path(default_data_dir(), "test", env["MOMENT_API_URL"])
    assert not real.exists()
    assert not (default_data_dir() / "workspaces").exists()


def test_the_tunnel_check_json(env: dict[str, str], port: int, store: SecretStore) -> None:
    url = listener_url(port)

    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--public-url", url, "--json", env=env, store=store
    )

    assert result.code == 0
    assert result.check("tunnel")["status"] == "ok"
    send_to = result.json()["send_to_moment"]
    assert (send_to["url"], send_to["https"], send_to["tested"]) == (url, False, True)
    assert send_to["ready"] is False  # a loopback URL is not what Moment can register
    assert send_to["note"] == (
        "a loopback URL only tests this machine: give Moment your tunnel's https:// URL"
    )


def test_a_public_url_with_another_path_fails_with_the_reason(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    url = listener_url(port, "/hooks")

    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--public-url", url, "--json", env=env, store=store
    )

    assert result.code == 1
    tunnel = result.check("tunnel")
    assert tunnel["status"] == "fail"
    assert tunnel["detail"] == (
        "wrong path: reached the listener at /hooks, but it receives webhooks at /webhooks/moment"
    )
    assert tunnel["fix"] == (
        f"use {listener_url(port)} (the public URL's path must be the listener path), "
        'or set listen_path = "/hooks" in config.toml'
    )
    assert result.json()["send_to_moment"]["tested"] is False
    assert result.err == "moment-tui: doctor: 1 check to fix: Tunnel\n"


def test_a_public_url_nobody_answers_is_not_reached(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    nobody = listener_url(free_port())

    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--public-url", nobody, "--json", env=env, store=store
    )

    assert result.code == 1
    tunnel = result.check("tunnel")
    assert tunnel["detail"].startswith(f"{nobody} not reached: ConnectError")
    assert tunnel["fix"] == (
        f"start a tunnel to the listener, e.g. cloudflared tunnel --url http://127.0.0.1:{port}, "
        f"or ngrok http 127.0.0.1:{port}"
    )


def test_without_a_secret_the_tunnel_is_still_tested(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    no_secret = {k: v for k, v in env.items() if k != "MOMENT_WEBHOOK_SECRET"}

    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--public-url", listener_url(port), "--json",
        env=no_secret, store=store,
    )  # fmt: skip

    assert result.code == 1
    assert result.statuses()["webhook_secret"] == "fail"
    tunnel = result.check("tunnel")
    assert tunnel["status"] == "ok"
    assert tunnel["detail"].endswith("(signed with a one-off secret: none is usable)")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://example.com/webhooks/moment",
            "moment-tui: --public-url: Moment delivers to https:// URLs only; give your "
            "tunnel's https:// address (http:// is for this machine only: localhost, "
            "127.0.0.1, ::1)\n",
        ),
        (
            "ftp://example.com/webhooks/moment",
            "moment-tui: --public-url: a webhook destination must be an "
            "http(s)://HOST[:PORT]/PATH URL, got 'ftp://example.com/webhooks/moment'\n",
        ),
        (
            "https://example.com/webhooks/moment#x",
            "moment-tui: --public-url: the URL must not have a fragment, "
            "got 'https://example.com/webhooks/moment#x'\n",
        ),
    ],
)
def test_a_bad_public_url_is_bad_usage(
    env: dict[str, str], store: SecretStore, url: str, message: str
) -> None:
    result = doctor("--public-url", url, env=env, store=store)

    assert (result.code, result.out, result.err) == (2, "", message)


# --- secrets stay secret ---------------------------------------------------------------------


def test_neither_key_nor_secret_appears_in_any_output(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    """Every run above is checked by ``doctor()``; this one gathers every kind of output
    (human, terminal, JSON, failures, the tunnel) and says what is shown instead."""
    url = listener_url(port)
    both = ("--listen", f"127.0.0.1:{port}", "--public-url", url)
    runs = [
        doctor(*both, env=env, store=store),
        doctor(*both, env=env, store=store, tty=True),
        doctor(*both, "--json", env=env, store=store),
        doctor(
            "--listen", f"127.0.0.1:{port}", "--public-url", listener_url(port, "/x"),
            env={**env, "MOMENT_WEBHOOK_SECRET": MALFORMED_SECRET}, store=store,
        ),
    ]  # fmt: skip
    text = "".join(r.out + r.err for r in runs)

    for value in NEVER_SHOWN:
        assert value not in text
    assert text.count(KEY_LABEL) == 4
    assert text.count(SECRET_LABEL) == 3
    assert "whsec_…all" in text  # the malformed one, masked too


def test_an_unreachable_api_fails_and_skips_the_clock(
    env: dict[str, str], port: int, store: SecretStore
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    result = doctor(
        "--listen", f"127.0.0.1:{port}", "--json",
        env={**env, "MOMENT_API_URL": nowhere}, store=store,
    )  # fmt: skip

    assert result.code == 1
    api = result.check("api")
    assert api["status"] == "fail"
    assert api["detail"].startswith(f"{nowhere}: ")
    assert "ConnectError" in api["detail"]
    assert api["fix"].startswith("check the network and the API URL")
    clock = result.check("clock")
    assert (clock["status"], clock["detail"]) == ("skipped", "needs an answer from the API")
