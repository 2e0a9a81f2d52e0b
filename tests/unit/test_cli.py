"""The ``moment-tui`` command line: exit codes, streams, and secrets kept out of output."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest

from moment_tui import cli
from moment_tui.config import Listen, Settings, load_settings
from moment_tui.secrets import Secret, SecretStore
from tests.conftest import MemoryKeyring

if TYPE_CHECKING:
    from tests.conftest import NoKeyring

REPO = Path(__file__).resolve().parents[2]
KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
LIVE_KEY = "sk_4eC39HqLyjWDarjtT1zdp7dc"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VERSION = "moment-tui 0.1.0\n"


class TtyStringIO(StringIO):
    """A captured stream that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


class Run:
    """One invocation of ``cli.main`` with captured streams."""

    def __init__(self, store: SecretStore) -> None:
        self.store = store
        self.stdout = StringIO()
        self.stderr = StringIO()

    def __call__(
        self,
        *argv: str,
        stdin: str = "",
        env: dict[str, str] | None = None,
        tty: bool = False,
    ) -> int:
        stream = TtyStringIO if tty else StringIO
        self.stdout, self.stderr = stream(), stream()
        io = cli.Io(
            stdout=self.stdout,
            stderr=self.stderr,
            stdin=stream(stdin),
            env=env or {},
            store=self.store,
        )
        return cli.main(list(argv), io=io)

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()

    def assert_secret_free(self, *secrets: str) -> None:
        for secret in secrets or (KEY, LIVE_KEY, SECRET):
            assert secret not in self.out
            assert secret not in self.err
        assert "\x1b" not in self.out + self.err  # no colour codes off a terminal


@pytest.fixture
def file_store(config_dir: Path, no_keyring: NoKeyring) -> SecretStore:
    return SecretStore(config_dir, backend=no_keyring)


@pytest.fixture
def run(file_store: SecretStore) -> Run:
    return Run(file_store)


@pytest.fixture
def keyring_run(config_dir: Path, memory_keyring: MemoryKeyring) -> Run:
    return Run(SecretStore(config_dir, backend=memory_keyring))


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, lines
    assert text.endswith("\n")
    return lines[0]


# --- --version, --help and usage errors -----------------------------------------------


# Every command and subcommand, as typed before --help/--version.
COMMANDS = [
    [],
    ["login"],
    ["logout"],
    ["auth"],
    ["auth", "status"],
    ["sandbox"],
    ["listen"],
    ["trigger"],
    ["events"],
    ["events", "replay"],
    ["import"],
    ["doctor"],
    ["serve"],
]


def flat(text: str) -> str:
    """Help text with argparse's line wrapping undone (it depends on the width)."""
    return " ".join(text.split())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_version_everywhere(run: Run, command: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(*command, "--version")
    assert caught.value.code == 0
    assert run.out == VERSION
    assert run.err == ""


# What each --help must say besides its usage line: its description or what it lists.
HELP_TEXT = {
    "": ["A terminal console for Moment's Billing API.", "--api-url URL", "--read-only"],
    "login": ["usage: moment-tui login [-h] [--version]"],
    "logout": ["usage: moment-tui logout [-h] [--version]"],
    "auth": ["status which key and secret are in use (masked)"],
    "auth status": ["usage: moment-tui auth status [-h] [--version]"],
    "sandbox": [
        "Run the embedded sandbox: a local Moment-compatible Billing API",
        "'Sandbox API: http://HOST:PORT'",
        "--seed",
    ],
    "listen": [
        "Run the webhook listener headless.",
        "'Listening on http://HOST:PORT/PATH'",
        "--forward-to URL",
    ],
    "trigger": [
        "Send signed obligation.amount_applied deliveries to a webhook handler.",
        "--to URL",
        "--tamper",
    ],
    "events": [
        "replay re-send a stored delivery",
        "--limit N show the newest N deliveries (default 20)",
    ],
    "events replay": ["Re-send a stored delivery:", "the delivery's number or webhook-id"],
    "import": [
        "Validate every row of a bulk-upload CSV",
        "Exit 1 if any row had errors.",
        "--date YYYY-MM-DD the file's as-of date (default: taken from the file name, as "
        "2024-06-01 in za_acme_dailyfile_2024-06-01.csv; today if the name has no date)",
        "--dry-run",
        "--yes",
    ],
    "doctor": ["Check the API key, the API, the webhook secret", "--public-url URL", "--json"],
    "serve": ["Serve the console as a web page", "'Serving the console at", "--host HOST"],
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_everywhere(run: Run, command: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(*command, "--help")
    assert caught.value.code == 0
    assert run.out.startswith(f"usage: {' '.join(['moment-tui', *command])} [-h] [--version]")
    text = flat(run.out)
    assert "--version show program's version number and exit" in text
    for phrase in HELP_TEXT[" ".join(command)]:
        assert phrase in text
    assert run.err == ""


def test_top_level_help_lists_the_commands(run: Run) -> None:
    with pytest.raises(SystemExit):
        run("--help")
    for word in ("login", "logout", "auth", "--api-url", "--sandbox", "--listen", "--read-only"):
        assert word in run.out


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--bogus"], "moment-tui: unrecognized arguments: --bogus (see moment-tui --help)"),
        (
            ["login", "--bogus"],
            "moment-tui: unrecognized arguments: --bogus (see moment-tui --help)",
        ),
        (
            ["auth"],
            "moment-tui auth: the following arguments are required: COMMAND "
            "(see moment-tui auth --help)",
        ),
        (
            ["--listen"],
            "moment-tui: argument --listen: expected one argument (see moment-tui --help)",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(run: Run, argv: list[str], line: str) -> None:
    with pytest.raises(SystemExit) as caught:
        run(*argv)
    assert caught.value.code == 2
    assert run.out == ""
    assert one_line(run.err) == line


def test_an_unknown_command_is_one_line_and_exit_2(run: Run) -> None:
    with pytest.raises(SystemExit) as caught:
        run("frobnicate")
    assert caught.value.code == 2
    assert run.out == ""
    line = one_line(run.err)
    # The list of commands grows with later features; its quoting varies by Python version.
    assert line.startswith("moment-tui: argument COMMAND: invalid choice: 'frobnicate' (choose")
    for command in ("login", "logout", "auth"):
        assert command in line
    assert line.endswith(") (see moment-tui --help)")


# --- login ----------------------------------------------------------------------------


def test_login_takes_a_rotation_pair_of_secrets(run: Run, config_dir: Path) -> None:
    new = "whsec_bW9tZW50LXNhbmRib3gtd2ViaG9vay1rZXktMDAwMSE="
    assert run("login", stdin=f"{KEY}\n{SECRET}  {new}\n") == 0
    assert run.err.splitlines()[1] == (
        f"Stored 2 webhook secrets whsec_…aSw whsec_…SE= in file {config_dir / 'secrets.json'}."
    )
    run.assert_secret_free()
    assert run("auth", "status") == 0
    assert "Webhook secret  whsec_…aSw whsec_…SE=  (file " in run.out
    assert run("login", stdin=f"{KEY}\n{SECRET} whsec_!!!\n") == 2
    assert (
        one_line(run.err)
        == "moment-tui: login: webhook secret: the part after whsec_ must be base64"
    )


def test_login_notes_a_secret_too_short_to_be_whole(run: Run) -> None:
    cut = SECRET[:26]  # 20 base64 characters: 15 bytes
    assert run("login", stdin=f"{KEY}\n{cut}\n") == 0
    assert run.err.splitlines()[-1] == (
        "Note: whsec_…D8I decodes to 15 bytes, and Standard Webhooks secrets are 24 to 64:"
        " check that it was copied whole."
    )
    assert run.store.get("webhook_secret").value == Secret(cut)  # stored all the same
    assert run("login", stdin=f"{KEY}\n{SECRET}\n") == 0
    assert "Note:" not in run.err


def test_login_from_stdin_into_the_fallback_file(run: Run, config_dir: Path) -> None:
    assert run("login", stdin=f"{KEY}\n{SECRET}\n") == 0
    path = config_dir / "secrets.json"
    assert run.out == ""
    assert run.err.splitlines() == [
        f"Stored API key sk_test_…7dc (test mode) in file {path}.",
        f"Stored webhook secret whsec_…aSw in file {path}.",
    ]
    run.assert_secret_free()
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "api_key": KEY,
        "webhook_secret": SECRET,
    }
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert run.store.get("api_key").value == Secret(KEY)
    assert run.store.get("webhook_secret").value == Secret(SECRET)


@pytest.mark.parametrize("stdin_tty", [False, True])
@pytest.mark.parametrize("stdout_tty", [False, True])
@pytest.mark.parametrize("stderr_tty", [False, True])
def test_prompting_needs_a_terminal_on_all_three_streams(
    stdin_tty: bool, stdout_tty: bool, stderr_tty: bool
) -> None:
    def stream(tty: bool) -> StringIO:
        return TtyStringIO() if tty else StringIO()

    io = cli.Io(stdin=stream(stdin_tty), stdout=stream(stdout_tty), stderr=stream(stderr_tty))
    assert io.interactive() is (stdin_tty and stdout_tty and stderr_tty)


def test_login_with_stdout_piped_reads_lines_and_never_prompts(
    file_store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_prompt(*args: object, **kwargs: object) -> str:
        raise AssertionError("login must not prompt when stdout is not a terminal")

    monkeypatch.setattr(cli.getpass, "getpass", no_prompt)
    stdout, stderr = StringIO(), TtyStringIO()
    stdin = StringIO(f"{KEY}\n{SECRET}\n")  # `printf … | moment-tui login > log`
    io = cli.Io(stdout=stdout, stderr=stderr, stdin=stdin, env={}, store=file_store)
    assert cli.main(["login"], io=io) == 0
    assert stdout.getvalue() == ""
    assert stderr.getvalue().splitlines()[0].startswith("Stored API key sk_test_…7dc (test mode)")
    assert "Moment API key (" not in stderr.getvalue()
    assert file_store.get("webhook_secret").value == Secret(SECRET)


def test_login_typed_at_a_terminal_with_stdout_piped_is_refused(
    file_store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``moment-tui login > log`` at a terminal: no prompt is allowed, and reading the
    typed lines would echo the key on screen; so it says how to do it instead."""

    def no_prompt(*args: object, **kwargs: object) -> str:
        raise AssertionError("login must not prompt when stdout is not a terminal")

    monkeypatch.setattr(cli.getpass, "getpass", no_prompt)
    stdout, stderr = StringIO(), TtyStringIO()
    io = cli.Io(
        stdout=stdout, stderr=stderr, stdin=TtyStringIO(f"{KEY}\n"), env={}, store=file_store
    )
    assert cli.main(["login"], io=io) == 2
    assert stdout.getvalue() == ""
    assert one_line(stderr.getvalue()) == (
        "moment-tui: login: standard output is not a terminal; run login at a terminal, "
        "or pipe the key (and secret) on stdin"
    )
    assert file_store.get("api_key").value is None


def test_login_at_a_terminal_prompts_on_stderr(
    file_store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([KEY, ""])
    labels: list[str] = []

    def prompt(label: str, stream: object = None) -> str:
        assert stream is stderr
        labels.append(label)
        return next(answers)

    monkeypatch.setattr(cli.getpass, "getpass", prompt)
    stdout, stderr = TtyStringIO(), TtyStringIO()
    io = cli.Io(stdout=stdout, stderr=stderr, stdin=TtyStringIO(), env={}, store=file_store)
    assert cli.main(["login"], io=io) == 0
    assert labels == [
        "Moment API key (sk_test_… or sk_…): ",
        "Webhook signing secret(s) (whsec_…, space-separated; Enter to skip): ",
    ]
    assert stdout.getvalue() == ""
    assert file_store.get("api_key").value == Secret(KEY)


def test_a_live_import_with_stdout_piped_asks_for_yes_not_a_prompt(
    file_store: SecretStore,
) -> None:
    bulk = REPO / "tests/fixtures/bulk/za_acme_moment_all-customers_2024-06-01.csv"
    stdout, stderr = StringIO(), TtyStringIO()
    env = {"MOMENT_API_KEY": LIVE_KEY, "MOMENT_API_URL": "https://live.test"}
    io = cli.Io(stdout=stdout, stderr=stderr, stdin=TtyStringIO("yes\n"), env=env, store=file_store)
    assert cli.main(["import", str(bulk)], io=io) == 2
    assert stdout.getvalue() == ""
    assert one_line(stderr.getvalue()) == (
        "moment-tui: import: this writes 6 bills to LIVE Moment at https://live.test; "
        "without a terminal to ask on, pass --yes to confirm"
    )


def test_login_into_a_keyring(keyring_run: Run, memory_keyring: MemoryKeyring) -> None:
    assert keyring_run("login", stdin=f"\n  {KEY}  \n\n") == 0
    assert keyring_run.out == ""
    assert keyring_run.err == "Stored API key sk_test_…7dc (test mode) in keyring (moment-tui).\n"
    assert memory_keyring.items == {("moment-tui", "api_key"): KEY}
    keyring_run.assert_secret_free()


def test_login_says_when_it_falls_back(config_dir: Path, no_keyring: NoKeyring) -> None:
    stderr = StringIO()
    io = cli.Io(stdout=StringIO(), stderr=stderr, stdin=StringIO(KEY), env={})
    io.store = SecretStore(config_dir, backend=no_keyring, notice=io.err)
    assert cli.main(["login"], io=io) == 0
    assert stderr.getvalue().splitlines()[0] == (
        f"no usable system keyring (NoKeyringError); secrets are stored in "
        f"{config_dir / 'secrets.json'} (readable only by you, mode 0600) instead."
    )


def test_login_with_a_live_key_warns(run: Run) -> None:
    assert run("login", stdin=LIVE_KEY + "\n") == 0
    assert run.err.splitlines() == [
        f"Stored API key sk_…7dc (LIVE mode) in file {run.store.file}.",
        "This key moves real money: the console shows a LIVE banner; commands that write ask "
        "first.",
    ]
    run.assert_secret_free()


def test_login_notes_that_the_environment_wins(run: Run) -> None:
    assert run("login", stdin=KEY, env={"MOMENT_API_KEY": LIVE_KEY}) == 0
    assert run.err.splitlines()[-1] == (
        "Note: MOMENT_API_KEY is set in the environment and takes precedence."
    )
    run.assert_secret_free()


@pytest.mark.parametrize(
    ("stdin", "line"),
    [
        (
            "pk_test_4eC39HqLyjWDarjtT1zdp7dc\n",
            "moment-tui: login: API key: that is a public key (pk_…); "
            "the console needs a secret key sk_…",
        ),
        (
            "hello world\n",
            "moment-tui: login: API key: an API key starts with sk_test_ (test) or sk_ (live), "
            "then letters and digits",
        ),
        (
            f"{KEY}\nnot-a-secret\n",
            "moment-tui: login: webhook secret: a webhook signing secret starts with whsec_",
        ),
        (
            "",
            "moment-tui: login: no terminal to prompt on; pipe the key (and secret) on stdin",
        ),
        (
            "\n \n",
            "moment-tui: login: no terminal to prompt on; pipe the key (and secret) on stdin",
        ),
        pytest.param(
            f"{KEY}\n{SECRET}\n{SECRET}\n",
            "moment-tui: login: 3 lines on stdin; expected the API key, then optionally "
            "one line of webhook secrets separated by spaces",
            id="a-third-line-is-not-dropped-silently",
        ),
    ],
)
def test_login_refuses_bad_input_and_stores_nothing(
    run: Run, config_dir: Path, stdin: str, line: str
) -> None:
    assert run("login", stdin=stdin) == 2
    assert run.out == ""
    assert one_line(run.err) == line
    assert not (config_dir / "secrets.json").exists()
    assert run.store.get("api_key").value is None
    run.assert_secret_free("pk_test_4eC39HqLyjWDarjtT1zdp7dc", KEY)


def test_a_failed_login_keeps_the_previous_credentials(run: Run) -> None:
    assert run("login", stdin=f"{KEY}\n{SECRET}\n") == 0
    assert run("login", stdin=f"{LIVE_KEY}\nwhsec_!!!\n") == 2
    assert run.store.get("api_key").value == Secret(KEY)
    assert run.store.get("webhook_secret").value == Secret(SECRET)


def test_a_corrupt_secrets_file_is_reported_and_kept(run: Run, config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "secrets.json"
    path.write_text('{"webhook_secret": "whsec_', encoding="utf-8")  # cut short
    for argv, stdin in ((("login",), f"{KEY}\n"), (("logout",), "")):
        assert run(*argv, stdin=stdin) == 1
        assert one_line(run.err) == f"moment-tui: {path} is not a secrets file; fix or remove it"
        assert path.read_text(encoding="utf-8") == '{"webhook_secret": "whsec_'
    assert run("auth", "status") == 0
    assert f"(not found: {path} is not a secrets file; fix or remove it)" in run.out
    run.assert_secret_free()


# --- logout ---------------------------------------------------------------------------


def test_logout_removes_everything(run: Run, config_dir: Path) -> None:
    run("login", stdin=f"{KEY}\n{SECRET}\n")
    assert run("logout") == 0
    path = config_dir / "secrets.json"
    assert run.out == ""
    assert run.err.splitlines() == [
        f"Removed api key from file {path}.",
        f"Removed webhook secret from file {path}.",
    ]
    assert not path.exists()
    assert run.store.get("api_key").value is None
    assert run.store.get("webhook_secret").value is None


def test_logout_from_a_keyring(keyring_run: Run, memory_keyring: MemoryKeyring) -> None:
    keyring_run("login", stdin=KEY)
    assert keyring_run("logout", env={"MOMENT_WEBHOOK_SECRET": SECRET}) == 0
    assert keyring_run.err.splitlines() == [
        "Removed api key from keyring (moment-tui).",
        "Note: MOMENT_WEBHOOK_SECRET is set in the environment and takes precedence.",
    ]
    assert memory_keyring.items == {}


class UndeletableKeyring(MemoryKeyring):
    """A keyring that reads and stores, but refuses to delete (a locked collection)."""

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")


def test_logout_says_so_when_the_keyring_keeps_the_key(config_dir: Path) -> None:
    backend = UndeletableKeyring()
    run = Run(SecretStore(config_dir, backend=backend))
    run("login", stdin=KEY)
    assert run("logout") == 1
    assert run.err.splitlines() == [
        "Could not check or clear the api key in the keyring: "
        "no usable system keyring (KeyringLocked).",
        # After that failure the keyring is not asked again, so this one is unknown too.
        "Could not check or clear the webhook secret in the keyring: "
        "no usable system keyring (KeyringLocked).",
        "It may still be stored there; try again, or remove it with your keyring tool.",
    ]
    assert backend.items == {("moment-tui", "api_key"): KEY}  # it is still there


def test_logout_with_nothing_stored(run: Run) -> None:
    assert run("logout") == 0
    assert run.err == "Nothing was stored.\n"
    assert run.out == ""


# --- auth status ----------------------------------------------------------------------


def test_auth_status_with_stored_credentials(run: Run, config_dir: Path) -> None:
    run("login", stdin=f"{KEY}\n{SECRET}\n")
    assert run("auth", "status") == 0
    source = f"file {config_dir / 'secrets.json'}"
    assert run.out.splitlines() == [
        "Mode            test (sk_test_ key: no real money moves)",
        "API URL         https://api.momentpay.net  (default)",
        f"API key         sk_test_…7dc  ({source})",
        f"Webhook secret  whsec_…aSw  ({source})",
    ]
    assert run.err == ""
    run.assert_secret_free()


def test_auth_status_from_the_environment(run: Run) -> None:
    other = "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="
    env = {
        "MOMENT_API_KEY": LIVE_KEY,
        "MOMENT_WEBHOOK_SECRET": f"{SECRET} {other}",
        "MOMENT_API_URL": "https://moment.example/",
    }
    assert run("auth", "status", env=env) == 0
    assert run.out.splitlines() == [
        "Mode            LIVE (real money; the console shows a LIVE banner; commands that "
        "write ask first)",
        "API URL         https://moment.example  (MOMENT_API_URL)",
        "API key         sk_…7dc  (MOMENT_API_KEY (environment))",
        "Webhook secret  whsec_…aSw whsec_…2s=  (MOMENT_WEBHOOK_SECRET (environment))",
    ]
    run.assert_secret_free(LIVE_KEY, SECRET, other)


def test_auth_status_with_nothing(run: Run) -> None:
    assert run("auth", "status") == 0
    assert run.out.splitlines() == [
        "Mode            sandbox (no API key: the console runs on the embedded sandbox)",
        "API             the embedded sandbox; https://api.momentpay.net (default) applies "
        "only with a key",
        "API key         (none)  (not stored)",
        "Webhook secret  (none)  (not stored)",
    ]


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"MOMENT_LISTEN": "nope"},
            "moment-tui: MOMENT_LISTEN: listen address must be HOST:PORT, got 'nope'",
        ),
        (
            {"MOMENT_API_KEY": "pk_test_4eC39HqLyjWDarjtT1zdp7dc"},
            "moment-tui: MOMENT_API_KEY (environment): that is a public key (pk_…); "
            "the console needs a secret key sk_…",
        ),
        (
            {"MOMENT_API_KEY": "sk_test_has spaces in it"},
            "moment-tui: MOMENT_API_KEY (environment): an API key starts with sk_test_ (test) "
            "or sk_ (live), then letters and digits",
        ),
        (
            {"MOMENT_API_URL": "ftp://files.example"},
            "moment-tui: MOMENT_API_URL: API URL must be http(s)://HOST[:PORT], "
            "got 'ftp://files.example'",
        ),
    ],
)
def test_auth_status_with_bad_environment(run: Run, env: dict[str, str], line: str) -> None:
    assert run("auth", "status", env=env) == 2
    assert run.out == ""
    assert one_line(run.err) == line
    run.assert_secret_free("pk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_has spaces in it")


def test_auth_status_with_a_bad_config_file(run: Run, home: Path) -> None:
    path = home / "config" / "moment-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('api_key = "x"\n', encoding="utf-8")
    assert run("auth", "status") == 2
    assert one_line(run.err) == (
        f"moment-tui: {path}: secrets do not belong in the config file; use `moment-tui login`"
    )


# --- the console command (the app itself is faked) ------------------------------------


class FakeApp:
    return_code: int | None = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ran = False

    def run(self) -> None:
        self.ran = True


def test_console_flags_reach_the_app(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeApp] = []

    def create_app(settings: Settings) -> FakeApp:
        made.append(FakeApp(settings))
        return made[-1]

    monkeypatch.setattr("moment_tui.ui.factory.create_app", create_app)
    argv = ["--listen", "127.0.0.1:9000", "--api-url", "https://x.test/", "--read-only"]
    assert run(*argv, "--sandbox", env={"MOMENT_LISTEN": "localhost:1"}, tty=True) == 0
    [app] = made
    assert app.ran is True
    settings = app.settings
    assert settings.listen == Listen("127.0.0.1", 9000)
    assert settings.api_url == "https://x.test"
    assert settings.read_only is True
    assert settings.mode == "sandbox"
    assert settings.sources["listen"] == "--listen"
    assert run.out == ""


def test_console_flags_parse_into_settings(file_store: SecretStore) -> None:
    args = cli.build_parser().parse_args(["--listen", "[::1]:9001", "--read-only"])
    settings = load_settings(env={}, flags=cli.console_flags(args), store=file_store)
    assert settings.listen == Listen("::1", 9001)
    assert settings.read_only is True
    assert settings.force_sandbox is False


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--listen", "nowhere"],
            "moment-tui: --listen: listen address must be HOST:PORT, got 'nowhere'",
        ),
        (
            ["--api-url", "ftp://x"],
            "moment-tui: --api-url: API URL must be http(s)://HOST[:PORT], got 'ftp://x'",
        ),
    ],
)
def test_bad_console_flags_exit_2_before_the_app(
    run: Run, monkeypatch: pytest.MonkeyPatch, argv: list[str], line: str
) -> None:
    def create_app(settings: Settings) -> FakeApp:
        raise AssertionError("the app must not start")

    monkeypatch.setattr("moment_tui.ui.factory.create_app", create_app)
    assert run(*argv) == 2
    assert one_line(run.err) == line
    assert run.out == ""


# --- the real entry point -------------------------------------------------------------


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        NO_COLOR="1",
    )
    return env


def test_python_m_moment_tui_version(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "moment_tui", "--version"],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, VERSION, "")


def test_installed_script_version(home: Path) -> None:
    script = Path(sys.executable).parent / "moment-tui"
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    done = subprocess.run(
        [str(script), "--version"],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, VERSION, "")


def test_real_login_and_status_without_a_keyring(home: Path) -> None:
    env = _clean_env(home)
    secrets_file = home / "config" / "moment-tui" / "secrets.json"
    login = subprocess.run(
        [sys.executable, "-m", "moment_tui", "login"],
        input=f"{KEY}\n{SECRET}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout == ""
    assert login.stderr.splitlines()[0].startswith("no usable system keyring (NoKeyringError)")
    assert KEY not in login.stderr
    assert SECRET not in login.stderr
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600

    status = subprocess.run(
        [sys.executable, "-m", "moment_tui", "auth", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert f"API key         sk_test_…7dc  (file {secrets_file})" in status.stdout.splitlines()
    assert KEY not in status.stdout + status.stderr
    assert "\x1b" not in status.stdout + status.stderr


def test_unknown_option_in_a_real_process(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "moment_tui", "--frobnicate"],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "moment-tui: unrecognized arguments: --frobnicate (see moment-tui --help)\n"
    )


def test_secret_free_helper_would_catch_a_leak(run: Run) -> None:
    run.stdout.write(KEY)
    with pytest.raises(AssertionError):
        run.assert_secret_free()


# --- the console needs a terminal -----------------------------------------------------


@pytest.mark.parametrize(
    ("stdin_tty", "stdout_tty"), [(False, False), (True, False), (False, True)]
)
def test_the_console_without_a_terminal_is_usage_and_starts_nothing(
    file_store: SecretStore, monkeypatch: pytest.MonkeyPatch, stdin_tty: bool, stdout_tty: bool
) -> None:
    def create_app(settings: Settings) -> FakeApp:
        raise AssertionError("the app must not start without a terminal")

    monkeypatch.setattr("moment_tui.ui.factory.create_app", create_app)
    stdout, stderr = (TtyStringIO if stdout_tty else StringIO)(), StringIO()
    stdin = (TtyStringIO if stdin_tty else StringIO)()
    io = cli.Io(stdout=stdout, stderr=stderr, stdin=stdin, env={}, store=file_store)
    assert cli.main(["--sandbox"], io=io) == 2
    assert stdout.getvalue() == ""
    assert one_line(stderr.getvalue()) == (
        "moment-tui: the console needs a terminal; for scripts use `moment-tui listen` "
        "or `moment-tui events`"
    )


# --- top-level flags apply to every subcommand ----------------------------------------


def test_top_level_flags_apply_to_auth_status(run: Run) -> None:
    argv = ["--api-url", "https://x.test:8080/", "--read-only", "auth", "status"]
    assert run(*argv, env={"MOMENT_API_URL": "https://env.test"}) == 0
    assert run.out.splitlines() == [
        "Mode            sandbox (no API key: the console runs on the embedded sandbox)",
        "API             the embedded sandbox; https://x.test:8080 (--api-url) applies only "
        "with a key",
        "API key         (none)  (not stored)",
        "Webhook secret  (none)  (not stored)",
        "Read-only       yes: writes to the API are refused  (--read-only)",
    ]
    assert run.err == ""


def test_top_level_sandbox_flag_applies_to_auth_status(run: Run) -> None:
    assert run("--sandbox", "auth", "status", env={"MOMENT_API_KEY": LIVE_KEY}) == 0
    assert run.out.splitlines()[:2] == [
        "Mode            sandbox (--sandbox: the console runs on the embedded sandbox; "
        "the key is unused)",
        "API             the embedded sandbox; https://api.momentpay.net (default) applies "
        "without --sandbox",
    ]
    run.assert_secret_free()


def test_auth_status_names_the_api_url_only_where_it_is_used(run: Run) -> None:
    """In sandbox mode the configured URL is not used (the sandbox is); with a key the
    URL row is as before."""
    env = {"MOMENT_API_URL": "https://moment.example/"}
    assert run("auth", "status", env=env) == 0
    assert run.out.splitlines()[1] == (
        "API             the embedded sandbox; https://moment.example (MOMENT_API_URL) "
        "applies only with a key"
    )
    assert run("auth", "status", env={**env, "MOMENT_API_KEY": KEY}) == 0
    assert run.out.splitlines()[1] == "API URL         https://moment.example  (MOMENT_API_URL)"


def test_io_settings_use_the_stored_flags_and_extra_flags_win(file_store: SecretStore) -> None:
    io = cli.Io(env={}, store=file_store, flags={"api_url": "https://a.test", "read_only": True})
    assert (io.settings().api_url, io.settings().read_only) == ("https://a.test", True)
    assert io.settings({"api_url": "https://b.test"}).api_url == "https://b.test"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--api-url", "http://x.test:99999", "auth", "status"],
            "moment-tui: --api-url: the port in 'http://x.test:99999' is not a number 0-65535",
        ),
        (
            ["--listen", "127.0.0.1:²", "events"],
            "moment-tui: --listen: listen address must be HOST:PORT, got '127.0.0.1:²'",
        ),
    ],
)
def test_a_bad_top_level_flag_before_a_subcommand_is_usage(
    run: Run, argv: list[str], line: str
) -> None:
    assert run(*argv) == 2
    assert run.out == ""
    assert one_line(run.err) == line


def test_ctrl_d_at_the_login_prompt_stores_nothing(
    file_store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([KEY])

    def prompt(label: str, stream: object = None) -> str:
        for answer in answers:
            return answer
        raise EOFError  # what getpass raises on Ctrl-D

    monkeypatch.setattr(cli.getpass, "getpass", prompt)
    stderr = TtyStringIO()
    io = cli.Io(stdout=TtyStringIO(), stderr=stderr, stdin=TtyStringIO(), env={}, store=file_store)
    assert cli.main(["login"], io=io) == 2
    assert one_line(stderr.getvalue()) == (
        "moment-tui: login: no value entered (end of input); nothing was stored"
    )
    assert file_store.get("api_key").value is None


def test_login_where_the_secrets_file_cannot_be_written_is_one_line_and_exit_1(
    tmp_path: Path, no_keyring: NoKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    store = SecretStore(config, backend=no_keyring)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")  # root ignores a chmod; fake it

    monkeypatch.setattr(Path, "mkdir", refuse)
    run = Run(store)
    assert run("login", stdin=f"{KEY}\n") == 1
    assert run.err.splitlines()[-1] == (
        f"moment-tui: cannot write {config / 'secrets.json'}: Permission denied"
    )
    assert "Traceback" not in run.err
    run.assert_secret_free()
    assert not config.exists()
