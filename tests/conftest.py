"""Shared fixtures: no test ever reads or writes the real home or the real keyring."""

from __future__ import annotations

from pathlib import Path

import keyring.errors
import pytest


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point platformdirs (and anything else reading $HOME/XDG) at a fresh temp dir."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for name in ("MOMENT_API_KEY", "MOMENT_API_URL", "MOMENT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name in ("MOMENT_LISTEN", "MOMENT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return home


class NoKeyring:
    """A keyring backend like a headless server's: every call raises NoKeyringError."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> None:
        self.calls += 1
        raise keyring.errors.NoKeyringError("No recommended backend was available.")

    def get_password(self, service: str, username: str) -> str | None:
        self._fail()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._fail()

    def delete_password(self, service: str, username: str) -> None:
        self._fail()


class MemoryKeyring:
    """A working keyring backend that keeps secrets in a dict."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]


@pytest.fixture
def no_keyring() -> NoKeyring:
    return NoKeyring()


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"
