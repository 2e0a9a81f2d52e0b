"""Verification: reference vectors, every reason, hints, rotation, tolerance, fuzzing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from moment_tui.secrets import Secret, SecretFormatError, mask
from moment_tui.webhooks import signing, verify
from moment_tui.webhooks.signing import (
    new_webhook_secret,
    sign,
    signature_header,
    signed_headers,
)
from moment_tui.webhooks.verify import (
    STATUS,
    Reason,
    Verification,
    Verifier,
    parse_signature_header,
)

from .test_signing import (
    B_BODY,
    B_ID,
    B_KEY,
    B_SECRET,
    B_SIG,
    B_TAMPERED_SIG,
    B_TS,
    REF_BODY,
    REF_ID,
    REF_SECRET,
    REF_SIG,
    REF_TS,
)

B_LABEL = "whsec_…SE="
B_WRONG_KEY_SIG = "v1,aoH3oFYV+6K3EWqZ3FYMiZChoRwmaJSd53ob//NqlJE="  # whole secret text as key
ROT_KEY = b"rotated-key-for-moment-tui-tests"
ROT_SECRET = "whsec_" + base64.b64encode(ROT_KEY).decode()
ROT_LABEL = "whsec_…HM="
NEGATIVE_CONTROLS = [
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
]
WRONG_SECRET_HINT = (
    "no configured secret produces this signature: the sender probably uses a different "
    "secret (check the endpoint's secret, or whether it was rotated)"
)
STATUSES = {200, 400, 401, 413}


def headers(
    msg_id: str = B_ID, ts: int | str = B_TS, sig: str = B_SIG, **extra: str
) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig, **extra}


def verifier(*secrets: str, now: float = B_TS, **options: Any) -> Verifier:
    return Verifier(list(secrets or [B_SECRET]), clock=lambda: now, **options)


def delivered(body: bytes, *secrets: str, msg_id: str = B_ID, ts: int = B_TS) -> dict[str, str]:
    """Correct headers for ``body`` signed with ``secrets`` (default: example B's)."""
    return signed_headers(list(secrets or [B_SECRET]), msg_id, body, timestamp=ts)


def raw_sig(key: bytes, body: bytes, msg_id: str = B_ID, ts: int | str = B_TS) -> str:
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event(data: Any, type_: str = "obligation.amount_applied") -> bytes:
    return json.dumps({"id": "evt_1", "type": type_, "data": data}).encode()


# --- the reference vector (moment-api.md §15.4 A) -----------------------------------


def test_reference_vector_signature_is_accepted() -> None:
    ref = verifier(REF_SECRET, now=REF_TS)
    result = ref.check_signature(headers(REF_ID, REF_TS, REF_SIG), REF_BODY)
    assert result == Verification(
        ok=True,
        reason=None,
        message="verified with secret whsec_…aSw",
        status=200,
        webhook_id=REF_ID,
        timestamp=REF_TS,
        matched_secret=0,
        matched_secret_label="whsec_…aSw",
    )


def test_reference_vector_passes_the_signature_but_is_not_a_moment_event() -> None:
    # {"test": …} is not {id, type, data}: verify() gets past the signature (the
    # secret matched) and stops at the event shape.
    result = verifier(REF_SECRET, now=REF_TS).verify(headers(REF_ID, REF_TS, REF_SIG), REF_BODY)
    assert (result.ok, result.reason, result.status) == (False, Reason.NOT_AN_EVENT, 400)
    assert result.message == "the event has no id field"
    assert (result.matched_secret, result.matched_secret_label) == (0, "whsec_…aSw")


@pytest.mark.parametrize("sig", NEGATIVE_CONTROLS)
def test_reference_negative_controls_are_rejected(sig: str) -> None:
    ref = verifier(REF_SECRET, now=REF_TS)
    for check in (ref.check_signature, ref.verify):
        result = check(headers(REF_ID, REF_TS, sig), REF_BODY)
        assert (result.ok, result.reason, result.status) == (
            False,
            Reason.NO_MATCHING_SIGNATURE,
            401,
        )
        assert result.matched_secret is None


@pytest.mark.parametrize(
    "sig",
    [
        f"{NEGATIVE_CONTROLS[1]} v2,{REF_SIG[3:]} {REF_SIG} {NEGATIVE_CONTROLS[0]}",
        f"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {REF_SIG}",
        f"junk  v1,!!! v1a,xyz ,abc {REF_SIG}",
        f"{REF_SIG} v1,",
    ],
)
def test_a_good_v1_among_bad_entries_is_accepted(sig: str) -> None:
    result = verifier(REF_SECRET, now=REF_TS).check_signature(
        headers(REF_ID, REF_TS, sig), REF_BODY
    )
    assert (result.ok, result.matched_secret) == (True, 0)


def test_a_good_signature_labelled_v2_does_not_count() -> None:
    result = verifier(REF_SECRET, now=REF_TS).check_signature(
        headers(REF_ID, REF_TS, f"{NEGATIVE_CONTROLS[0]} v2,{REF_SIG[3:]}"), REF_BODY
    )
    assert result.reason is Reason.NO_MATCHING_SIGNATURE


# --- worked example B ---------------------------------------------------------------


def test_worked_example_b_is_verified() -> None:
    result = verifier().verify(headers(), B_BODY)
    assert (result.ok, result.reason, result.status) == (True, None, 200)
    assert result.message == "verified with secret whsec_…SE="
    assert (result.webhook_id, result.timestamp) == (B_ID, B_TS)
    assert (result.matched_secret, result.matched_secret_label) == (0, B_LABEL)
    assert result.diagnosis is None
    assert result.event is not None
    assert (result.event.id, result.event.type) == (
        "evt_2341234567890abcdefgh",
        "obligation.amount_applied",
    )
    applied = result.amount_applied
    assert applied is not None
    assert (applied.id, applied.amount, applied.currency) == (
        "ob_N2a38DJQWPL8K4X42354234",
        1500,
        "ZAR",
    )
    assert applied.payment_id == "pay_1313235234843nmafdsa"
    assert applied.target() == ("bill", "bill_H4jp6KnU5cPw263v1jyz4")


def test_worked_example_b_tampered_body_is_rejected_with_a_diagnosis() -> None:
    tampered = B_BODY.replace(b'"amount":1500', b'"amount":1501')
    result = verifier().verify(headers(), tampered)
    assert (result.ok, result.reason, result.status) == (False, Reason.NO_MATCHING_SIGNATURE, 401)
    assert result.message == "no v1 signature in webhook-signature matches the 1 configured secret"
    assert (result.webhook_id, result.timestamp, result.matched_secret) == (B_ID, B_TS, None)
    assert result.event is None
    diagnosis = result.diagnosis
    assert diagnosis is not None
    assert diagnosis.signed_content_prefix == (
        "msg_2mK3Zq8Yb1Xc4Vd5We6Rf7Tg8Uh.1750236300."
        '{"id":"evt_2341234567890abcdefgh","type":"obligation.amount_applied","data":{"id…'
    )
    assert diagnosis.expected == (f"{B_LABEL} → {B_TAMPERED_SIG}",)
    assert diagnosis.received == (B_SIG,)
    assert diagnosis.skew_seconds == 0
    assert diagnosis.hints == (WRONG_SECRET_HINT,)


def test_whole_secret_as_key_is_rejected_with_the_base64_hint() -> None:
    assert raw_sig(B_SECRET.encode(), B_BODY) == B_WRONG_KEY_SIG
    result = verifier().verify(headers(sig=B_WRONG_KEY_SIG), B_BODY)
    assert result.reason is Reason.NO_MATCHING_SIGNATURE
    assert result.diagnosis is not None
    assert result.diagnosis.expected == (f"{B_LABEL} → {B_SIG}",)
    assert result.diagnosis.received == (B_WRONG_KEY_SIG,)
    assert result.diagnosis.hints == (
        "the sender used the whole secret text (whsec_ included) of secret whsec_…SE= as the "
        "HMAC key; the key must be the base64-decoded bytes of the part after whsec_",
    )


def test_text_after_prefix_as_key_is_named_precisely() -> None:
    sig = raw_sig(B_SECRET.removeprefix("whsec_").encode(), B_BODY)
    result = verifier().verify(headers(sig=sig), B_BODY)
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        "the sender used the text after whsec_ (not base64-decoded) of secret whsec_…SE= as "
        "the HMAC key; the key must be the base64-decoded bytes of the part after whsec_",
    )


# --- every reason -------------------------------------------------------------------

AMOUNT_DATA = {"id": "ob_1", "amount": 1500, "currency": "ZAR"}
DEEP = b"[" * 50_000 + b"]" * 50_000

# (case id, headers, body, verifier options, reason, message); status comes from STATUS.
CASES: list[tuple[str, Mapping[str, str], bytes, dict[str, Any], Reason, str]] = [
    ("too-large", headers(), B_BODY, {"max_body_bytes": 392}, Reason.BODY_TOO_LARGE,
     "the body is 393 bytes; the limit is 392 bytes"),
    ("no-id", {"webhook-timestamp": "1", "webhook-signature": B_SIG}, B_BODY, {},
     Reason.MISSING_HEADER, "missing header webhook-id"),
    ("no-headers", {"content-type": "application/json"}, B_BODY, {}, Reason.MISSING_HEADER,
     "missing headers webhook-id, webhook-timestamp, webhook-signature"),
    ("no-id-and-sig", {"webhook-timestamp": "1"}, B_BODY, {}, Reason.MISSING_HEADER,
     "missing headers webhook-id, webhook-signature"),
    ("empty-ts", headers(ts=""), B_BODY, {}, Reason.MISSING_HEADER,
     "empty header webhook-timestamp"),
    ("absent-and-empty", {"webhook-timestamp": "1", "webhook-signature": ""}, B_BODY, {},
     Reason.MISSING_HEADER, "missing header webhook-id; empty header webhook-signature"),
    ("id-dot", headers(msg_id="msg.1"), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id 'msg.1' contains '.', which would make signatures ambiguous"),
    ("id-space", headers(msg_id="msg 1"), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id 'msg 1' contains whitespace or control characters"),
    ("id-tab", headers(msg_id="msg\t1"), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id 'msg\\t1' contains whitespace or control characters"),
    ("id-nul", headers(msg_id="msg\x00"), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id 'msg\\x00' contains whitespace or control characters"),
    ("id-zero-width", headers(msg_id="msg\u200b"), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id 'msg\\u200b' contains whitespace or control characters"),
    ("id-long", headers(msg_id="m" * 256), B_BODY, {}, Reason.MALFORMED_ID,
     "webhook-id is 256 characters long; at most 255 allowed"),
    ("ts-fraction", headers(ts="1614265330.5"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '1614265330.5' is not Unix time in whole seconds (digits only)"),
    ("ts-negative", headers(ts="-5"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '-5' is not Unix time in whole seconds (digits only)"),
    ("ts-space", headers(ts=" 12"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp ' 12' is not Unix time in whole seconds (digits only)"),
    ("ts-exponent", headers(ts="1e9"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '1e9' is not Unix time in whole seconds (digits only)"),
    ("ts-fullwidth", headers(ts="１２３"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '１２３' is not Unix time in whole seconds (digits only)"),
    ("ts-newline", headers(ts="1750236300\n"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '1750236300\\n' is not Unix time in whole seconds (digits only)"),
    ("ts-millis", headers(ts="1750236300000"), B_BODY, {}, Reason.MALFORMED_TIMESTAMP,
     "webhook-timestamp '1750236300000' has 13 digits: it must be Unix time in seconds "
     "(milliseconds?)"),
    ("sig-garbage", headers(sig="garbage"), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "webhook-signature has no '<version>,<signature>' entry (got 'garbage')"),
    ("sig-space", headers(sig=" "), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "webhook-signature has no '<version>,<signature>' entry (got ' ')"),
    ("sig-no-version", headers(sig=",abc="), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "webhook-signature has no '<version>,<signature>' entry (got ',abc=')"),
    ("sig-bare-v1", headers(sig="v1"), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "webhook-signature has no '<version>,<signature>' entry (got 'v1')"),
    ("sig-not-base64", headers(sig="v1,not*base64!"), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "the v1 signature in webhook-signature is not base64 (v1,not*base64!)"),
    ("sig-unpadded", headers(sig=B_SIG.rstrip("=")), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "the v1 signature in webhook-signature is not base64 "
     "(v1,Qa3exPFRonIhe2nvvqWn7g0NldpTlFIDqs1JtGxc…)"),
    ("sig-empty-v1", headers(sig="v1,"), B_BODY, {}, Reason.MALFORMED_SIGNATURE,
     "the v1 signature in webhook-signature is not base64 (v1,)"),
    ("sig-other-versions", headers(sig=f"v2,{B_SIG[3:]} v1a,xyz V1,{B_SIG[3:]}"), B_BODY, {},
     Reason.MALFORMED_SIGNATURE, "no v1 signature in webhook-signature (only v2, v1a, V1)"),
    ("no-secret", headers(), B_BODY, {"secrets": []}, Reason.NO_SECRET,
     "no webhook signing secret is configured: set MOMENT_WEBHOOK_SECRET or run "
     "`moment-tui login`"),
    ("too-old", headers(), B_BODY, {"now": B_TS + 412}, Reason.TIMESTAMP_TOO_OLD,
     "webhook-timestamp is 412 s old; tolerance is 180 s"),
    ("too-new", headers(), B_BODY, {"now": B_TS - 600}, Reason.TIMESTAMP_TOO_NEW,
     "webhook-timestamp is 600 s in the future; tolerance is 180 s"),
    ("no-match", headers(sig=B_TAMPERED_SIG), B_BODY, {}, Reason.NO_MATCHING_SIGNATURE,
     "no v1 signature in webhook-signature matches the 1 configured secret"),
    ("no-match-2", headers(sig=B_TAMPERED_SIG), B_BODY, {"secrets": [B_SECRET, ROT_SECRET]},
     Reason.NO_MATCHING_SIGNATURE,
     "no v1 signature in webhook-signature matches the 2 configured secrets"),
    ("not-utf8", delivered(b'{"a":"\xff"}'), b'{"a":"\xff"}', {}, Reason.BODY_NOT_JSON,
     "the body is not UTF-8 (invalid byte at offset 6)"),
    ("not-json", delivered(b"not json"), b"not json", {}, Reason.BODY_NOT_JSON,
     "the body is not JSON: Expecting value at offset 0"),
    ("empty-body", delivered(b""), b"", {}, Reason.BODY_NOT_JSON,
     "the body is not JSON: Expecting value at offset 0"),
    ("nan", delivered(b'{"a": NaN}'), b'{"a": NaN}', {}, Reason.BODY_NOT_JSON,
     "the body is not JSON: NaN is not valid JSON"),
    ("bom", delivered(b'\xef\xbb\xbf{"a":1}'), b'\xef\xbb\xbf{"a":1}', {}, Reason.BODY_NOT_JSON,
     "the body is not JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at offset 0"),
    ("deep", delivered(DEEP), DEEP, {}, Reason.BODY_NOT_JSON,
     "the body is not JSON we can read: it is nested too deeply"),
    ("array", delivered(b"[]"), b"[]", {}, Reason.NOT_AN_EVENT,
     "the body is a JSON array, not an event object"),
    ("string", delivered(b'"x"'), b'"x"', {}, Reason.NOT_AN_EVENT,
     "the body is a JSON string, not an event object"),
    ("number", delivered(b"12"), b"12", {}, Reason.NOT_AN_EVENT,
     "the body is a JSON number, not an event object"),
    ("null", delivered(b"null"), b"null", {}, Reason.NOT_AN_EVENT,
     "the body is a JSON literal, not an event object"),
    ("no-data", delivered(b'{"id":"e","type":"t"}'), b'{"id":"e","type":"t"}', {},
     Reason.NOT_AN_EVENT, "the event has no data field"),
    ("data-list", delivered(b'{"id":"e","type":"t","data":[]}'),
     b'{"id":"e","type":"t","data":[]}', {}, Reason.NOT_AN_EVENT,
     "the event's data is invalid: Input should be a valid dictionary"),
    ("empty-id", delivered(b'{"id":"","type":"t","data":{}}'), b'{"id":"","type":"t","data":{}}',
     {}, Reason.NOT_AN_EVENT, "the event's id is invalid: String should have at least 1 character"),
    ("amount-text", delivered(event({**AMOUNT_DATA, "amount": "1500"})),
     event({**AMOUNT_DATA, "amount": "1500"}), {}, Reason.NOT_AN_EVENT,
     "the event's data.amount is invalid: Input should be a valid integer"),
    ("amount-float", delivered(event({**AMOUNT_DATA, "amount": 1500.0})),
     event({**AMOUNT_DATA, "amount": 1500.0}), {}, Reason.NOT_AN_EVENT,
     "the event's data.amount is invalid: Input should be a valid integer"),
    ("amount-bool", delivered(event({**AMOUNT_DATA, "amount": True})),
     event({**AMOUNT_DATA, "amount": True}), {}, Reason.NOT_AN_EVENT,
     "the event's data.amount is invalid: Input should be a valid integer"),
    ("no-currency", delivered(event({"id": "ob_1", "amount": 1})),
     event({"id": "ob_1", "amount": 1}), {}, Reason.NOT_AN_EVENT,
     "the event has no data.currency field"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("headers_", "body", "options", "reason", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_every_reason(
    headers_: Mapping[str, str], body: bytes, options: dict[str, Any], reason: Reason, message: str
) -> None:
    options = dict(options)
    secrets, now = options.pop("secrets", [B_SECRET]), options.pop("now", B_TS)
    v = Verifier(secrets, clock=lambda: now, **options)
    result = v.verify(headers_, body)
    assert (result.ok, result.reason, result.message) == (False, reason, message)
    assert result.status == STATUS[reason]
    assert result.event is None
    assert result.amount_applied is None
    assert_no_secret_in(result)


def test_every_reason_has_a_case_and_the_documented_status() -> None:
    assert {case[4] for case in CASES} == set(Reason)
    assert {reason: STATUS[reason] for reason in Reason} == {
        Reason.MISSING_HEADER: 400,
        Reason.MALFORMED_ID: 400,
        Reason.MALFORMED_TIMESTAMP: 400,
        Reason.MALFORMED_SIGNATURE: 400,
        Reason.NO_SECRET: 401,
        Reason.TIMESTAMP_TOO_OLD: 401,
        Reason.TIMESTAMP_TOO_NEW: 401,
        Reason.NO_MATCHING_SIGNATURE: 401,
        Reason.BODY_TOO_LARGE: 413,
        Reason.BODY_NOT_JSON: 400,
        Reason.NOT_AN_EVENT: 400,
    }
    assert [r.value for r in Reason] == [
        "missing_header",
        "malformed_id",
        "malformed_timestamp",
        "malformed_signature",
        "no_secret_configured",
        "timestamp_too_old",
        "timestamp_too_new",
        "no_matching_signature",
        "body_too_large",
        "body_not_json",
        "not_an_event",
    ]


def test_body_at_the_limit_is_fine() -> None:
    assert verifier(max_body_bytes=393).verify(headers(), B_BODY).ok


def test_longest_allowed_id() -> None:
    msg_id = "m" * 255
    result = verifier().verify(delivered(B_BODY, msg_id=msg_id), B_BODY)
    assert (result.ok, result.webhook_id) == (True, msg_id)


def test_a_failure_after_the_signature_keeps_the_matched_secret() -> None:
    body = b'{"id":"e","type":"t"}'
    result = verifier(ROT_SECRET, B_SECRET).verify(delivered(body), body)
    assert (result.reason, result.matched_secret, result.matched_secret_label) == (
        Reason.NOT_AN_EVENT,
        1,
        B_LABEL,
    )


def test_other_event_types_verify_without_amount() -> None:
    body = event({"anything": [1, 2]}, type_="payment.succeeded")
    result = verifier().verify(delivered(body), body)
    assert (result.ok, result.amount_applied) == (True, None)
    assert result.event is not None
    assert (result.event.type, result.event.data) == ("payment.succeeded", {"anything": [1, 2]})


def test_non_utf8_body_signed_over_bytes_passes_the_signature() -> None:
    body = b'{"name":"caf\xe9"}'
    result = verifier().check_signature(delivered(body), body)
    assert (result.ok, result.matched_secret) == (True, 0)


# --- the standardwebhooks package does the cryptographic check ------------------------


class SpyWebhook(Webhook):
    """Records every package signer built and every signature it computes."""

    built: list[bytes]
    signed: list[tuple[bytes, str, datetime, str]]

    def __init__(self, whsecret: str | bytes) -> None:
        super().__init__(whsecret)
        SpyWebhook.built.append(self._whsecret)

    def sign(self, msg_id: str, timestamp: datetime, data: str) -> str:
        SpyWebhook.signed.append((self._whsecret, msg_id, timestamp, data))
        result: str = super().sign(msg_id, timestamp, data)
        return result


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[SpyWebhook]:
    SpyWebhook.built, SpyWebhook.signed = [], []
    monkeypatch.setattr(verify, "Webhook", SpyWebhook)
    return SpyWebhook


@pytest.fixture
def mac_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, str, str, bytes]]:
    calls: list[tuple[bytes, str, str, bytes]] = []

    def recording_mac(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
        calls.append((key, msg_id, timestamp, body))
        return signing.mac(key, msg_id, timestamp, body)

    monkeypatch.setattr(verify, "mac", recording_mac)
    return calls


B_WHEN = datetime(2025, 6, 18, 8, 45, tzinfo=UTC)


def test_worked_example_b_is_checked_by_the_package(
    spy: type[SpyWebhook], mac_calls: list[tuple[bytes, str, str, bytes]]
) -> None:
    v = verifier(ROT_SECRET, B_SECRET)
    assert spy.built == [ROT_KEY, B_KEY]  # one signer per secret, from the decoded key
    for _ in range(3):
        result = v.verify(headers(), B_BODY)
        assert (result.ok, result.matched_secret_label) == (True, B_LABEL)
    assert spy.built == [ROT_KEY, B_KEY]  # built once, not per delivery
    assert (
        spy.signed
        == [
            (ROT_KEY, B_ID, B_WHEN, B_BODY.decode()),
            (B_KEY, B_ID, B_WHEN, B_BODY.decode()),
        ]
        * 3
    )
    assert mac_calls == []


def test_a_failing_signature_is_also_checked_by_the_package(
    spy: type[SpyWebhook], mac_calls: list[tuple[bytes, str, str, bytes]]
) -> None:
    result = verifier().check_signature(headers(sig=B_TAMPERED_SIG), B_BODY)
    assert result.reason is Reason.NO_MATCHING_SIGNATURE
    assert spy.signed == [(B_KEY, B_ID, B_WHEN, B_BODY.decode())]
    # (the diagnosis recomputes its expected signatures and hints over the raw bytes)
    assert all(call[2] == str(B_TS) for call in mac_calls)


def test_a_non_utf8_body_falls_back_to_the_raw_bytes(
    spy: type[SpyWebhook], mac_calls: list[tuple[bytes, str, str, bytes]]
) -> None:
    body = b'{"name":"caf\xe9"}'
    result = verifier().check_signature(delivered(body), body)
    assert (result.ok, result.matched_secret) == (True, 0)
    assert spy.signed == []
    assert mac_calls == [(B_KEY, B_ID, str(B_TS), body)]


def test_a_non_canonical_timestamp_is_signed_exactly_as_received(
    spy: type[SpyWebhook], mac_calls: list[tuple[bytes, str, str, bytes]]
) -> None:
    # "0" + the timestamp: the package would sign (and verify) it as the plain number;
    # the signed content is the header text as received.
    padded = "0" + str(B_TS)
    result = verifier().check_signature(
        headers(ts=padded, sig=raw_sig(B_KEY, B_BODY, ts=padded)), B_BODY
    )
    assert (result.ok, result.timestamp) == (True, B_TS)
    assert spy.signed == []
    assert mac_calls == [(B_KEY, B_ID, padded, B_BODY)]
    # Example B's own signature (over "1750236300") does not hold for header "01750236300".
    assert verifier().check_signature(headers(ts=padded), B_BODY).reason is (
        Reason.NO_MATCHING_SIGNATURE
    )


def test_the_package_reads_a_padded_timestamp_as_the_number() -> None:
    # Why the fallback exists: Webhook.verify accepts a signature over "N" for "0N".
    now = str(int(time.time()))
    sent = {"webhook-id": B_ID, "webhook-timestamp": "0" + now, "webhook-signature": ""}
    sent["webhook-signature"] = raw_sig(B_KEY, B_BODY, ts=now)
    Webhook(B_SECRET).verify(B_BODY, sent, json_parse=False)
    assert Verifier([B_SECRET]).check_signature(sent, B_BODY).reason is (
        Reason.NO_MATCHING_SIGNATURE
    )


# --- hints --------------------------------------------------------------------------

COMPACT = b'{"id":"evt_1","type":"t","data":{"b":1,"a":"\xc3\xa9"}}'


@pytest.mark.parametrize(
    ("signed", "description"),
    [
        (json.dumps(json.loads(COMPACT)).encode(), "re-serialised with json.dumps defaults"),
        (
            json.dumps(json.loads(COMPACT), separators=(",", ":"), sort_keys=True).encode(),
            "re-serialised with sorted keys",
        ),
        (
            json.dumps(json.loads(COMPACT), sort_keys=True).encode(),
            "re-serialised with sorted keys and spaces",
        ),
        (COMPACT + b"\n", "with a trailing newline"),
    ],
)
def test_reserialised_body_hint(signed: bytes, description: str) -> None:
    result = verifier().verify(headers(sig=sign(B_SECRET, B_ID, B_TS, signed)), COMPACT)
    assert result.reason is Reason.NO_MATCHING_SIGNATURE
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        f"the signature matches the body {description} (secret {B_LABEL}): the sender signed a "
        "different serialisation than it sent; it must sign the exact bytes it sends",
    )


def test_compact_reserialisation_hint() -> None:
    spaced = b'{"id": "evt_1", "type": "t", "data": {}}\n'
    compact = json.dumps(json.loads(spaced), separators=(",", ":")).encode()
    result = verifier().verify(headers(sig=sign(B_SECRET, B_ID, B_TS, compact)), spaced)
    assert result.diagnosis is not None
    assert result.diagnosis.hints[0].startswith(
        "the signature matches the body re-serialised compactly (no spaces) (secret whsec_…SE=)"
    )


@pytest.mark.parametrize(
    ("signed_ts", "description"),
    [(B_TS + 2, "+2 s"), (B_TS - 5, "-5 s"), (B_TS * 1000, "in milliseconds")],
)
def test_signed_timestamp_differs_from_header_hint(signed_ts: int, description: str) -> None:
    sig = sign(B_SECRET, B_ID, signed_ts, B_BODY)
    result = verifier().verify(headers(sig=sig), B_BODY)
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        f"the signature matches timestamp {signed_ts} ({description}, secret {B_LABEL}) but "
        f"webhook-timestamp says {B_TS}: the sender must sign the same timestamp it sends",
    )


def test_hex_digest_hint() -> None:
    hex_sig = "v1," + hmac.new(B_KEY, f"{B_ID}.{B_TS}.".encode() + B_BODY, "sha256").hexdigest()
    result = verifier().verify(headers(sig=hex_sig), B_BODY)
    assert result.reason is Reason.NO_MATCHING_SIGNATURE
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        f"the signature is the hex digest for secret {B_LABEL}; Standard Webhooks wants the "
        "32 MAC bytes in standard base64",
    )


def test_wrong_length_hint() -> None:
    result = verifier().verify(headers(sig="v1,AAAAAAAAAAAAAAAAAAAAAA=="), B_BODY)
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        "the received signature decodes to 16 bytes; an HMAC-SHA256 is 32 bytes "
        "(44 base64 characters)",
    )


def test_hints_for_a_large_body_skip_the_expensive_ones() -> None:
    body = b'{"id":"e","type":"t","data":{"pad":"' + b"x" * 70_000 + b'"}}'
    spaced = json.dumps(json.loads(body)).encode()
    result = verifier().verify(headers(sig=sign(B_SECRET, B_ID, B_TS, spaced)), body)
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (WRONG_SECRET_HINT,)


def test_a_deep_body_with_a_bad_signature_is_diagnosed_without_crashing() -> None:
    deep = b"[" * 990 + b"]" * 990
    result = verifier().verify(headers(), deep)
    assert result.reason is Reason.NO_MATCHING_SIGNATURE
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (WRONG_SECRET_HINT,)


def test_signed_content_prefix_escapes_and_cuts() -> None:
    body = b'{"a":"\x00\tx\n"}\xff\xfe'
    result = verifier().verify(headers(), body)
    assert result.diagnosis is not None
    assert result.diagnosis.signed_content_prefix == (
        f'{B_ID}.{B_TS}.{{"a":"\\x00\\tx\\n"}}\\xff\\xfe'
    )
    long = verifier().verify(headers(), b"\xff" * 500).diagnosis
    assert long is not None
    assert long.signed_content_prefix == f"{B_ID}.{B_TS}." + "\\xff" * 20 + "…"
    exact = verifier().verify(headers(), b"a" * 80).diagnosis
    assert exact is not None
    assert exact.signed_content_prefix == f"{B_ID}.{B_TS}." + "a" * 80


# --- rotation -----------------------------------------------------------------------


def test_rotation_signature_by_the_second_secret() -> None:
    result = verifier(B_SECRET, ROT_SECRET).verify(delivered(B_BODY, ROT_SECRET), B_BODY)
    assert (result.ok, result.matched_secret, result.matched_secret_label) == (True, 1, ROT_LABEL)
    assert result.message == f"verified with secret {ROT_LABEL}"


def test_rotation_header_signed_with_both() -> None:
    sent = delivered(B_BODY, ROT_SECRET, B_SECRET)
    assert sent["webhook-signature"] == signature_header([ROT_SECRET, B_SECRET], B_ID, B_TS, B_BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    both = verifier(B_SECRET, ROT_SECRET).verify(sent, B_BODY)
    assert (both.ok, both.matched_secret) == (True, 0)
    only_new = verifier(ROT_SECRET).verify(sent, B_BODY)
    assert (only_new.ok, only_new.matched_secret) == (True, 0)
    only_old = verifier(B_SECRET).verify(sent, B_BODY)
    assert (only_old.ok, only_old.matched_secret) == (True, 0)


def test_rotation_failure_shows_every_expected_signature() -> None:
    result = verifier(B_SECRET, ROT_SECRET).verify(headers(sig=B_TAMPERED_SIG), B_BODY)
    assert result.diagnosis is not None
    assert result.diagnosis.expected == (
        f"{B_LABEL} → {B_SIG}",
        f"{ROT_LABEL} → {sign(ROT_SECRET, B_ID, B_TS, B_BODY)}",
    )


# --- tolerance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "tolerance", "reason", "skew"),
    [
        (B_TS + 180, 180, None, None),
        (B_TS - 180, 180, None, None),
        (B_TS + 181, 180, Reason.TIMESTAMP_TOO_OLD, -181),
        (B_TS - 181, 180, Reason.TIMESTAMP_TOO_NEW, 181),
        (B_TS + 180.5, 180, Reason.TIMESTAMP_TOO_OLD, -181),
        (B_TS + 10, 10, None, None),
        (B_TS + 11, 10, Reason.TIMESTAMP_TOO_OLD, -11),
        (B_TS - 11, 10, Reason.TIMESTAMP_TOO_NEW, 11),
        (B_TS + 299, 300, None, None),
        (B_TS, 0, None, None),
        (B_TS + 1, 0, Reason.TIMESTAMP_TOO_OLD, -1),
    ],
)
def test_tolerance_boundaries(
    now: float, tolerance: int, reason: Reason | None, skew: int | None
) -> None:
    result = verifier(now=now, tolerance_seconds=tolerance).verify(headers(), B_BODY)
    assert result.reason is reason
    assert result.ok is (reason is None)
    if skew is not None:
        assert result.diagnosis is not None
        assert result.diagnosis.skew_seconds == skew
        word = "old" if skew < 0 else "in the future"
        assert (
            result.message
            == f"webhook-timestamp is {abs(skew)} s {word}; tolerance is {tolerance} s"
        )


def test_default_tolerance_is_three_minutes() -> None:
    assert Verifier([B_SECRET]).tolerance_seconds == 180
    assert Verifier([B_SECRET]).max_body_bytes == 1024 * 1024


def test_stale_but_genuine_delivery_diagnosis() -> None:
    result = verifier(now=B_TS + 412).verify(headers(), B_BODY)
    assert result.reason is Reason.TIMESTAMP_TOO_OLD
    assert result.matched_secret is None
    assert result.diagnosis is not None
    assert result.diagnosis.expected == (f"{B_LABEL} → {B_SIG}",)
    assert result.diagnosis.received == (B_SIG,)
    assert result.diagnosis.skew_seconds == -412
    assert result.diagnosis.hints == (
        "the delivery was signed 412 s ago: the sender's clock is 412 s behind ours, or the "
        "delivery was delayed or replayed (tolerance is 180 s)",
        f"the signature itself is valid with secret {B_LABEL}: only the time is wrong",
    )


def test_far_future_forged_delivery_diagnosis() -> None:
    result = verifier(now=B_TS - 2 * 86_400).verify(headers(sig=B_TAMPERED_SIG), B_BODY)
    assert result.reason is Reason.TIMESTAMP_TOO_NEW
    assert result.diagnosis is not None
    assert result.diagnosis.skew_seconds == 172_800
    assert result.diagnosis.hints == (
        "the sender's clock is 172800 s ahead of ours (tolerance is 180 s); check that both "
        "clocks are synchronised (NTP)",
        "the skew is more than a day: check the sender's clock, and that webhook-timestamp is "
        "in Unix seconds (not milliseconds or another unit)",
        "the signature does not match any configured secret either",
        WRONG_SECRET_HINT,
    )


STALE_B_HINT = (
    "the delivery was signed 412 s ago: the sender's clock is 412 s behind ours, or the "
    "delivery was delayed or replayed (tolerance is 180 s)"
)
WHOLE_SECRET_HINT = (
    "the sender used the whole secret text (whsec_ included) of secret whsec_…SE= as the "
    "HMAC key; the key must be the base64-decoded bytes of the part after whsec_"
)


def test_stale_delivery_with_the_common_mistake_still_gets_the_base64_hint() -> None:
    # Worked example B with the reference's own "common mistake" signature (the whole
    # secret text as the key), 412 s late: the clock is one problem, the key the other.
    result = verifier(now=B_TS + 412).verify(headers(sig=B_WRONG_KEY_SIG), B_BODY)
    assert result.reason is Reason.TIMESTAMP_TOO_OLD
    assert result.matched_secret is None
    assert result.diagnosis is not None
    assert result.diagnosis.expected == (f"{B_LABEL} → {B_SIG}",)
    assert result.diagnosis.received == (B_WRONG_KEY_SIG,)
    assert result.diagnosis.hints == (
        STALE_B_HINT,
        "the signature does not match any configured secret either",
        WHOLE_SECRET_HINT,
    )
    # The same mistake with a fresh timestamp gives the same key hint.
    fresh = verifier().verify(headers(sig=B_WRONG_KEY_SIG), B_BODY)
    assert fresh.diagnosis is not None
    assert fresh.diagnosis.hints == (WHOLE_SECRET_HINT,)


def test_worked_example_b_posted_today_with_the_common_mistake() -> None:
    # The repro as reported: the example's 2025 timestamp against the real clock.
    result = Verifier([B_SECRET]).verify(headers(sig=B_WRONG_KEY_SIG), B_BODY)
    assert result.reason is Reason.TIMESTAMP_TOO_OLD
    assert result.diagnosis is not None
    assert WHOLE_SECRET_HINT in result.diagnosis.hints
    assert "the signature does not match any configured secret either" in result.diagnosis.hints


def test_stale_delivery_with_a_rotated_secret_names_the_mistake_per_secret() -> None:
    # Two secrets, the sender used the second one's text as the key, and is 999 s late.
    sig = raw_sig(ROT_SECRET.encode(), B_BODY)
    result = verifier(B_SECRET, ROT_SECRET, now=B_TS + 999).verify(headers(sig=sig), B_BODY)
    assert result.reason is Reason.TIMESTAMP_TOO_OLD
    assert result.diagnosis is not None
    assert result.diagnosis.hints[1:] == (
        "the signature does not match any configured secret either",
        f"the sender used the whole secret text (whsec_ included) of secret {ROT_LABEL} as "
        "the HMAC key; the key must be the base64-decoded bytes of the part after whsec_",
    )


def test_stale_delivery_with_a_good_signature_gets_no_signature_hints() -> None:
    # A genuine but late delivery: only the time is off, so no key or body hints.
    result = verifier(B_SECRET, ROT_SECRET, now=B_TS + 412).verify(
        headers(sig=raw_sig(ROT_SECRET[6:].encode(), B_BODY) + " " + B_SIG), B_BODY
    )
    assert result.reason is Reason.TIMESTAMP_TOO_OLD
    assert result.diagnosis is not None
    assert result.diagnosis.hints == (
        STALE_B_HINT,
        f"the signature itself is valid with secret {B_LABEL}: only the time is wrong",
    )


# --- headers, secrets, configuration ------------------------------------------------


def test_header_names_in_any_case() -> None:
    mixed = {"WEBHOOK-ID": B_ID, "Webhook-Timestamp": str(B_TS), "wEbHoOk-SiGnAtUrE": B_SIG}
    assert verifier().verify(mixed, B_BODY).ok


def test_extra_headers_are_ignored_and_the_first_duplicate_wins() -> None:
    sent = {**headers(), "Webhook-Id": "msg_other", "x-forwarded-for": "10.0.0.1"}
    result = verifier().verify(sent, B_BODY)
    assert (result.ok, result.webhook_id) == (True, B_ID)


def test_bytes_header_values_are_read() -> None:
    sent: dict[str, Any] = {k: v.encode() for k, v in headers().items()}
    assert verifier().verify(sent, B_BODY).ok


def test_verifier_accepts_secret_objects_and_shows_only_labels() -> None:
    v = Verifier([Secret(B_SECRET), ROT_SECRET], clock=lambda: B_TS)
    assert v.verify(headers(), B_BODY).ok
    assert v.secret_labels == (B_LABEL, ROT_LABEL)
    assert repr(v) == (
        "Verifier(secrets=['whsec_…SE=', 'whsec_…HM='], tolerance_seconds=180, "
        "max_body_bytes=1048576)"
    )


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not*base64", ""])
def test_verifier_refuses_a_bad_secret_without_echoing_it(bad: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        Verifier([B_SECRET, bad])
    if bad:
        assert bad not in str(caught.value)


def test_verifier_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        Verifier([B_SECRET], tolerance_seconds=-1)


def secret_forms(*secrets: str) -> list[str]:
    """Each secret, its decoded key, and every 8-character piece of its base64 text."""
    forms = []
    for secret in secrets:
        payload = secret.removeprefix("whsec_")
        forms += [secret, base64.b64decode(payload).decode("latin-1")]
        forms += [payload[i : i + 8] for i in range(len(payload) - 7)]
    return forms


def assert_no_secret_in(result: Verification) -> None:
    text = repr(result) + result.message
    if result.diagnosis:
        text += "".join(result.diagnosis.hints + result.diagnosis.expected)
    for form in secret_forms(B_SECRET, ROT_SECRET):
        assert form not in text


def test_no_secret_in_any_verdict() -> None:
    v = verifier(B_SECRET, ROT_SECRET)
    tampered = B_BODY.replace(b"1500", b"1501")
    results = [
        v.verify(headers(), B_BODY),
        v.verify(headers(sig=B_WRONG_KEY_SIG), B_BODY),
        v.verify(headers(sig=raw_sig(ROT_SECRET.encode(), B_BODY)), B_BODY),
        v.verify(headers(sig=raw_sig(ROT_SECRET[6:].encode(), B_BODY)), B_BODY),
        v.verify(headers(), tampered),
        verifier(B_SECRET, ROT_SECRET, now=B_TS + 999).verify(headers(), B_BODY),
        verifier(B_SECRET, ROT_SECRET, now=B_TS - 999).verify(headers(), B_BODY),
    ]
    assert [r.reason for r in results] == [
        None,
        Reason.NO_MATCHING_SIGNATURE,
        Reason.NO_MATCHING_SIGNATURE,
        Reason.NO_MATCHING_SIGNATURE,
        Reason.NO_MATCHING_SIGNATURE,
        Reason.TIMESTAMP_TOO_OLD,
        Reason.TIMESTAMP_TOO_NEW,
    ]
    assert len(results[2].diagnosis.hints if results[2].diagnosis else ()) == 1
    for result in results:
        assert_no_secret_in(result)
    assert all(form not in repr(v) for form in secret_forms(B_SECRET, ROT_SECRET))


def test_the_leak_check_would_catch_a_leak() -> None:
    leaky = Verification(ok=False, reason=None, message=f"key {B_SECRET[6:20]}…", status=401)
    with pytest.raises(AssertionError):
        assert_no_secret_in(leaky)


# --- fuzzing ------------------------------------------------------------------------

NAMES = ["webhook-id", "webhook-timestamp", "webhook-signature"]
header_value = st.one_of(
    st.none(),  # header missing
    st.text(),
    st.text(alphabet="0123456789.- e", max_size=14),
    st.sampled_from([B_ID, str(B_TS), B_SIG, "", " ", "v1,", ","]),
)


@st.composite
def random_headers(draw: st.DrawFn) -> dict[str, str]:
    result: dict[str, str] = {}
    for name in NAMES:
        value = draw(header_value)
        if value is not None:
            spelled = draw(st.sampled_from([name, name.upper(), name.title()]))
            result[spelled] = value
    result.update(draw(st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3)))
    return result


def assert_well_formed(result: Verification) -> None:
    assert isinstance(result, Verification)
    assert result.status in STATUSES
    assert isinstance(result.message, str)
    assert result.message
    if result.ok:
        assert (result.reason, result.status, result.diagnosis) == (None, 200, None)
        assert result.matched_secret is not None
    else:
        assert isinstance(result.reason, Reason)
        assert result.status == STATUS[result.reason]
        has_diagnosis = result.reason in {
            Reason.NO_MATCHING_SIGNATURE,
            Reason.TIMESTAMP_TOO_OLD,
            Reason.TIMESTAMP_TOO_NEW,
        }
        assert (result.diagnosis is not None) is has_diagnosis
    result.message.encode("utf-8")  # printable to any UTF-8 terminal: no lone surrogates
    if result.diagnosis:
        "".join(result.diagnosis.hints + result.diagnosis.received).encode("utf-8")
        result.diagnosis.signed_content_prefix.encode("utf-8")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sent=random_headers(), body=st.binary(max_size=2000))
def test_fuzz_arbitrary_deliveries_never_raise(sent: dict[str, str], body: bytes) -> None:
    result = verifier(B_SECRET, ROT_SECRET).verify(sent, body)
    assert_well_formed(result)
    assert not result.ok


@settings(max_examples=400, deadline=None)
@given(
    part=st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "body"]),
    replacement=st.one_of(st.text(max_size=60), st.text(alphabet="0123456789", max_size=13)),
)
def test_fuzz_one_changed_part_of_a_good_delivery(part: str, replacement: str) -> None:
    sent, body = headers(), B_BODY
    if part == "body":
        body = replacement.encode("utf-8", "surrogatepass")
        unchanged = body == B_BODY
    else:
        unchanged = sent[part] == replacement
        sent[part] = replacement
    result = verifier().verify(sent, body)
    assert_well_formed(result)
    assert result.ok is unchanged


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def event_like(draw: st.DrawFn) -> bytes:
    data = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.text(max_size=5), json_values),
                "amount": st.one_of(st.integers(), json_values),
                "currency": st.one_of(st.just("ZAR"), json_values),
                "metadata": json_values,
                "created_at": st.one_of(st.just("2025-06-18T08:45:00Z"), json_values),
            },
        )
    )
    envelope = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.just("evt_1"), json_values),
                "type": st.one_of(st.just("obligation.amount_applied"), json_values),
                "data": st.one_of(st.just(data), json_values),
            },
        )
    )
    return json.dumps(draw(st.one_of(st.just(envelope), json_values))).encode()


@settings(max_examples=400, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), event_like()))
def test_fuzz_signed_bodies_reach_the_event_parser_safely(body: bytes) -> None:
    v = verifier()
    assert v.check_signature(delivered(body), body).ok
    result = v.verify(delivered(body), body)
    assert_well_formed(result)
    assert result.reason in {None, Reason.BODY_NOT_JSON, Reason.NOT_AN_EVENT}
    if result.ok:
        assert result.event is not None
        assert (result.amount_applied is not None) == (
            result.event.type == "obligation.amount_applied"
        )


signature_tokens = st.sampled_from(
    [",", " ", "v1", "v2", "v1a", "=", "==", "+", "/", "A", "Qa3e", "é", "\x00", "\u2028",
     "\t", "v1,", B_SIG, B_TAMPERED_SIG, B_SIG[3:], "ＡＢＣＤ"]
)  # fmt: skip
signature_text = st.one_of(
    st.lists(signature_tokens, max_size=12).map("".join),
    st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(",v1 =+/"), max_size=80),
)


@settings(max_examples=600, deadline=None)
@given(value=signature_text)
def test_fuzz_signature_header_parser(value: str) -> None:
    parsed = parse_signature_header(value)
    assert (parsed.problem is None) == bool(parsed.v1)
    entries = value.split(" ")
    for text, raw in parsed.v1:
        assert f"v1,{text}" in entries
        assert raw
        assert base64.b64decode(text, validate=True) == raw
    result = verifier().verify(headers(sig=value), B_BODY)
    assert_well_formed(result)
    expected_ok = B_SIG in entries
    assert result.ok is expected_ok
    if not value:
        assert result.reason is Reason.MISSING_HEADER
    elif not expected_ok:
        assert result.reason in {Reason.MALFORMED_SIGNATURE, Reason.NO_MATCHING_SIGNATURE}
        assert (result.reason is Reason.MALFORMED_SIGNATURE) is (parsed.problem is not None)


# --- against the reference implementation ---------------------------------------------------

_SECRETS = [new_webhook_secret() for _ in range(3)]


@given(
    body=st.binary(max_size=200).map(lambda raw: raw.decode("latin-1").encode("utf-8")),
    msg_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=40),
    skew=st.integers(min_value=-170, max_value=170),
    signers=st.lists(st.sampled_from(range(3)), min_size=1, max_size=3),
    trusted=st.lists(st.sampled_from(range(3)), min_size=1, max_size=2, unique=True),
    tamper=st.booleans(),
    fallback=st.booleans(),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_signatures_are_judged_as_the_standardwebhooks_package_judges_them(
    body: bytes,
    msg_id: str,
    skew: int,
    signers: list[int],
    trusted: list[int],
    tamper: bool,
    fallback: bool,
) -> None:
    """Our verifier explains its verdicts; on every well-formed delivery within both
    tolerances it must agree with the reference library's Webhook.verify, whether the
    signature is computed by the package (these bodies and timestamps allow it) or,
    forced, by the byte-exact fallback."""
    timestamp = int(time.time()) + skew
    headers = signed_headers([_SECRETS[i] for i in signers], msg_id, body, timestamp=timestamp)
    sent = body + b"!" if tamper else body
    check = Verifier([_SECRETS[i] for i in trusted]).check_signature
    if fallback:
        with mock.patch.object(verify, "library_input", return_value=None):
            ours = check(headers, sent).ok
    else:
        ours = check(headers, sent).ok
    theirs = any(_package_accepts(_SECRETS[i], headers, sent) for i in trusted)
    assert ours == theirs
    assert ours == (not tamper and bool(set(signers) & set(trusted)))


def _package_accepts(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_secrets_that_mask_alike_get_labels_that_tell_them_apart() -> None:
    # Two keys ending in the same two bytes: their masked forms would be identical.
    first = "whsec_" + base64.b64encode(b"\x01" * 30 + b"\xab\xcd").decode()
    second = "whsec_" + base64.b64encode(b"\x02" * 30 + b"\xab\xcd").decode()
    assert mask(first) == mask(second)
    both = verifier(first, second)
    assert both.secret_labels == (f"{mask(first)} (#1)", f"{mask(second)} (#2)")
    result = both.verify(delivered(B_BODY, second), B_BODY)
    assert (result.ok, result.matched_secret) == (True, 1)
    assert result.message == f"verified with secret {mask(second)} (#2)"
    # Secrets that already look different keep their plain labels.
    assert verifier(B_SECRET, ROT_SECRET).secret_labels == (B_LABEL, ROT_LABEL)
