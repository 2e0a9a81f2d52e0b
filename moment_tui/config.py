"""Settings: command-line flags, then ``MOMENT_*`` variables, then the TOML file, then defaults.

The config file is ``config.toml`` in the platform config directory (platformdirs),
or the path in ``MOMENT_CONFIG``. It may hold::

    api_url = "https://api.momentpay.net"
    listen = "127.0.0.1:8765"
    listen_path = "/webhooks/moment"
    read_only = false
    webhook_tolerance = 180      # seconds either side of now
    webhook_max_body = 1048576   # bytes; a larger delivery is rejected 413
    event_retention = 10000      # rejected and duplicate deliveries kept

Secrets never live in this file: the API key and webhook secrets come from
``MOMENT_API_KEY`` / ``MOMENT_WEBHOOK_SECRET`` (which always win) or from the
:class:`~moment_tui.secrets.SecretStore`. :func:`load_settings` takes the
environment, flags and store as arguments and reads no globals, so it is easy to test.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlsplit

import platformdirs

from moment_tui.api.kinds import DEFAULT_BASE_URL
from moment_tui.secrets import (
    Located,
    Secret,
    SecretFormatError,
    SecretName,
    SecretStore,
    check_api_key,
    check_webhook_secret,
    is_live_key,
    mask,
)

APP_NAME: Final = "moment-tui"
# The environment variable that holds each secret, and always wins over the store.
SECRET_VARIABLES: Final[dict[SecretName, str]] = {
    "api_key": "MOMENT_API_KEY",
    "webhook_secret": "MOMENT_WEBHOOK_SECRET",
}
DEFAULT_LISTEN: Final = "127.0.0.1:8765"
DEFAULT_LISTEN_PATH: Final = "/webhooks/moment"
DEFAULT_TOLERANCE: Final = 180  # Moment advises a window of up to 3 minutes
DEFAULT_MAX_BODY: Final = 1024 * 1024
DEFAULT_RETENTION: Final = 10_000
# Bounds for the two sizes above (inclusive).
MAX_BODY_RANGE: Final = (1024, 64 * 1024 * 1024)
RETENTION_RANGE: Final = (100, 10_000_000)

Mode = Literal["sandbox", "test", "live"]
T = TypeVar("T")


class ConfigError(ValueError):
    """A setting that cannot be used; ``str()`` is one line naming where it came from."""


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    """Everything the program needs to know, resolved once and passed in."""

    api_url: str = DEFAULT_BASE_URL
    api_key: Secret | None = None
    webhook_secrets: tuple[Secret, ...] = ()
    listen: Listen = field(default_factory=lambda: parse_listen(DEFAULT_LISTEN, "default"))
    listen_path: str = DEFAULT_LISTEN_PATH
    read_only: bool = False
    force_sandbox: bool = False
    webhook_tolerance: int = DEFAULT_TOLERANCE
    webhook_max_body: int = DEFAULT_MAX_BODY
    event_retention: int = DEFAULT_RETENTION
    config_dir: Path = field(default_factory=lambda: default_config_dir())
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def mode(self) -> Mode:
        """``sandbox`` with no key (or ``--sandbox``); else by key prefix."""
        if self.force_sandbox or self.api_key is None:
            return "sandbox"
        return "live" if is_live_key(self.api_key.reveal()) else "test"

    @property
    def is_live(self) -> bool:
        return self.mode == "live"


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def screenshot_dir(settings: Settings) -> Path:
    """Where the console saves a screenshot: the user's Downloads directory if there is
    one, else ``screenshots`` in the data directory (made when needed)."""
    downloads = Path(platformdirs.user_downloads_dir())
    if downloads.is_dir():
        return downloads
    folder = settings.data_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def config_file(env: Mapping[str, str], config_dir: Path | None = None) -> Path:
    """``MOMENT_CONFIG``, else ``config.toml`` in ``config_dir`` (default: the platform's)."""
    explicit = env.get("MOMENT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return (config_dir or default_config_dir()) / "config.toml"


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")


def parse_listen(text: str, source: str) -> Listen:
    """``HOST:PORT`` (``[::1]:8765`` for IPv6); port 0 means "any free port"."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host.strip("[]")
    # isascii(): "²".isdigit() is True, but int("²") raises.
    valid_port = port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535
    if not sep or not host or not valid_port:
        raise ConfigError(f"{source}: listen address must be HOST:PORT, got {_shown(text)}")
    return Listen(parse_host(host, source), int(port_text))


def parse_host(host: str, source: str) -> str:
    """A host name or an IPv4/IPv6 address to bind to (``999.1.1.1`` is neither: a name
    whose labels are all digits would be read as an address); ``[::1]`` is ``::1``."""
    host = host.strip("[]")
    if host == "localhost":
        return host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        if not _HOST_NAME.fullmatch(host) or all(label.isdigit() for label in labels):
            raise ConfigError(f"{source}: {host!r} is not a host name or address") from None
    return host


def parse_api_url(text: str, source: str) -> str:
    """An ``http(s)://HOST[:PORT][/PATH]`` URL without its trailing ``/``. Request paths
    are appended to it, so it takes no query or fragment."""
    shape = f"{source}: API URL must be http(s)://HOST[:PORT], got {_shown(text)}"
    url = _http_url(text, source, shape, refused="?#").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        # Every request carries the API key: over plain http anyone on the way reads it.
        raise ConfigError(
            f"{source}: {url} is plain http, which would send the API key unencrypted; "
            "use https:// (http:// is for this machine only: localhost, 127.0.0.1, ::1)"
        )
    return url


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_loopback


def parse_destination_url(text: str, source: str) -> str:
    """Where webhooks are sent (``--to``, ``--forward-to``, ``--webhook-url``): checked
    and returned as given, query included (``?token=…`` is common; a handler's
    ``/hooks/`` is not its ``/hooks``)."""
    shape = (
        f"{source}: a webhook destination must be an http(s)://HOST[:PORT]/PATH URL,"
        f" got {_shown(text)}"
    )
    return _http_url(text, source, shape, refused="#")


_URL_PARTS: Final = {"?": "query", "#": "fragment"}


_SECRET_LIKE: Final = re.compile(r"(?<![A-Za-z0-9])(?:(?:sk|pk|rk)_[A-Za-z0-9_]{6,}|whsec_)")
_USERINFO: Final = re.compile(r"//[^/?#]*@")


def _shown(text: str) -> str:
    """A refused value, quoted for the message: a key or secret given to the wrong
    setting (``MOMENT_API_URL=sk_…``) is masked, and so is a URL's ``user:password@``."""
    if _SECRET_LIKE.search(text):
        return repr(mask(text.strip()))
    return repr(_USERINFO.sub("//…@", text))


def _http_url(text: str, source: str, shape: str, *, refused: str) -> str:
    """``text`` stripped, if it is an http(s) URL with a host, a valid port and none of
    the ``refused`` characters; ConfigError (``shape`` for a URL of the wrong shape)."""
    stripped = text.strip()
    if any(c.isspace() for c in stripped):
        raise ConfigError(f"{source}: the URL {_shown(text)} contains a space")
    try:
        parts = urlsplit(stripped)
        hostname = parts.hostname  # raises on a broken [IPv6] address
    except ValueError:
        raise ConfigError(shape) from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not hostname:
        raise ConfigError(shape)
    if parts.username is not None or parts.password is not None:
        # It would be printed, logged and named in the workspace's file name.
        raise ConfigError(
            f"{source}: the URL must not carry a user name or password"
            f" ({parts.scheme}://…@{hostname}…)"
        )
    if any(c in stripped for c in refused):
        what = " or ".join(_URL_PARTS[c] for c in refused)
        raise ConfigError(f"{source}: the URL must not have a {what}, got {_shown(text)}")
    try:
        _ = parts.port  # urlsplit checks the port only when it is asked for
    except ValueError:
        raise ConfigError(f"{source}: the port in {_shown(text)} is not a number 0-65535") from None
    return stripped


# RFC 3986 path characters: no space, ? or #, and of the %-escapes only %2F and %25
# (routes match the decoded path, in which aiohttp keeps just those two encoded, so
# "/my%20hooks" would never match a request).
_URL_PATH: Final = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%2[Ff5])*")


def parse_path(text: str, source: str) -> str:
    """The listener's path: ``/`` and URL path characters only."""
    if not _URL_PATH.fullmatch(text):
        raise ConfigError(
            f"{source}: a webhook path starts with / and has no spaces, ? or #, and no"
            f" %-escapes but %2F and %25, got {_shown(text)}"
        )
    return text


def _parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    truthy, falsy = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
    if isinstance(value, str) and value.lower() in truthy + falsy:
        return value.lower() in truthy
    raise ConfigError(f"{source}: expected true or false, got {value!r}")


def _whole(name: str, bounds: tuple[int, int], rule: str) -> Callable[[Any, str], int]:
    """A whole number within ``bounds``; ConfigError "<name> is <rule>" otherwise."""
    low, high = bounds

    def parse(value: Any, source: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{source}: {name} is {rule}")
        return value

    return parse


def _bounded(name: str, bounds: tuple[int, int], unit: str) -> Callable[[Any, str], int]:
    low, high = bounds
    return _whole(name, bounds, f"a whole number of {unit}, {low:,}–{high:,}")


_parse_tolerance = _whole("webhook_tolerance", (1, 3600), "whole seconds between 1 and 3600")


def _text(parse: Callable[[str, str], T]) -> Callable[[Any, str], T]:
    """``parse``, after checking the value is text (a TOML file may hold a number)."""

    def parse_text(value: Any, source: str) -> T:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: expected a string, got {value!r}")
        return parse(value, source)

    return parse_text


def _listen_setting(value: Any, source: str) -> Listen:
    """A ``HOST:PORT`` string, or a :class:`Listen` the command line already parsed."""
    return value if isinstance(value, Listen) else _text(parse_listen)(value, source)


def read_config_file(path: Path, *, required: bool = False) -> dict[str, Any]:
    """The TOML file's settings (``{}`` if it does not exist, unless ``required``: a
    file named by ``MOMENT_CONFIG`` must exist); ConfigError if unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"MOMENT_CONFIG names {path}, which does not exist") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses into nested arrays and tables
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None
    if {"api_key", "webhook_secret"} & set(data):
        raise ConfigError(
            f"{path}: secrets do not belong in the config file; use `moment-tui login`"
        )
    known = {
        "api_url",
        "listen",
        "listen_path",
        "read_only",
        "webhook_tolerance",
        "webhook_max_body",
        "event_retention",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    return data


def load_settings(
    *,
    env: Mapping[str, str],
    flags: Mapping[str, Any] | None = None,
    store: SecretStore | None = None,
    config_dir: Path | None = None,
    data_dir: Path | None = None,
) -> Settings:
    """Resolve every setting with its source; raises :class:`ConfigError` on bad input."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    path = config_file(env, config_dir)
    file_values = read_config_file(path, required=bool(env.get("MOMENT_CONFIG")))
    sources: dict[str, str] = {}

    def pick(name: str, env_name: str | None) -> tuple[Any, str] | None:
        if name in flags:
            return flags[name], f"--{name.replace('_', '-')}"
        if env_name and env.get(env_name):
            return env[env_name], env_name
        if name in file_values:
            return file_values[name], str(path)
        return None

    def resolve(name: str, env_name: str | None, parse: Any, default: Any) -> Any:
        found = pick(name, env_name)
        if found is None:
            sources[name] = "default"
            return default
        value, source = found
        sources[name] = source
        return parse(value, source)

    api_url = resolve("api_url", "MOMENT_API_URL", _text(parse_api_url), DEFAULT_BASE_URL)
    listen = resolve(
        "listen", "MOMENT_LISTEN", _listen_setting, parse_listen(DEFAULT_LISTEN, "default")
    )
    listen_path = resolve("listen_path", None, _text(parse_path), DEFAULT_LISTEN_PATH)
    read_only = resolve("read_only", None, _parse_bool, False)
    tolerance = resolve("webhook_tolerance", None, _parse_tolerance, DEFAULT_TOLERANCE)
    max_body = resolve(
        "webhook_max_body", None, _bounded("webhook_max_body", MAX_BODY_RANGE, "bytes"),
        DEFAULT_MAX_BODY,
    )  # fmt: skip
    retention = resolve(
        "event_retention", None, _bounded("event_retention", RETENTION_RANGE, "deliveries"),
        DEFAULT_RETENTION,
    )  # fmt: skip

    config_dir = config_dir or default_config_dir()
    store = store or SecretStore(config_dir)
    api_key = _secret_from(env, store, "api_key", sources)
    if api_key is not None:
        _checked(check_api_key, api_key, sources["api_key"])
    webhook = _secret_from(env, store, "webhook_secret", sources)
    secrets: tuple[Secret, ...] = ()
    if webhook is not None:
        secrets = tuple(Secret(part) for part in webhook.reveal().split())
        for secret in secrets:
            _checked(check_webhook_secret, secret, sources["webhook_secret"])

    return Settings(
        api_url=api_url,
        api_key=api_key,
        webhook_secrets=secrets,
        listen=listen,
        listen_path=listen_path,
        read_only=read_only,
        force_sandbox=bool(flags.get("sandbox", False)),
        webhook_tolerance=tolerance,
        webhook_max_body=max_body,
        event_retention=retention,
        config_dir=config_dir,
        data_dir=data_dir or default_data_dir(),
        sources=sources,
    )


def locate_secret(env: Mapping[str, str], store: SecretStore, name: SecretName) -> Located:
    """A secret and where it came from: its environment variable wins, then the store."""
    variable = SECRET_VARIABLES[name]
    if env.get(variable, "").strip():
        return Located(Secret(env[variable].strip()), f"{variable} (environment)")
    return store.get(name)


def _secret_from(
    env: Mapping[str, str], store: SecretStore, name: SecretName, sources: dict[str, str]
) -> Secret | None:
    located = locate_secret(env, store, name)
    sources[name] = located.source
    return located.value


def _checked(check: Any, secret: Secret, source: str) -> None:
    try:
        check(secret.reveal())
    except SecretFormatError as exc:
        raise ConfigError(f"{source}: {exc}") from None
