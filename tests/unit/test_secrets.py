"""Secrets: masked everywhere, keyring first, a 0600 file where no keyring works."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from moment_tui.secrets import (
    Located,
    Secret,
    SecretFileError,
    SecretFormatError,
    SecretStore,
    check_api_key,
    check_webhook_secret,
    is_live_key,
    mask,
)

if TYPE_CHECKING:
    from tests.conftest import MemoryKeyring, NoKeyring

TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
OTHER_KEY = "sk_test_otherOtherOther999"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LIVE_KEY = "sk_live4eC39HqLyjWDarjtT1zdp7dc"


class KeyringLocked(Exception):  # the name keyring.errors gives a locked keyring's failure
    pass


class LockedKeyring:
    """A keyring that is there but refuses every call (locked, or its daemon is gone)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


# --- masking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (TEST_KEY, "sk_test_…7dc"),
        ("sk_4eC39HqLyjWDarjtT1zdp7dc", "sk_…7dc"),
        (WEBHOOK_SECRET, "whsec_…aSw"),
        ("pk_test_4eC39HqLyjWDarjtT1zdp7dc", "pk_test_…7dc"),
        ("sk_test_short", "sk_test_…"),
        ("sk_test_12345678901", "sk_test_…"),
        ("sk_test_123456789012", "sk_test_…012"),
        ("hunter2", "…"),
        ("", "(not set)"),
        (None, "(not set)"),
    ],
)
def test_mask(value: str | None, masked: str) -> None:
    assert mask(value) == masked


def test_secret_text_forms_never_reveal() -> None:
    secret = Secret(TEST_KEY)
    assert str(secret) == "sk_test_…7dc"
    assert repr(secret) == "Secret('sk_test_…7dc')"
    assert f"{secret}" == "sk_test_…7dc"
    assert TEST_KEY not in f"{secret!r} {[secret]} {(secret,)} { ({'k': secret}) }"
    assert secret.reveal() == TEST_KEY


def test_secret_equality_and_hash() -> None:
    assert Secret(TEST_KEY) == Secret(TEST_KEY)
    assert Secret(TEST_KEY) != Secret(OTHER_KEY)
    assert Secret(TEST_KEY) != TEST_KEY
    assert len({Secret(TEST_KEY), Secret(TEST_KEY)}) == 1


# --- formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [TEST_KEY, "sk_4eC39HqLyjWDarjtT1zdp7dc", f"  {TEST_KEY}\n", "sk_live_abcdefgh"]
)
def test_good_api_keys(key: str) -> None:
    assert check_api_key(key) == key.strip()


@pytest.mark.parametrize("key", ["pk_test_4eC39HqLyjWDarjtT1zdp7dc", "pk_4eC39HqLyjWDarjtT1zdp7dc"])
def test_public_keys_are_refused(key: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        check_api_key(key)
    assert str(caught.value) == "that is a public key (pk_…); the console needs a secret key sk_…"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "sk_",
        "sk_test_",
        "sk_short",
        "4eC39HqLyjWDarjtT1zdp7dc",
        "sk_test_4eC3 9Hq",
        "SK_TEST_abcdefgh",
    ],
)
def test_bad_api_keys(key: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        check_api_key(key)
    message = str(caught.value)
    assert message == (
        "an API key starts with sk_test_ (test) or sk_ (live), then letters and digits"
    )


@pytest.mark.parametrize(
    "secret", [WEBHOOK_SECRET, "whsec_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s", " whsec_AAAA "]
)
def test_good_webhook_secrets(secret: str) -> None:
    assert check_webhook_secret(secret) == secret.strip()


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a webhook signing secret starts with whsec_"),
        ("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a webhook signing secret starts with whsec_"),
        ("whsec_!!!!", "the part after whsec_ must be base64"),
        ("whsec_abcde", "the part after whsec_ must be base64"),
        ("whsec_", "the webhook signing secret is empty"),
    ],
)
def test_bad_webhook_secrets(secret: str, message: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        check_webhook_secret(secret)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("key", "live"),
    [
        (TEST_KEY, False),
        ("sk_4eC39HqLyjWDarjtT1zdp7dc", True),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", True),
        ("pk_4eC39HqLyjWDarjtT1zdp7dc", False),
    ],
)
def test_is_live_key(key: str, live: bool) -> None:
    assert is_live_key(key) is live


# --- storage: no keyring --------------------------------------------------------------


def test_no_keyring_falls_back_to_a_0600_file(config_dir: Path, no_keyring: NoKeyring) -> None:
    notices: list[str] = []
    store = SecretStore(config_dir, backend=no_keyring, notice=notices.append)

    assert store.set("api_key", TEST_KEY) == f"file {config_dir / 'secrets.json'}"
    assert store.set("webhook_secret", WEBHOOK_SECRET) == f"file {config_dir / 'secrets.json'}"
    store.set("api_key", OTHER_KEY)

    path = config_dir / "secrets.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "api_key": OTHER_KEY,
        "webhook_secret": WEBHOOK_SECRET,
    }
    assert notices == [
        f"no usable system keyring (NoKeyringError); secrets are stored in {path} "
        "(readable only by you, mode 0600) instead."
    ]
    assert store.keyring_problem == "no usable system keyring (NoKeyringError)"
    # After the first failure the keyring is not asked again.
    assert no_keyring.calls == 1
    # No temporary files are left behind.
    assert sorted(p.name for p in config_dir.iterdir()) == ["secrets.json"]

    located = store.get("api_key")
    assert located.value == Secret(OTHER_KEY)
    assert located.source == f"file {path}"


def test_a_fresh_store_reads_the_file_back(config_dir: Path, no_keyring: NoKeyring) -> None:
    SecretStore(config_dir, backend=no_keyring).set("webhook_secret", WEBHOOK_SECRET)
    located = SecretStore(config_dir, backend=no_keyring).get("webhook_secret")
    assert located.value == Secret(WEBHOOK_SECRET)
    missing = SecretStore(config_dir, backend=no_keyring).get("api_key")
    assert (missing.value, missing.source) == (None, "not stored")


def test_delete_removes_from_the_file(config_dir: Path, no_keyring: NoKeyring) -> None:
    store = SecretStore(config_dir, backend=no_keyring)
    store.set("api_key", TEST_KEY)
    store.set("webhook_secret", WEBHOOK_SECRET)
    path = config_dir / "secrets.json"

    assert store.delete("api_key").places == [f"file {path}"]
    assert json.loads(path.read_text(encoding="utf-8")) == {"webhook_secret": WEBHOOK_SECRET}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.get("api_key").value is None

    removal = store.delete("webhook_secret")
    assert removal.places == [f"file {path}"]
    assert removal.problem is None  # no keyring at all: nothing can be left in one
    assert not path.exists()
    assert store.delete("webhook_secret").places == []


def test_rewriting_tightens_a_loose_file(config_dir: Path, no_keyring: NoKeyring) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "secrets.json"
    path.write_text(json.dumps({"webhook_secret": WEBHOOK_SECRET}), encoding="utf-8")
    path.chmod(0o644)
    SecretStore(config_dir, backend=no_keyring).set("api_key", TEST_KEY)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "webhook_secret": WEBHOOK_SECRET,
        "api_key": TEST_KEY,
    }


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        "\x00\x01",
        '{"newer_than_keyring": 3}',
        '{"newer_than_keyring": [1]}',
        "\udcff",
    ],
)
def test_a_corrupted_file_is_reported_and_never_overwritten(
    config_dir: Path, no_keyring: NoKeyring, content: str
) -> None:
    """Overwriting it would lose whatever else it held (the other secret)."""
    config_dir.mkdir(parents=True)
    path = config_dir / "secrets.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    before = path.read_bytes()
    store = SecretStore(config_dir, backend=no_keyring)
    located = store.get("api_key")
    assert located.value is None
    assert located.source == f"not found: {path} is not a secrets file; fix or remove it"
    with pytest.raises(SecretFileError, match="is not a secrets file"):
        store.set("api_key", TEST_KEY)
    with pytest.raises(SecretFileError, match="is not a secrets file"):
        store.delete("api_key")
    assert path.read_bytes() == before


def test_an_empty_file_holds_nothing(config_dir: Path, no_keyring: NoKeyring) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "secrets.json").write_text(" \n", encoding="utf-8")
    store = SecretStore(config_dir, backend=no_keyring)
    assert store.get("api_key") == Located(None, "not stored")
    store.set("api_key", TEST_KEY)
    assert store.get("api_key").value == Secret(TEST_KEY)


def test_a_key_stored_while_the_keyring_failed_wins_over_its_older_copy(
    config_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    """Rotating the key while the keyring is locked must not leave the old key in use
    once the keyring answers again."""
    SecretStore(config_dir, backend=memory_keyring).set("api_key", TEST_KEY)
    locked = LockedKeyring()
    during = SecretStore(config_dir, backend=locked)
    where = during.set("api_key", LIVE_KEY)
    path = config_dir / "secrets.json"
    assert where == f"file {path} (it takes precedence over any older copy in the keyring)"
    assert during.get("api_key") == Located(Secret(LIVE_KEY), f"file {path}")
    after = SecretStore(config_dir, backend=memory_keyring)  # the keyring answers again
    assert after.get("api_key") == Located(Secret(LIVE_KEY), f"file {path}")
    assert after.get("webhook_secret") == Located(None, "not stored")
    # Stored in the keyring again: the file's copy and its mark go.
    assert after.set("api_key", TEST_KEY) == "keyring (moment-tui)"
    assert not path.exists()
    assert after.get("api_key") == Located(Secret(TEST_KEY), "keyring (moment-tui)")


def test_with_no_keyring_at_all_the_file_copy_is_not_marked(
    config_dir: Path, no_keyring: NoKeyring
) -> None:
    store = SecretStore(config_dir, backend=no_keyring)
    assert store.set("api_key", TEST_KEY) == f"file {config_dir / 'secrets.json'}"
    assert json.loads((config_dir / "secrets.json").read_text()) == {"api_key": TEST_KEY}


def test_a_keyring_that_fails_is_not_called_empty(config_dir: Path) -> None:
    """ "Not stored" would be a guess: the locked keyring may hold the key."""
    located = SecretStore(config_dir, backend=LockedKeyring()).get("api_key")
    assert located.value is None
    assert located.source == (
        "not found: no usable system keyring (KeyringLocked), so it may be stored there"
    )


# --- storage: a working keyring -------------------------------------------------------


def test_a_working_keyring_is_used_and_no_file_is_written(
    config_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    notices: list[str] = []
    store = SecretStore(config_dir, backend=memory_keyring, notice=notices.append)
    assert store.set("api_key", TEST_KEY) == "keyring (moment-tui)"
    assert memory_keyring.items == {("moment-tui", "api_key"): TEST_KEY}
    assert not (config_dir / "secrets.json").exists()
    assert notices == []
    located = store.get("api_key")
    assert (located.value, located.source) == (Secret(TEST_KEY), "keyring (moment-tui)")
    assert store.keyring_problem is None


def test_storing_in_the_keyring_removes_an_older_file_copy(
    config_dir: Path, memory_keyring: MemoryKeyring, no_keyring: NoKeyring
) -> None:
    SecretStore(config_dir, backend=no_keyring).set("api_key", OTHER_KEY)
    assert (config_dir / "secrets.json").exists()
    SecretStore(config_dir, backend=memory_keyring).set("api_key", TEST_KEY)
    assert not (config_dir / "secrets.json").exists()
    assert memory_keyring.items == {("moment-tui", "api_key"): TEST_KEY}


def test_keyring_wins_over_the_file(
    config_dir: Path, memory_keyring: MemoryKeyring, no_keyring: NoKeyring
) -> None:
    SecretStore(config_dir, backend=no_keyring).set("api_key", OTHER_KEY)
    memory_keyring.set_password("moment-tui", "api_key", TEST_KEY)
    located = SecretStore(config_dir, backend=memory_keyring).get("api_key")
    assert located.value == Secret(TEST_KEY)
    assert located.source == "keyring (moment-tui)"


def test_delete_removes_from_keyring_and_file(
    config_dir: Path, memory_keyring: MemoryKeyring, no_keyring: NoKeyring
) -> None:
    SecretStore(config_dir, backend=no_keyring).set("api_key", OTHER_KEY)
    memory_keyring.set_password("moment-tui", "api_key", TEST_KEY)
    store = SecretStore(config_dir, backend=memory_keyring)
    assert store.delete("api_key").places == [
        "keyring (moment-tui)",
        f"file {config_dir / 'secrets.json'}",
    ]
    assert memory_keyring.items == {}
    assert store.get("api_key").value is None
    assert store.delete("api_key").places == []


# --- storage: a keyring that hangs ----------------------------------------------------


class HangingKeyring:
    """Every call blocks until ``release`` is set: a Secret Service that never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def _hang(self) -> None:
        self.calls += 1
        self.release.wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()


@pytest.fixture
def hanging_keyring() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    yield backend
    backend.release.set()  # let the abandoned worker thread finish


def test_a_hanging_keyring_times_out_and_falls_back(
    config_dir: Path, hanging_keyring: HangingKeyring
) -> None:
    notices: list[str] = []
    store = SecretStore(config_dir, backend=hanging_keyring, timeout=0.2, notice=notices.append)
    # Bounded by the timeout (never waits for the backend): the call returns at all.
    assert store.set("api_key", TEST_KEY) == (
        f"file {config_dir / 'secrets.json'} (it takes precedence over any older copy in"
        " the keyring)"
    )
    assert store.keyring_problem == "the system keyring did not answer within 0.2s"
    assert notices == [
        "the system keyring did not answer within 0.2s; secrets are stored in "
        f"{config_dir / 'secrets.json'} (readable only by you, mode 0600) instead."
    ]
    # Later calls do not wait again: the keyring is not asked a second time.
    assert store.get("api_key").value == Secret(TEST_KEY)
    assert store.set("webhook_secret", WEBHOOK_SECRET).startswith("file ")
    removal = store.delete("api_key")
    assert removal.places == [f"file {config_dir / 'secrets.json'}"]
    # Whether the keyring holds a copy is unknown: say so rather than "removed".
    assert removal.problem == "the system keyring did not answer within 0.2s"
    assert hanging_keyring.calls == 1
    assert len(notices) == 1


@pytest.mark.parametrize("keyring", ["locked", "none"])
def test_a_hand_edited_mark_is_reported_not_a_crash(
    config_dir: Path, no_keyring: NoKeyring, keyring: str
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "secrets.json").write_text('{"newer_than_keyring": [1]}', encoding="utf-8")
    store = SecretStore(config_dir, backend=LockedKeyring() if keyring == "locked" else no_keyring)
    with pytest.raises(SecretFileError, match="is not a secrets file"):
        store.set("api_key", TEST_KEY)


def test_with_a_corrupt_file_nothing_changes_anywhere(
    config_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    """Even with a working keyring: a login or logout half done (one secret changed,
    the file's copy left behind) would be worse than none."""
    store = SecretStore(config_dir, backend=memory_keyring)
    store.set("api_key", TEST_KEY)
    store.set("webhook_secret", WEBHOOK_SECRET)
    path = config_dir / "secrets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{cut short", encoding="utf-8")
    with pytest.raises(SecretFileError, match="is not a secrets file"):
        store.set("api_key", OTHER_KEY)
    with pytest.raises(SecretFileError, match="is not a secrets file"):
        store.delete("api_key")
    assert store.get("api_key") == Located(Secret(TEST_KEY), "keyring (moment-tui)")
    assert store.get("webhook_secret") == Located(Secret(WEBHOOK_SECRET), "keyring (moment-tui)")
    assert path.read_text(encoding="utf-8") == "{cut short"
