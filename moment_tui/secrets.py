"""The API key and webhook signing secret: where they live and how they are shown.

Secrets are stored with :mod:`keyring` (service ``moment-tui``). Where no keyring
backend works — a headless server reached over SSH has no Secret Service — they go
to ``secrets.json`` (mode 0600) in the config directory instead, and the store says
so once through its ``notice`` callback. Every keyring call runs on a daemon thread
bounded by a timeout, so a keyring that hangs cannot hang the program; after one
failure the keyring is not asked again in this process. Where no keyring backend can
work (see :func:`keyring_possible`) the keyring library is not even imported: its
backend discovery costs ~150 ms and ~12 MiB only to find none.

:class:`Secret` wraps a value so that ``str``/``repr`` only ever show its masked form
(``sk_test_…7dc``); call :meth:`Secret.reveal` at the single place it is needed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeGuard

SERVICE: Final = "moment-tui"
SecretName = Literal["api_key", "webhook_secret"]
FALLBACK_FILE: Final = "secrets.json"

_PREFIXES: Final = ("sk_test_", "pk_test_", "whsec_", "sk_", "pk_")


def mask(value: str | None) -> str:
    """``sk_test_4eC39HqLyjWDarjtT1zdp7dc`` → ``sk_test_…7dc``; never more than 3 chars shown."""
    if not value:
        return "(not set)"
    prefix = next((p for p in _PREFIXES if value.startswith(p)), "")
    rest = value[len(prefix) :]
    tail = rest[-3:] if len(rest) >= 12 else ""
    return f"{prefix}…{tail}"


class Secret:
    """A secret value whose text form is always masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# --- formats ------------------------------------------------------------------------

_API_KEY = re.compile(r"sk_[A-Za-z0-9_]{8,}")


class SecretFormatError(ValueError):
    """A key or secret that cannot be right; the message says why, without echoing it."""


def check_api_key(value: str) -> str:
    value = value.strip()
    if value.startswith("pk_"):
        raise SecretFormatError("that is a public key (pk_…); the console needs a secret key sk_…")
    if not _API_KEY.fullmatch(value):
        raise SecretFormatError(
            "an API key starts with sk_test_ (test) or sk_ (live), then letters and digits"
        )
    return value


SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret


def decode_secret(secret: str) -> bytes:
    """``whsec_<base64>`` (or bare ``<base64>``) → the raw HMAC key: the one rule for
    checking, signing and verifying.

    Surrounding whitespace is ignored and missing (or extra) ``=`` padding is
    tolerated, as the reference library does. Raises :class:`SecretFormatError`
    (whose message never echoes the secret) when nothing is left or the payload is
    not base64.
    """
    payload = secret.strip().removeprefix(SECRET_PREFIX).rstrip("=")
    if not payload:
        raise SecretFormatError("the webhook signing secret is empty")
    try:
        key = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError("the part after whsec_ must be base64") from None
    if not key:
        raise SecretFormatError("the webhook signing secret is empty")
    return key


def check_webhook_secret(value: str) -> str:
    value = value.strip()
    if not value.startswith(SECRET_PREFIX):
        raise SecretFormatError("a webhook signing secret starts with whsec_")
    decode_secret(value)
    return value


SHORTEST_SECRET: Final = 24  # bytes: Standard Webhooks secrets are 24 to 64 random bytes


def secret_length_note(value: str) -> str | None:
    """A warning for a (well-formed) secret shorter than Standard Webhooks' 24 bytes —
    most likely one not copied whole. Not refused: it is the sender's secret to choose."""
    size = len(decode_secret(value))
    if size >= SHORTEST_SECRET:
        return None
    return (
        f"{mask(value)} decodes to {size} bytes, and Standard Webhooks secrets are "
        f"{SHORTEST_SECRET} to 64: check that it was copied whole"
    )


def check_webhook_secrets(value: str) -> str:
    """One secret, or several separated by spaces (during a rotation, old and new)."""
    parts = value.split()
    if not parts:
        raise SecretFormatError("a webhook signing secret starts with whsec_")
    return " ".join(check_webhook_secret(part) for part in parts)


def is_live_key(api_key: str) -> bool:
    """Moment's rule: ``sk_test_`` is test; any other ``sk_`` key moves real money."""
    return api_key.startswith("sk_") and not api_key.startswith("sk_test_")


# --- storage ------------------------------------------------------------------------


class KeyringBackend(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


@dataclass(frozen=True)
class Located:
    """A stored secret and a human description of where it came from."""

    value: Secret | None
    source: str


class _KeyringUnavailable(Exception):
    pass


class SecretFileError(Exception):
    """``secrets.json`` exists but cannot be read or is not what this program wrote
    (it is never overwritten: that would lose the other secret in it), or it cannot be
    written where it belongs."""


# In the fallback file: names stored there while a keyring (not merely no keyring)
# failed, so that copy is newer than whatever the keyring may still hold.
_NEWER: Final = "newer_than_keyring"


@dataclass(frozen=True)
class Removal:
    """What :meth:`SecretStore.delete` did."""

    places: list[str]
    problem: str | None = None  # the keyring could not be checked or cleared


class SecretStore:
    """Keyring first, a 0600 file in ``config_dir`` where no keyring works."""

    def __init__(
        self,
        config_dir: Path,
        *,
        backend: KeyringBackend | None = None,
        timeout: float = 3.0,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.file = config_dir / FALLBACK_FILE
        self._backend = backend
        self._timeout = timeout
        self._notice = notice
        self._keyring_broken: str | None = None
        self._keyring_absent = False  # no keyring backend at all (not merely a failing one)
        self._noticed = False

    # public API

    def get(self, name: SecretName) -> Located:
        unreadable: str | None = None
        try:
            data = self._read_file()
        except SecretFileError as exc:
            data, unreadable = {}, str(exc)
        stored = data.get(name)
        in_file = Located(Secret(stored), f"file {self.file}") if _text(stored) else None
        if in_file is not None and name in data.get(_NEWER, ()):
            return in_file  # stored there when the keyring failed: newer than its copy
        try:
            value = self._keyring(lambda kr: kr.get_password(SERVICE, name))
        except _KeyringUnavailable:
            value = None
        if _text(value):
            return Located(Secret(value), f"keyring ({SERVICE})")
        if in_file is not None:
            return in_file
        if unreadable:
            return Located(None, f"not found: {unreadable}")
        if self._keyring_broken and not self._keyring_absent:
            return Located(None, f"not found: {self._keyring_broken}, so it may be stored there")
        return Located(None, "not stored")

    def set(self, name: SecretName, value: str) -> str:
        """Store ``value``; returns where it went. :class:`SecretFileError`, with nothing
        stored anywhere, if the fallback file cannot be read (it may need to be written
        or cleaned, and overwriting it would lose what else it holds)."""
        data = self._read_file()  # before anything is changed
        try:
            self._keyring(lambda kr: kr.set_password(SERVICE, name, value))
        except _KeyringUnavailable:
            self._say_fallback()
            data[name] = value
            where = f"file {self.file}"
            if not self._keyring_absent:  # a keyring that failed may hold an older copy
                data[_NEWER] = sorted({*data.get(_NEWER, ()), name})
                where += " (it takes precedence over any older copy in the keyring)"
            self._write_file(data)
            return where
        self._remove_from_file(name, data)
        return f"keyring ({SERVICE})"

    def delete(self, name: SecretName) -> Removal:
        """Remove ``name`` everywhere: where it was removed from, and why the keyring
        could not be checked or cleared if so (then it may still be stored there).
        :class:`SecretFileError`, with nothing removed, if the file cannot be read."""
        data = self._read_file()  # before anything is changed
        removed: list[str] = []
        problem: str | None = None
        try:
            if self._keyring(lambda kr: kr.get_password(SERVICE, name)):
                self._keyring(lambda kr: kr.delete_password(SERVICE, name))
                removed.append(f"keyring ({SERVICE})")
        except _KeyringUnavailable as exc:
            # With no keyring at all nothing can be stored in one; anything else
            # (a locked keyring, one that hangs, a refused delete) leaves us unsure.
            if not self._keyring_absent:
                problem = str(exc)
        if self._remove_from_file(name, data):
            removed.append(f"file {self.file}")
        return Removal(removed, problem)

    @property
    def keyring_problem(self) -> str | None:
        """Why the keyring is not used, once a call has failed; else None."""
        return self._keyring_broken

    # keyring, bounded

    def _keyring(self, call: Callable[[KeyringBackend], Any]) -> Any:
        if self._keyring_broken:
            raise _KeyringUnavailable(self._keyring_broken)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = call(self._backend or _default_backend())
            except Exception as exc:  # any backend failure means "no usable keyring"
                outcome["error"] = exc

        worker = threading.Thread(target=run, name="moment-tui-keyring", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if worker.is_alive():
            self._keyring_broken = f"the system keyring did not answer within {self._timeout:g}s"
        elif "error" in outcome:
            error = outcome["error"]
            if type(error).__name__ == "PasswordDeleteError":
                return None
            self._keyring_absent = type(error).__name__ == "NoKeyringError"
            self._keyring_broken = f"no usable system keyring ({type(error).__name__})"
        else:
            return outcome.get("value")
        raise _KeyringUnavailable(self._keyring_broken)

    def _say_fallback(self) -> None:
        if self._notice and not self._noticed:
            self._noticed = True
            self._notice(
                f"{self._keyring_broken}; secrets are stored in {self.file} "
                "(readable only by you, mode 0600) instead."
            )

    # the fallback file

    def _read_file(self) -> dict[str, Any]:
        """The fallback file's contents ({} if there is none); :class:`SecretFileError`
        if it cannot be read or is not a JSON object."""
        try:
            text = self.file.read_text(encoding="utf-8")
            data = json.loads(text) if text.strip() else {}
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretFileError(f"{self.file} cannot be read ({exc.strerror})") from None
        except ValueError:
            data = None
        if isinstance(data, dict):
            newer = data.get(_NEWER, [])
            if isinstance(newer, list) and all(isinstance(n, str) for n in newer):
                return data
        raise SecretFileError(f"{self.file} is not a secrets file; fix or remove it")

    def _write_file(self, data: dict[str, Any]) -> None:
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=self.config_dir)
        except OSError as exc:  # a read-only or unwritable config directory
            why = exc.strerror or type(exc).__name__
            raise SecretFileError(f"cannot write {self.file}: {why}") from None
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.file)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _remove_from_file(self, name: SecretName, data: dict[str, Any]) -> bool:
        """Take ``name`` out of the file whose contents are ``data``."""
        if name not in data:
            return False
        del data[name]
        newer = [n for n in data.pop(_NEWER, ()) if n != name]
        if newer:
            data[_NEWER] = newer
        if data:
            self._write_file(data)
        else:
            self.file.unlink(missing_ok=True)
        return True


def _text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


class NoKeyringError(RuntimeError):
    """No keyring backend can work here. Named as keyring's own error, and treated the
    same: no keyring at all, so secrets go to the fallback file."""


# The session bus (and a desktop that could start one) that Linux keyrings live behind,
# and keyring's own override.
_KEYRING_VARIABLES: Final = (
    "PYTHON_KEYRING_BACKEND",
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
)


def keyring_possible(env: Mapping[str, str] | None = None) -> bool:
    """False only where keyring's backend discovery is known to end with no backend:
    Linux with no D-Bus session bus (no ``DBUS_SESSION_BUS_ADDRESS``, no
    ``$XDG_RUNTIME_DIR/bus``, no display to start one), no ``PYTHON_KEYRING_BACKEND``,
    no ``keyringrc.cfg`` and no third-party backend installed. Anything else (macOS,
    Windows, a desktop session, a configured backend) is True: ask keyring."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return True
    if any(env.get(name) for name in _KEYRING_VARIABLES):
        return True
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir and os.path.exists(os.path.join(runtime_dir, "bus")):
        return True
    home = env.get("HOME") or os.path.expanduser("~")
    roots = (
        env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
        env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"),  # older keyrings
    )
    if any(os.path.exists(os.path.join(r, "python_keyring", "keyringrc.cfg")) for r in roots):
        return True
    return _other_backends_installed()


def _other_backends_installed() -> bool:
    """Whether a distribution besides keyring itself declares ``keyring.backends`` entry
    points (keyrings.alt, say): a scan of ``sys.path`` for what importlib.metadata would
    find, without its ~35 ms. What cannot be read cheaply (an egg) counts as one."""
    for entry in sys.path:
        if entry.endswith(".egg"):
            return True
        try:
            with os.scandir(entry or ".") as found:
                names = [e.name for e in found if e.name.endswith((".dist-info", ".egg-info"))]
        except OSError:  # a zip file, a missing directory
            continue
        for name in names:
            if name.lower().startswith("keyring-"):
                continue
            try:
                with open(os.path.join(entry, name, "entry_points.txt"), "rb") as handle:
                    if b"keyring.backends" in handle.read():
                        return True
            except OSError:
                continue
    return False


def _default_backend() -> KeyringBackend:
    core = sys.modules.get("keyring.core")
    chosen = getattr(core, "_keyring_backend", None)  # keyring.set_keyring() or found before
    if chosen is None and not keyring_possible():
        raise NoKeyringError("no keyring backend can work here (no D-Bus session bus)")
    import keyring

    backend: KeyringBackend = keyring.get_keyring()
    return backend
