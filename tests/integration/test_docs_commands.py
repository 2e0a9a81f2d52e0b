"""Every command the README and docs/ show is run here, or by the test this file names.

The commands are read out of the Markdown itself — shell blocks and `inline` spans
that start with ``moment-tui`` — so a page that shows a command nobody runs fails
here. Each is then:

* **parsed** by the real argument parser (a synopsis such as ``moment-tui events
  [--limit N]`` has each of its flags checked against that subcommand's parser), so
  a renamed flag or subcommand breaks the page's test, not a reader's first try;
* **run** here for real when it needs no terminal, key or peer (``auth status``,
  ``events``, ``doctor``, ``sandbox``, ``listen``, ``serve`` … on a fresh HOME), or
* named in :data:`COVERED` beside the test that runs it (the console and the demo
  need a terminal: ``test_tmux``; ``login`` needs a prompt; ``trigger`` needs a
  handler; the README's two set-up commands are CI's own), and that test must exist.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from moment_tui.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONSOLE = str(Path(sys.executable).with_name("moment-tui"))
BLOCK = re.compile(r"```(?:sh|bash|shell|console)?\n(.*?)```", re.S)
INLINE = re.compile(r"`((?:\.venv/bin/)?moment-tui(?: [^`]*)?)`")

# Shown, and run by another test (command prefix → that test). Checked to exist.
COVERED: dict[str, str] = {
    # CI runs the second verbatim (.ci/run); the first installs and opens the console,
    # whose install the packaging test makes and whose start test_tmux drives.
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'": (
        "tests/integration/test_docs_commands.py::test_ci_runs_the_readmes_second_command"
    ),
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/moment-tui": (
        "tests/unit/test_packaging.py::test_the_installed_wheel_finds_its_own_styles"
    ),
    "moment-tui login": "tests/unit/test_cli.py::test_login_from_stdin_into_the_fallback_file",
    "moment-tui logout": "tests/unit/test_cli.py::test_logout_removes_everything",
    "moment-tui trigger": (
        "tests/integration/test_cli_webhooks.py::test_trigger_sends_a_verified_event_the_listener_logs"
    ),
    "moment-tui import": (
        "tests/integration/test_cli_import.py::test_import_creates_good_rows_reports_bad_ones_and_exits_1"
    ),
    "moment-tui events replay": (
        "tests/integration/test_cli_webhooks.py::test_events_replay_keeps_the_webhook_id"
    ),
    "moment-tui demo": (
        "tests/integration/test_demo.py::"
        "test_the_command_runs_the_console_in_a_directory_it_removes_at_exit"
    ),
    "moment-tui doctor --public-url": (
        "tests/integration/test_cli_doctor.py::test_a_public_url_straight_to_the_listener_passes"
    ),
    "moment-tui listen --port 0 --forward-to": (
        "tests/integration/test_cli_forward.py::"
        "test_a_verified_event_is_forwarded_signed_afresh_and_the_answer_printed"
    ),
    # The console itself needs a terminal: driven in a real tmux pane.
    "moment-tui": "tests/integration/test_tmux.py::test_each_term_starts_switches_views_and_quits",
}

# Run here, on a fresh HOME: (command as shown, expected exit status, what it prints).
RUN: dict[str, tuple[int | None, str]] = {
    "moment-tui auth status": (0, "Mode"),
    "moment-tui events": (0, ""),
    "moment-tui events --json": (0, ""),
    "moment-tui doctor": (1, "API key"),
    "moment-tui doctor | cat": (1, "API key"),
    # Servers: run until their first line, then stopped (None: no exit status).
    "moment-tui sandbox": (None, "Sandbox API: http://"),
    "moment-tui listen --port 0 | head -1": (None, "Listening on http://"),
    "moment-tui serve --port 0 | head -1": (None, "Serving the console at http://"),
    "moment-tui --sandbox --read-only serve --port 0": (None, "Serving the console at http://"),
}


def shown_commands() -> set[str]:
    """Each command the pages show (shell lines and inline spans), as written."""
    found: set[str] = set()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in BLOCK.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#.*$", "", line.strip().removeprefix("$ "))
                line = " ".join(line.split())
                if line.startswith(("moment-tui", ".venv/bin/moment-tui", "python3 -m venv")):
                    found.add(line)
        for span in INLINE.findall(text):
            found.add(" ".join(span.split()))
    return {c.removeprefix(".venv/bin/") for c in found if not is_output(c)}


def is_output(text: str) -> bool:
    """``moment-tui: doctor: 1 check to fix`` is what a command says, not a command."""
    return text.startswith("moment-tui:") or re.match(r"moment-tui [a-z]+:", text) is not None


def is_synopsis(command: str) -> bool:
    return any(mark in command for mark in ("[", "…", "|", "(")) and not command.endswith(
        ("| head -1", "| cat")
    )


def argv_of(command: str) -> list[str]:
    line = re.split(r" \| | [<>] ", command)[0]  # the command, not its pipe or redirection
    words = shlex.split(line)
    assert words[0] == "moment-tui", command
    return words[1:]


def parser_for(argv: list[str]) -> object:
    """The argparse parser of the (sub)command named at the start of ``argv``."""
    parser = build_parser()
    node: object = parser
    for word in argv:
        if word.startswith("-"):
            continue  # a top-level flag before the subcommand (--sandbox serve …)
        actions = getattr(node, "_subparsers", None)
        if actions is None:
            break
        choices = next((a.choices for a in actions._group_actions if hasattr(a, "choices")), None)
        if not choices or word not in choices:
            break
        node = choices[word]
    return node


def subcommand_path(argv: list[str]) -> list[str]:
    """The words of ``argv`` that name (sub)commands, in order."""
    path: list[str] = []
    node: object = build_parser()
    for word in argv:
        if word.startswith("-"):
            continue
        actions = getattr(node, "_subparsers", None)
        choices = actions and next(
            (a.choices for a in actions._group_actions if hasattr(a, "choices")), None
        )
        if not choices or word not in choices:
            break
        path.append(word)
        node = choices[word]
    return path


def flags_of(node: object) -> set[str]:
    return {o for a in getattr(node, "_actions", []) for o in a.option_strings}


def covering(command: str) -> str | None:
    for prefix in sorted(COVERED, key=len, reverse=True):
        if command.startswith(prefix):
            return COVERED[prefix]
    return None


def test_the_pages_show_commands() -> None:
    commands = shown_commands()
    assert "moment-tui doctor" in commands
    assert any(c.startswith("moment-tui trigger") for c in commands)
    assert len(commands) > 30


@pytest.mark.parametrize("command", sorted(shown_commands()))
def test_each_shown_command_parses(command: str) -> None:
    """A synopsis names a real subcommand and real flags; a command parses as is."""
    if command.startswith("python3 -m venv"):
        return  # the set-up commands: COVERED
    argv = [w for w in command.replace("(", " ").replace(")", " ").split()[1:] if w]
    node = parser_for(argv)
    known = flags_of(node) | flags_of(build_parser())
    for word in argv:
        flag = word.strip("[]").split("=")[0]
        if flag.startswith("--"):
            assert flag in known, f"{command!r}: {flag} is not a flag of that command"
    if is_synopsis(command) or "URL" in command or "ID" in command.split():
        return
    words = argv_of(command)
    if words and words == subcommand_path(words):
        return  # a subcommand named in prose (`moment-tui import`): it exists
    with pytest.raises(SystemExit) if "--help" in argv else _no_raise():
        build_parser().parse_args(argv_of(command))


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_every_shown_command_is_run_here_or_by_a_named_test() -> None:
    missing = []
    for command in sorted(shown_commands()):
        if command in RUN or is_synopsis(command):
            continue
        if covering(command) is None:
            missing.append(command)
    assert missing == [], f"commands shown in the docs that no test runs: {missing}"


def test_the_covering_tests_exist() -> None:
    for node_id in set(COVERED.values()):
        path, _, name = node_id.partition("::")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in names, f"{node_id} is named in COVERED but does not exist"


def fresh_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        MOMENT_LISTEN="127.0.0.1:0",  # doctor's listener check: a port that is free
    )
    return env


@pytest.mark.parametrize("command", sorted(RUN))
def test_the_commands_run_here(command: str, tmp_path: Path) -> None:
    assert command in shown_commands(), f"{command!r} is no longer shown: drop it from RUN"
    status, says = RUN[command]
    argv = [CONSOLE, *argv_of(command)]
    env = fresh_env(tmp_path)
    if status is not None:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == status, done.stderr
        assert says in done.stdout + done.stderr
        return
    # A server: its first line says where it is; then it is stopped.
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
            assert first.startswith(says), first
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)


def test_the_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)[:2]
    assert [b.strip() for b in blocks] == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/moment-tui",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/ruff check"
        " . && .venv/bin/ruff format --check . && .venv/bin/mypy --strict moment_tui &&"
        " .venv/bin/pytest",
    ]
    assert text.index("```") < text.index("\n## ")  # before anything else


def test_ci_runs_the_readmes_second_command() -> None:
    second = BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))[1].strip()
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run[-1] == second  # verbatim, and last: its status is CI's
