"""Settings: flags > environment > config file > defaults, each with its source."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from moment_tui.config import (
    DEFAULT_LISTEN_PATH,
    DEFAULT_TOLERANCE,
    ConfigError,
    Listen,
    Settings,
    config_file,
    load_settings,
    parse_api_url,
    parse_destination_url,
    parse_listen,
    parse_path,
)
from moment_tui.secrets import Secret, SecretStore

if TYPE_CHECKING:
    from tests.conftest import MemoryKeyring

TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
STORED_KEY = "sk_test_storedStoredStored123"
LIVE_KEY = "sk_4eC39HqLyjWDarjtT1zdp7dc"
SECRET_A = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_B = "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="

PATH_RULE = (
    "a webhook path starts with / and has no spaces, ? or #, and no %-escapes but %2F and %25"
)


@pytest.fixture
def store(config_dir: Path, memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore(config_dir, backend=memory_keyring)


@pytest.fixture
def load(config_dir: Path, tmp_path: Path, store: SecretStore) -> Any:
    def run(env: dict[str, str] | None = None, **flags: Any) -> Settings:
        return load_settings(
            env=env or {},
            flags=flags,
            store=store,
            config_dir=config_dir,
            data_dir=tmp_path / "data",
        )

    return run


def write_config(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults and precedence ----------------------------------------------------------


def test_defaults(load: Any, config_dir: Path, tmp_path: Path) -> None:
    settings = load()
    assert settings.api_url == "https://api.momentpay.net"
    assert settings.listen == Listen("127.0.0.1", 8765)
    assert str(settings.listen) == "127.0.0.1:8765"
    assert settings.listen_path == DEFAULT_LISTEN_PATH == "/webhooks/moment"
    assert settings.read_only is False
    assert settings.webhook_tolerance == DEFAULT_TOLERANCE == 180
    assert settings.webhook_max_body == 1024 * 1024
    assert settings.event_retention == 10_000
    assert settings.api_key is None
    assert settings.webhook_secrets == ()
    assert settings.config_dir == config_dir
    assert settings.data_dir == tmp_path / "data"
    assert dict(settings.sources) == {
        "api_url": "default",
        "listen": "default",
        "listen_path": "default",
        "read_only": "default",
        "webhook_tolerance": "default",
        "webhook_max_body": "default",
        "event_retention": "default",
        "api_key": "not stored",
        "webhook_secret": "not stored",
    }


def test_file_beats_defaults(load: Any, config_dir: Path) -> None:
    path = write_config(
        config_dir,
        'api_url = "https://file.example/"\nlisten = "192.0.2.1:9000"\n'
        'listen_path = "/hooks"\nread_only = true\nwebhook_tolerance = 300\n'
        "webhook_max_body = 4096\nevent_retention = 250\n",
    )
    settings = load()
    assert settings.api_url == "https://file.example"
    assert settings.listen == Listen("192.0.2.1", 9000)
    assert settings.listen_path == "/hooks"
    assert settings.read_only is True
    assert settings.webhook_tolerance == 300
    assert (settings.webhook_max_body, settings.event_retention) == (4096, 250)
    names = ("api_url", "listen", "listen_path", "read_only", "webhook_tolerance")
    for name in (*names, "webhook_max_body", "event_retention"):
        assert settings.sources[name] == str(path)


def test_env_beats_file(load: Any, config_dir: Path) -> None:
    write_config(config_dir, 'api_url = "https://file.example"\nlisten = "192.0.2.1:9000"\n')
    settings = load({"MOMENT_API_URL": "https://env.example", "MOMENT_LISTEN": "localhost:9100"})
    assert settings.api_url == "https://env.example"
    assert settings.listen == Listen("localhost", 9100)
    assert settings.sources["api_url"] == "MOMENT_API_URL"
    assert settings.sources["listen"] == "MOMENT_LISTEN"


def test_flags_beat_env(load: Any, config_dir: Path) -> None:
    write_config(config_dir, 'api_url = "https://file.example"\nread_only = false\n')
    env = {"MOMENT_API_URL": "https://env.example", "MOMENT_LISTEN": "localhost:9100"}
    settings = load(env, api_url="https://flag.example", listen="127.0.0.1:9200", read_only=True)
    assert settings.api_url == "https://flag.example"
    assert settings.listen == Listen("127.0.0.1", 9200)
    assert settings.read_only is True
    assert settings.sources["api_url"] == "--api-url"
    assert settings.sources["listen"] == "--listen"
    assert settings.sources["read_only"] == "--read-only"


def test_a_listen_already_parsed_by_the_command_line_is_accepted(load: Any) -> None:
    settings = load(listen=Listen("::1", 9300))
    assert settings.listen == Listen("::1", 9300)
    assert str(settings.listen) == "[::1]:9300"
    assert settings.sources["listen"] == "--listen"


def test_none_flags_and_empty_env_do_not_count(load: Any, config_dir: Path) -> None:
    path = write_config(config_dir, 'api_url = "https://file.example"\n')
    settings = load({"MOMENT_API_URL": ""}, api_url=None, sandbox=None)
    assert settings.api_url == "https://file.example"
    assert settings.sources["api_url"] == str(path)
    assert settings.force_sandbox is False


def test_moment_config_names_the_file(load: Any, config_dir: Path, tmp_path: Path) -> None:
    write_config(config_dir, 'api_url = "https://default-place.example"\n')
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('api_url = "https://elsewhere.example"\n', encoding="utf-8")
    settings = load({"MOMENT_CONFIG": str(elsewhere)})
    assert settings.api_url == "https://elsewhere.example"
    assert settings.sources["api_url"] == str(elsewhere)


def test_moment_config_expands_the_home_directory(load: Any, home: Path) -> None:
    (home / "mt.toml").write_text('listen = "127.0.0.1:1234"\n', encoding="utf-8")
    settings = load({"MOMENT_CONFIG": "~/mt.toml"})
    assert settings.listen == Listen("127.0.0.1", 1234)
    assert settings.sources["listen"] == str(home / "mt.toml")


def test_a_moment_config_file_that_does_not_exist_is_an_error(load: Any, tmp_path: Path) -> None:
    # A typo in MOMENT_CONFIG must not quietly fall back to the defaults.
    absent = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as caught:
        load({"MOMENT_CONFIG": str(absent)})
    assert str(caught.value) == f"MOMENT_CONFIG names {absent}, which does not exist"


def test_a_missing_default_config_file_means_defaults(load: Any) -> None:
    settings = load({})
    assert settings.api_url == "https://api.momentpay.net"
    assert settings.sources["api_url"] == "default"


def test_config_file_location(home: Path, tmp_path: Path) -> None:
    assert config_file({}) == home / "config" / "moment-tui" / "config.toml"
    assert config_file({}, tmp_path) == tmp_path / "config.toml"
    assert config_file({"MOMENT_CONFIG": "/etc/mt.toml"}, tmp_path) == Path("/etc/mt.toml")


def test_platform_config_dir_is_used_without_an_explicit_one(
    home: Path, memory_keyring: MemoryKeyring
) -> None:
    folder = home / "config" / "moment-tui"
    path = write_config(folder, 'listen = "127.0.0.1:4321"\n')
    settings = load_settings(env={}, store=SecretStore(folder, backend=memory_keyring))
    assert settings.listen == Listen("127.0.0.1", 4321)
    assert settings.sources["listen"] == str(path)
    assert settings.config_dir == folder
    assert settings.data_dir == home / "data" / "moment-tui"


# --- bad input ------------------------------------------------------------------------


def test_bad_toml(load: Any, config_dir: Path) -> None:
    path = write_config(config_dir, "api_url = \n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).startswith(f"{path}: not valid TOML (")
    assert path.read_text(encoding="utf-8") == "api_url = \n"


def test_config_file_not_utf8(load: Any, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "config.toml"
    path.write_bytes(b'api_url = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).startswith(f"{path}: not valid TOML (")


def test_config_file_nested_too_deeply_is_a_config_error(load: Any, config_dir: Path) -> None:
    """tomllib recurses: 100,000 nested arrays were a RecursionError ("please report it")."""
    path = write_config(config_dir, "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == f"{path}: not valid TOML (nested too deeply)"


def test_config_file_unreadable(load: Any, config_dir: Path) -> None:
    (config_dir / "config.toml").mkdir(parents=True)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == f"{config_dir / 'config.toml'}: cannot read (Is a directory)"


def test_unknown_key(load: Any, config_dir: Path) -> None:
    path = write_config(config_dir, 'colour = "red"\n')
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        f"{path}: unknown setting 'colour' "
        "(known: api_url, event_retention, listen, listen_path, read_only, webhook_max_body, "
        "webhook_tolerance)"
    )


@pytest.mark.parametrize("name", ["api_key", "webhook_secret"])
def test_secrets_do_not_belong_in_the_file(load: Any, config_dir: Path, name: str) -> None:
    path = write_config(config_dir, f'{name} = "{TEST_KEY}"\n')
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        f"{path}: secrets do not belong in the config file; use `moment-tui login`"
    )
    assert TEST_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "listen address must be HOST:PORT, got 'nope'"),
        (":8765", "listen address must be HOST:PORT, got ':8765'"),
        ("127.0.0.1:", "listen address must be HOST:PORT, got '127.0.0.1:'"),
        ("127.0.0.1:65536", "listen address must be HOST:PORT, got '127.0.0.1:65536'"),
        ("127.0.0.1:-1", "listen address must be HOST:PORT, got '127.0.0.1:-1'"),
        ("127.0.0.1:²", "listen address must be HOST:PORT, got '127.0.0.1:²'"),
        ("127.0.0.1:8²", "listen address must be HOST:PORT, got '127.0.0.1:8²'"),
        ("127.0.0.1:٣", "listen address must be HOST:PORT, got '127.0.0.1:٣'"),
        ("bad host:80", "'bad host' is not a host name or address"),
        ("bad host-!:80", "'bad host-!' is not a host name or address"),
        ("-leading.example:80", "'-leading.example' is not a host name or address"),
        ("a..b:80", "'a..b' is not a host name or address"),
        ("under_score:80", "'under_score' is not a host name or address"),
    ],
)
def test_bad_listen_from_env(load: Any, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"MOMENT_LISTEN": text})
    assert str(caught.value) == f"MOMENT_LISTEN: {message}"


@pytest.mark.parametrize(
    ("text", "listen"),
    [
        ("127.0.0.1:8765", Listen("127.0.0.1", 8765)),
        ("localhost:0", Listen("localhost", 0)),
        ("[::1]:8765", Listen("::1", 8765)),
        ("192.0.2.1:65535", Listen("192.0.2.1", 65535)),
        ("my-host.example.com:443", Listen("my-host.example.com", 443)),
        (" box1:80 ", Listen("box1", 80)),
    ],
)
def test_good_listen(text: str, listen: Listen) -> None:
    assert parse_listen(text, "test") == listen


def test_bad_listen_in_the_file_names_the_file(load: Any, config_dir: Path) -> None:
    path = write_config(config_dir, 'listen = "nowhere"\n')
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == f"{path}: listen address must be HOST:PORT, got 'nowhere'"


@pytest.mark.parametrize(
    ("line", "value"),
    [("listen = 8765", "8765"), ("api_url = 5", "5"), ("listen_path = true", "True")],
)
def test_non_string_values_in_the_file(load: Any, config_dir: Path, line: str, value: str) -> None:
    path = write_config(config_dir, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == f"{path}: expected a string, got {value}"


def test_bad_listen_flag(load: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        load(listen="here")
    assert str(caught.value) == "--listen: listen address must be HOST:PORT, got 'here'"


@pytest.mark.parametrize(
    "url",
    ["ftp://x.example", "api.momentpay.net", "https://", "", "x", "http://:8080", "http://[::1"],
)
def test_bad_url_flag(load: Any, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"MOMENT_API_URL": "https://fine.example"}, api_url=url)
    assert str(caught.value) == f"--api-url: API URL must be http(s)://HOST[:PORT], got {url!r}"


def test_bad_url_from_env_and_file(load: Any, config_dir: Path) -> None:
    with pytest.raises(ConfigError) as from_env:
        load({"MOMENT_API_URL": "ftp://x"})
    assert (
        str(from_env.value)
        == "MOMENT_API_URL: API URL must be http(s)://HOST[:PORT], got 'ftp://x'"
    )
    path = write_config(config_dir, 'api_url = "gopher://x"\n')
    with pytest.raises(ConfigError) as from_file:
        load()
    assert (
        str(from_file.value) == f"{path}: API URL must be http(s)://HOST[:PORT], got 'gopher://x'"
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://host/v1?x=1", "must not have a query or fragment"),
        ("http://host/v1#top", "must not have a query or fragment"),
        ("http://host/?", "must not have a query or fragment"),
        ("http://host/ path", "contains a space"),
        ("http://ho\tst", "contains a space"),
    ],
)
def test_a_url_that_would_build_broken_request_urls_is_refused(
    load: Any, url: str, why: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(api_url=url)
    assert str(caught.value).startswith("--api-url: ")
    assert why in str(caught.value)
    assert repr(url) in str(caught.value)


def test_a_webhook_destination_may_carry_a_query_but_not_a_fragment() -> None:
    """Handler URLs like ``…/hooks?token=…`` are common; the API's base URL, which has
    request paths appended, is the one that must not have a query."""
    url = "https://hooks.example/in?token=abc/"
    assert parse_destination_url(url, "--to") == url  # as given: the query is theirs
    assert parse_destination_url(" http://127.0.0.1:3000/hooks/ ", "--to") == (
        "http://127.0.0.1:3000/hooks/"  # a handler's /hooks/ is not its /hooks
    )
    with pytest.raises(ConfigError) as caught:
        parse_destination_url("http://h/hooks#x", "--to")
    assert str(caught.value) == "--to: the URL must not have a fragment, got 'http://h/hooks#x'"
    with pytest.raises(ConfigError, match="query or fragment"):
        parse_api_url(url, "--api-url")


def test_a_percent_escaped_path_is_refused() -> None:
    """Routes match the decoded path: '/my%20hooks' could never receive a delivery."""
    with pytest.raises(ConfigError, match="no %-escapes but %2F and %25"):
        parse_path("/my%20hooks", "--path")
    assert parse_path("/a%2Fb%25c", "--path") == "/a%2Fb%25c"  # aiohttp keeps these encoded
    assert parse_path("/webhooks/moment-v1:live@x", "--path") == "/webhooks/moment-v1:live@x"


def test_good_urls() -> None:
    assert parse_api_url(" http://127.0.0.1:8080/ ", "x") == "http://127.0.0.1:8080"
    assert parse_api_url("https://api.momentpay.net", "x") == "https://api.momentpay.net"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080",
        "http://127.0.0.9",
        "http://[::1]:9",
        "http://LOCALHOST.",
        "http://[::ffff:127.0.0.1]:9",  # 127.0.0.1, written as IPv6
    ],
)
def test_plain_http_is_for_this_machine(url: str) -> None:
    assert parse_api_url(url, "x") == url


@pytest.mark.parametrize(
    "url", ["http://api.momentpay.net", "http://10.0.0.5:8080/v1", "http://[2001:db8::1]"]
)
def test_plain_http_elsewhere_is_refused_as_it_would_expose_the_key(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_url(url, "MOMENT_API_URL")
    assert str(caught.value) == (
        f"MOMENT_API_URL: {url} is plain http, which would send the API key unencrypted; "
        "use https:// (http:// is for this machine only: localhost, 127.0.0.1, ::1)"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'listen_path = "hooks"',
            f"{PATH_RULE}, got 'hooks'",
        ),
        (
            'listen_path = "/my hooks"',
            f"{PATH_RULE}, got '/my hooks'",
        ),
        (
            'listen_path = "/x?y=1"',
            f"{PATH_RULE}, got '/x?y=1'",
        ),
        (
            'listen_path = "/x#top"',
            f"{PATH_RULE}, got '/x#top'",
        ),
        ("read_only = 3", "expected true or false, got 3"),
        ('read_only = "maybe"', "expected true or false, got 'maybe'"),
        ("webhook_tolerance = 0", "webhook_tolerance is whole seconds between 1 and 3600"),
        ("webhook_tolerance = 3601", "webhook_tolerance is whole seconds between 1 and 3600"),
        ("webhook_tolerance = 1.5", "webhook_tolerance is whole seconds between 1 and 3600"),
        ("webhook_tolerance = true", "webhook_tolerance is whole seconds between 1 and 3600"),
        (
            "webhook_max_body = 1023",
            "webhook_max_body is a whole number of bytes, 1,024–67,108,864",
        ),
        (
            'webhook_max_body = "1MB"',
            "webhook_max_body is a whole number of bytes, 1,024–67,108,864",
        ),
        (
            "event_retention = 99",
            "event_retention is a whole number of deliveries, 100–10,000,000",
        ),
        (
            "event_retention = 2e3",
            "event_retention is a whole number of deliveries, 100–10,000,000",
        ),
    ],
)
def test_other_bad_file_values(load: Any, config_dir: Path, line: str, message: str) -> None:
    path = write_config(config_dir, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == f"{path}: {message}"


def test_read_only_accepts_yes_no_words(load: Any, config_dir: Path) -> None:
    write_config(config_dir, 'read_only = "yes"\nwebhook_tolerance = 3600\n')
    settings = load()
    assert settings.read_only is True
    assert settings.webhook_tolerance == 3600


# --- secrets --------------------------------------------------------------------------


def test_two_webhook_secrets_from_env(load: Any) -> None:
    settings = load({"MOMENT_WEBHOOK_SECRET": f"  {SECRET_A}   {SECRET_B} "})
    assert settings.webhook_secrets == (Secret(SECRET_A), Secret(SECRET_B))
    assert [s.reveal() for s in settings.webhook_secrets] == [SECRET_A, SECRET_B]
    assert settings.sources["webhook_secret"] == "MOMENT_WEBHOOK_SECRET (environment)"


def test_one_bad_webhook_secret_among_two(load: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"MOMENT_WEBHOOK_SECRET": f"{SECRET_A} whsec_!!notbase64!!"})
    assert str(caught.value) == (
        "MOMENT_WEBHOOK_SECRET (environment): the part after whsec_ must be base64"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "pk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "that is a public key (pk_…); the console needs a secret key sk_…",
        ),
        (
            "4eC39HqLyjWDarjtT1zdp7dc",
            "an API key starts with sk_test_ (test) or sk_ (live), then letters and digits",
        ),
        (
            "sk_test_has space in it",
            "an API key starts with sk_test_ (test) or sk_ (live), then letters and digits",
        ),
    ],
)
def test_malformed_api_key_in_env(load: Any, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"MOMENT_API_KEY": key})
    assert str(caught.value) == f"MOMENT_API_KEY (environment): {message}"
    assert key not in str(caught.value)


def test_env_key_beats_the_store(load: Any, store: SecretStore) -> None:
    store.set("api_key", STORED_KEY)
    settings = load({"MOMENT_API_KEY": f" {TEST_KEY} "})
    assert settings.api_key == Secret(TEST_KEY)
    assert settings.sources["api_key"] == "MOMENT_API_KEY (environment)"


def test_stored_key_is_used_without_env(load: Any, store: SecretStore) -> None:
    store.set("api_key", STORED_KEY)
    store.set("webhook_secret", SECRET_A)
    for env in ({}, {"MOMENT_API_KEY": "   "}):
        settings = load(env)
        assert settings.api_key == Secret(STORED_KEY)
        assert settings.sources["api_key"] == "keyring (moment-tui)"
    assert settings.webhook_secrets == (Secret(SECRET_A),)
    assert settings.sources["webhook_secret"] == "keyring (moment-tui)"


def test_a_malformed_stored_key_names_the_store(load: Any, store: SecretStore) -> None:
    store.set("api_key", "pk_live_abcdefghijk")
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).startswith("keyring (moment-tui): that is a public key")


def test_settings_repr_never_shows_secrets(load: Any) -> None:
    settings = load({"MOMENT_API_KEY": TEST_KEY, "MOMENT_WEBHOOK_SECRET": SECRET_A})
    assert TEST_KEY not in repr(settings)
    assert SECRET_A not in repr(settings)
    assert "sk_test_…7dc" in repr(settings)


# --- mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        (None, "sandbox"),
        (TEST_KEY, "test"),
        (LIVE_KEY, "live"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "live"),
        ("sk_testing4eC39HqLyjWDarjtT1zdp7dc", "live"),
    ],
)
def test_mode_from_key(key: str | None, mode: str) -> None:
    settings = Settings(api_key=Secret(key) if key else None)
    assert settings.mode == mode
    assert settings.is_live is (mode == "live")


def test_sandbox_flag_beats_a_live_key(load: Any) -> None:
    settings = load({"MOMENT_API_KEY": LIVE_KEY}, sandbox=True)
    assert settings.api_key == Secret(LIVE_KEY)
    assert settings.force_sandbox is True
    assert settings.mode == "sandbox"
    assert settings.is_live is False


def test_live_key_from_env_is_live(load: Any) -> None:
    settings = load({"MOMENT_API_KEY": LIVE_KEY})
    assert settings.mode == "live"
    assert settings.is_live is True


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999",
        "https://api.example:65536/",
        "http://h:²/x",
        "http://h:abc",
        "http://h:-1",
        "http://[::1]:70000",
    ],
)
def test_a_url_with_a_bad_port_is_a_config_error_naming_the_source(
    load: Any, config_dir: Path, url: str
) -> None:
    with pytest.raises(ConfigError) as from_flag:
        load(api_url=url)
    assert str(from_flag.value) == f"--api-url: the port in {url!r} is not a number 0-65535"
    with pytest.raises(ConfigError) as from_env:
        load({"MOMENT_API_URL": url})
    assert str(from_env.value) == f"MOMENT_API_URL: the port in {url!r} is not a number 0-65535"
    path = write_config(config_dir, f'api_url = "{url}"\n')
    with pytest.raises(ConfigError) as from_file:
        load()
    assert str(from_file.value) == f"{path}: the port in {url!r} is not a number 0-65535"


def test_urls_with_good_ports() -> None:
    assert parse_api_url("http://127.0.0.1:65535/x/", "x") == "http://127.0.0.1:65535/x"
    assert parse_api_url("http://[::1]:0", "x") == "http://[::1]:0"


@pytest.mark.parametrize(
    "url",
    ["https://bob:hunter2@host/ x", "htps://bob:hunter2@host", "https://bob:hunter2@[::1/x"],
)
def test_every_refusal_of_a_url_hides_its_password(url: str) -> None:
    for parse in (parse_api_url, parse_destination_url):
        with pytest.raises(ConfigError) as caught:
            parse(url, "--x")
        assert "hunter2" not in str(caught.value)
        assert "//…@" in str(caught.value)


def test_a_word_with_an_underscore_is_not_taken_for_a_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_url("https://api.example.com/task_runner?x", "--x")
    assert str(caught.value).endswith("got 'https://api.example.com/task_runner?x'")
