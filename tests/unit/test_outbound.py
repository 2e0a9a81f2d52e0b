"""Sending a signed delivery never raises: every failure is a result with a reason."""

from __future__ import annotations

import httpx
import pytest

from moment_tui.webhooks.outbound import send, tampered

SECRET = "whsec_bW9tZW50LXNhbmRib3gtd2ViaG9vay1rZXktMDAwMSE="


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:99999/hooks", "OverflowError: connect(): port must be 0-65535"),
        ("http://127.0.0.1:abc/hooks", "InvalidURL: Invalid port"),
    ],
)
async def test_an_unusable_address_is_a_result_not_a_traceback(url: str, expected: str) -> None:
    async with httpx.AsyncClient() as http:
        result = await send(http, url, b"{}", [SECRET], "msg_1")
    assert result.status is None
    assert not result.accepted
    assert result.error is not None
    assert result.error.startswith(expected)
    assert SECRET not in result.error


def test_tampering_changes_the_amount_by_one() -> None:
    assert tampered(b'{"data":{"amount":1500,"currency":"ZAR"}}') == (
        b'{"data":{"amount":1501,"currency":"ZAR"}}'
    )
    assert tampered(b"{}") == b"{} "
