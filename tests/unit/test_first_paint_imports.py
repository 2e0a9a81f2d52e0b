"""The console's first paint imports only what the first screen needs.

A fresh interpreter imports ``moment_tui.cli``, builds the sandbox settings as
``cli.cmd_console`` does, creates the app (without running it) and imports the home
view's screen. None of the stacks the runtime loads behind the first screen (HTTP
client, sandbox server and listener, pydantic models, CLDR data, webhook signing) nor
the keyring's backend discovery may be loaded by then. An import hook records who
imported what, so a failure names the chain that pulled the module in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Loaded later, by Runtime.start (in a thread) or on first use; never before the paint.
FORBIDDEN = (
    "aiohttp",
    "httpx",
    "pydantic",
    "pydantic_core",
    "babel",
    "iso4217",
    "standardwebhooks",
    "moment_tui.api.models",
    "moment_tui.api.client",
    "moment_tui.sandbox",
    "moment_tui.webhooks.listener",
)
# Keyring's backend discovery: not even keyring itself where no backend can work.
KEYRING = ("keyring", "secretstorage", "jeepney", "cryptography")

PROBE = r"""
import json, os, sys

first_importer = {}  # module name -> the frames that imported it, outermost first


class Witness:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in first_importer:
            chain = []
            frame = sys._getframe(1)
            while frame is not None:
                code = frame.f_code
                if not code.co_filename.startswith("<frozen") and "importlib" not in (
                    code.co_filename
                ):
                    where = f"{frame.f_globals.get('__name__', '?')}:{frame.f_lineno}"
                    if code.co_name != "<module>":
                        where += f" in {code.co_name}()"
                    chain.append(where)
                frame = frame.f_back
            first_importer[name] = chain[::-1]
        return None


sys.meta_path.insert(0, Witness)

from moment_tui import cli
from moment_tui.commands.base import Io
from moment_tui.secrets import keyring_possible

io = Io(env=dict(os.environ))
io.flags = cli.console_flags(cli.build_parser().parse_args([]))
settings = io.settings()  # as cmd_console does: env, config file, secret store

from moment_tui.ui.factory import create_app
from moment_tui.ui.views import VIEWS
import importlib

app = create_app(settings)
importlib.import_module(VIEWS[0].screen.partition(":")[0])  # the first screen's module

print(json.dumps({
    "mode": settings.mode,
    "keyring_possible": keyring_possible(),
    "loaded": sorted(sys.modules),
    "first_importer": first_importer,
}))
"""


def _loaded(package: str, modules: list[str]) -> list[str]:
    return [m for m in modules if m == package or m.startswith(package + ".")]


def test_first_paint_loads_no_heavy_stack(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    for name in (
        "PYTHON_KEYRING_BACKEND",
        "DBUS_SESSION_BUS_ADDRESS",
        "DISPLAY",
        "WAYLAND_DISPLAY",
        "XDG_RUNTIME_DIR",
    ):
        env.pop(name, None)  # a headless machine: no session bus, no keyring configured
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data")
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["mode"] == "sandbox"

    # Where a third-party keyring backend is installed, discovery must run: not checked.
    forbidden = FORBIDDEN + (() if result["keyring_possible"] else KEYRING)
    loaded: list[str] = result["loaded"]
    importers: dict[str, list[str]] = result["first_importer"]
    problems = []
    for package in forbidden:
        found = _loaded(package, loaded)
        if not found:
            continue
        # The first of the package's modules to be imported, and the chain that did it.
        first = next((name for name in importers if name in found), found[0])
        chain = " → ".join([*importers.get(first, ["?"]), first])
        problems.append(f"{package} is loaded before the first paint: {chain}")
    assert not problems, "\n".join(problems)
