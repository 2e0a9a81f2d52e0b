"""Signing: the reference vectors (moment-api.md §15.4), the library cross-check, helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from moment_tui.secrets import SecretFormatError
from moment_tui.webhooks import signing
from moment_tui.webhooks.signing import (
    decode_secret,
    new_message_id,
    new_webhook_secret,
    sign,
    signature_header,
    signed_headers,
)

# Standard Webhooks reference vector (§15.4 A).
REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REF_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REF_TS = 1614265330
REF_BODY = b'{"test": 2432232314}'
REF_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
REF_KEY = bytes.fromhex("31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0")  # 24 bytes

# Moment-shaped worked example (§15.4 B).
B_SECRET = "whsec_bW9tZW50LXNhbmRib3gtd2ViaG9vay1rZXktMDAwMSE="
B_KEY = b"moment-sandbox-webhook-key-0001!"
B_ID = "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh"
B_TS = 1750236300
B_BODY = (
    b'{"id":"evt_2341234567890abcdefgh","type":"obligation.amount_applied","data":'
    b'{"id":"ob_N2a38DJQWPL8K4X42354234","amount":1500,"currency":"ZAR",'
    b'"payment_id":"pay_1313235234843nmafdsa","customer_id":"bcus_H4jp6KnU5cPw263v1jyz4",'
    b'"account_id":"bacc_H4jp6KnU5cPw263v1jyz4","bill_id":"bill_H4jp6KnU5cPw263v1jyz4",'
    b'"metadata":{},"created_at":"2025-06-18T08:45:00Z","updated_at":"2025-06-18T08:45:00Z"}}'
)
B_SIG = "v1,Qa3exPFRonIhe2nvvqWn7g0NldpTlFIDqs1JtGxcqc0="
B_TAMPERED_SIG = "v1,QV49cvei8VMqh8v6UHJikEK2YhdavdE0CQvv9TVEHTY="


def reference_sign(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    """The reference's own reproduction (§15.4), over bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --- the published vectors ----------------------------------------------------------


def test_reference_vector() -> None:
    assert sign(REF_SECRET, REF_ID, REF_TS, REF_BODY) == REF_SIG


def test_worked_example_b() -> None:
    assert len(B_BODY) == 393
    assert sign(B_SECRET, B_ID, B_TS, B_BODY) == B_SIG
    mac = base64.b64decode(B_SIG.removeprefix("v1,"))
    assert mac.hex() == "41addec4f151a272217b69efbea5a7ee0d0d95da53945203aacd49b46c5ca9cd"


def test_worked_example_b_tampered_amount() -> None:
    tampered = B_BODY.replace(b'"amount":1500', b'"amount":1501')
    assert tampered != B_BODY
    assert sign(B_SECRET, B_ID, B_TS, tampered) == B_TAMPERED_SIG


def test_sign_goes_through_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, str, datetime, str]] = []

    class Spy(Webhook):
        def sign(self, msg_id: str, timestamp: datetime, data: str) -> str:
            calls.append((self._whsecret, msg_id, timestamp, data))
            result: str = super().sign(msg_id, timestamp, data)
            return result

    monkeypatch.setattr(signing, "Webhook", Spy)
    assert sign(B_SECRET, B_ID, B_TS, B_BODY) == B_SIG
    assert calls == [(B_KEY, B_ID, datetime(2025, 6, 18, 8, 45, tzinfo=UTC), B_BODY.decode())]


@settings(max_examples=200, deadline=None)
@given(
    msg_id=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    ts=st.integers(min_value=0, max_value=10**11),
    body=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
)
def test_sign_agrees_with_the_reference_computation(msg_id: str, ts: int, body: str) -> None:
    raw = body.encode("utf-8")
    assert sign(B_SECRET, msg_id, ts, raw) == reference_sign(B_SECRET, msg_id, ts, raw)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300))
def test_sign_never_fails_on_bytes(body: bytes) -> None:
    assert sign(REF_SECRET, REF_ID, REF_TS, body) == reference_sign(
        REF_SECRET, REF_ID, REF_TS, body
    )


def test_non_utf8_body_is_signed_over_the_raw_bytes() -> None:
    body = b'{"name":"caf\xe9"}'  # Latin-1, not UTF-8
    assert sign(B_SECRET, B_ID, B_TS, body) == "v1,DU7HxDxXlpAnQ2nSonj7phZ1AY7eo9oDFQpnszMv9ZY="
    assert sign(B_SECRET, B_ID, B_TS, body) == reference_sign(B_SECRET, B_ID, B_TS, body)


@pytest.mark.parametrize("ts", [10**12 - 1, -(10**12)])
def test_timestamp_beyond_datetime_is_still_signed(ts: int) -> None:
    with pytest.raises((ValueError, OverflowError, OSError)):
        datetime.fromtimestamp(ts, UTC)
    assert sign(B_SECRET, B_ID, ts, B_BODY) == reference_sign(B_SECRET, B_ID, ts, B_BODY)


# --- what the library can sign byte-exactly -------------------------------------------

DATETIME_MAX_TS = 253_402_300_799  # 9999-12-31T23:59:59Z


@pytest.mark.parametrize(
    ("timestamp", "body", "expected"),
    [
        ("1750236300", B_BODY, (datetime(2025, 6, 18, 8, 45, tzinfo=UTC), B_BODY.decode())),
        ("0", b"", (datetime(1970, 1, 1, tzinfo=UTC), "")),
        (str(DATETIME_MAX_TS), b"{}", (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "{}")),
        (
            "1750236300",
            b'{"a":"caf\xc3\xa9"}',
            (datetime(2025, 6, 18, 8, 45, tzinfo=UTC), '{"a":"café"}'),
        ),
    ],
    ids=["example-b", "zero", "datetime-max", "utf-8-body"],
)
def test_library_input_when_the_library_signs_exactly_these_bytes(
    timestamp: str, body: bytes, expected: tuple[datetime, str]
) -> None:
    assert signing.library_input(timestamp, body) == expected


@pytest.mark.parametrize(
    ("timestamp", "body"),
    [
        ("0123", B_BODY),  # the library would sign "123"
        ("00", B_BODY),
        ("+5", B_BODY),
        (" 5", B_BODY),
        ("1_0", B_BODY),
        ("\u0661\u0662\u0663", B_BODY),  # Arabic-Indic digits: int() reads them as 123
        ("", B_BODY),
        ("17502363OO", B_BODY),
        (str(DATETIME_MAX_TS + 1), B_BODY),  # beyond datetime
        ("1" * 5000, B_BODY),  # beyond int()'s digit limit
        ("1750236300", b'{"name":"caf\xe9"}'),  # Latin-1, not UTF-8
        ("1750236300", b"\xed\xa0\x80"),  # an encoded surrogate is not UTF-8
    ],
    ids=[
        "leading-zero",
        "00",
        "plus",
        "space",
        "underscore",
        "arabic-indic",
        "empty",
        "letters",
        "past-datetime",
        "5000-digits",
        "latin-1-body",
        "surrogate-body",
    ],
)
def test_library_input_is_none_when_the_library_would_sign_other_bytes(
    timestamp: str, body: bytes
) -> None:
    assert signing.library_input(timestamp, body) is None


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=64),
    msg_id=st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    ts=st.integers(min_value=0, max_value=DATETIME_MAX_TS),
    body=st.text(alphabet=st.characters(codec="utf-8"), max_size=300).map(str.encode),
)
def test_library_mac_equals_the_byte_exact_mac(
    key: bytes, msg_id: str, ts: int, body: bytes
) -> None:
    prepared = signing.library_input(str(ts), body)
    assert prepared is not None
    assert signing.library_mac(Webhook(key), msg_id, *prepared) == signing.mac(
        key, msg_id, str(ts), body
    )


@settings(max_examples=200, deadline=None)
@given(
    msg_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=40),
    skew=st.integers(min_value=-200, max_value=200),
    body=st.text(alphabet=st.characters(codec="utf-8"), max_size=300).map(str.encode),
)
def test_both_verifier_paths_are_accepted_by_the_library(
    msg_id: str, skew: int, body: bytes
) -> None:
    """The package path (library_mac) and the fallback (mac) give the signature the
    package's own Webhook.verify accepts, wherever it can run."""
    ts = str(int(time.time()) + skew)
    prepared = signing.library_input(ts, body)
    assert prepared is not None
    by_package = signing.library_mac(Webhook(B_KEY), msg_id, *prepared)
    by_fallback = signing.mac(B_KEY, msg_id, ts, body)
    for raw in (by_package, by_fallback):
        sent = {"webhook-id": msg_id, "webhook-timestamp": ts}
        sent["webhook-signature"] = signing.format_signature(raw)
        Webhook(B_SECRET).verify(body, sent, json_parse=False)  # raises if refused


# --- secrets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "key"),
    [
        (B_SECRET, B_KEY),
        (B_SECRET.removeprefix("whsec_"), B_KEY),  # no prefix, like the library
        (B_SECRET.rstrip("="), B_KEY),  # missing padding
        (B_SECRET + "==", B_KEY),  # extra padding
        (f"  {B_SECRET}\n", B_KEY),  # pasted with whitespace
        (REF_SECRET, REF_KEY),
        ("whsec_AA", b"\x00"),
    ],
)
def test_decode_secret(secret: str, key: bytes) -> None:
    assert decode_secret(secret) == key


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "the webhook signing secret is empty"),
        ("whsec_", "the webhook signing secret is empty"),
        ("whsec_====", "the webhook signing secret is empty"),
        ("   ", "the webhook signing secret is empty"),
        ("whsec_not*base64!", "the part after whsec_ must be base64"),
        ("whsec_abcde", "the part after whsec_ must be base64"),  # 5 chars: 1 too many
        ("whsec_bW9tZW50LXNhbmRib3gtd2ViaG9v\u00e9", "the part after whsec_ must be base64"),
    ],
)
def test_decode_secret_refuses(secret: str, message: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        decode_secret(secret)
    assert str(caught.value) == message


def test_decode_agrees_with_the_library_on_a_padded_secret() -> None:
    assert Webhook(B_SECRET)._whsecret == decode_secret(B_SECRET)
    assert Webhook(REF_SECRET)._whsecret == decode_secret(REF_SECRET)


# --- headers ------------------------------------------------------------------------


def test_signature_header_one_entry_per_secret_in_order() -> None:
    header = signature_header([REF_SECRET, B_SECRET], REF_ID, REF_TS, REF_BODY)
    assert header == f"{REF_SIG} {reference_sign(B_SECRET, REF_ID, REF_TS, REF_BODY)}"
    assert signature_header([B_SECRET], B_ID, B_TS, B_BODY) == B_SIG


def test_signature_header_takes_a_lone_string_as_one_secret() -> None:
    assert signature_header(B_SECRET, B_ID, B_TS, B_BODY) == B_SIG


def test_signature_header_without_secrets_is_an_error() -> None:
    with pytest.raises(SecretFormatError, match="no webhook signing secret to sign with"):
        signature_header([], B_ID, B_TS, B_BODY)


def test_signed_headers() -> None:
    assert signed_headers([B_SECRET], B_ID, B_BODY, timestamp=B_TS) == {
        "webhook-id": B_ID,
        "webhook-timestamp": "1750236300",
        "webhook-signature": B_SIG,
        "content-type": "application/json",
    }


def test_signed_headers_default_to_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1614265330.9)
    headers = signed_headers([REF_SECRET], REF_ID, REF_BODY)
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == REF_SIG


# --- fresh ids and secrets ----------------------------------------------------------


def test_new_message_id() -> None:
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    for msg_id in ids:
        assert re.fullmatch(r"msg_[0-9A-Za-z]{27}", msg_id), msg_id
    # All 62 characters occur: it is base62, not hex or lower-case only.
    assert set("".join(i[4:] for i in ids)) == set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    )


def test_new_webhook_secret() -> None:
    secrets = {new_webhook_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret), secret
        assert len(decode_secret(secret)) == 32
        assert base64.b64decode(secret.removeprefix("whsec_")) == decode_secret(secret)


def test_a_new_secret_signs_like_the_reference() -> None:
    secret = new_webhook_secret()
    assert sign(secret, B_ID, B_TS, B_BODY) == reference_sign(secret, B_ID, B_TS, B_BODY)
    assert sign(secret, B_ID, B_TS, B_BODY) != B_SIG
