"""curl_command: the shape of the command, its quoting, and that no key gets into it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import subprocess

import pytest

from moment_tui.api.client import RequestRecord
from moment_tui.api.curl import curl_command, record_curl

BASE = "https://api.test/"
LABEL = "sk_test_…7dc"


def args(command: str) -> list[str]:
    """The arguments a shell would give curl (shlex reads no backslash-newline)."""
    return shlex.split(command.replace("\\\n", ""))


def shell_args(command: str, env: dict[str, str] | None = None) -> list[str]:
    """The arguments a real ``sh`` gives curl: a stand-in ``curl`` prints each one."""
    stub = 'curl() { for a in "$@"; do printf \'%s\\0\' "$a"; done; }\n'
    done = subprocess.run(
        ["sh", "-c", stub + command], capture_output=True, check=True, env=env, timeout=10
    )
    return ["curl", *done.stdout.decode().split("\0")[:-1]]


def test_get_with_params() -> None:
    command = curl_command(
        "get", BASE, "/billing/customers", params={"limit": "2", "name": "a b&c"}, key_label=LABEL
    )
    assert command == (
        "curl 'https://api.test/billing/customers?limit=2&name=a+b%26c' \\\n"
        "  -H 'Authorization: Bearer sk_test_…7dc' \\\n"
        "  -H 'Accept: application/json'"
    )


def test_post_with_body_and_idempotency_key() -> None:
    command = curl_command(
        "POST",
        BASE,
        "/billing/customers",
        body={"external_reference": "UCR1", "name": "Thandi Ndlovu"},
        idempotency_key="3f0c6a9e-5b1d-4c1e-9f6a-0d2b8e7c4a11",
        key_label="$MOMENT_API_KEY",
    )
    assert command == (
        "curl -X POST https://api.test/billing/customers \\\n"
        '  -H "Authorization: Bearer $MOMENT_API_KEY" \\\n'
        "  -H 'Accept: application/json' \\\n"
        "  -H 'Idempotency-Key: 3f0c6a9e-5b1d-4c1e-9f6a-0d2b8e7c4a11' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        """  --data '{"external_reference":"UCR1","name":"Thandi Ndlovu"}'"""
    )
    # The one expansion is the key variable's, and the shell makes it.
    env = {"PATH": "/usr/bin:/bin", "MOMENT_API_KEY": "sk_test_from_env"}
    assert shell_args(command, env)[5] == "Authorization: Bearer sk_test_from_env"


def test_patch() -> None:
    command = curl_command(
        "PATCH", BASE, "/billing/bills/UBR1", body={"amount_due": 1500}, key_label=LABEL
    )
    assert args(command) == [
        "curl",
        "-X",
        "PATCH",
        "https://api.test/billing/bills/UBR1",
        "-H",
        "Authorization: Bearer sk_test_…7dc",
        "-H",
        "Accept: application/json",
        "-H",
        "Content-Type: application/json",
        "--data",
        '{"amount_due":1500}',
    ]
    assert "Idempotency-Key" not in command


HOSTILE = 'O\'Brien $(touch /tmp/pwned) `id` "q" \\ ; rm -rf ~\nsecond line'


def test_hostile_values_come_back_exactly() -> None:
    body = {"name": HOSTILE, "note": "it's"}
    command = curl_command(
        "POST",
        BASE,
        "/billing/customers",
        params={"q": HOSTILE},
        body=body,
        idempotency_key=f"k'{HOSTILE}",
        key_label=LABEL,
    )
    expected = [
        "curl",
        "-X",
        "POST",
        "https://api.test/billing/customers?q=O%27Brien+%24%28touch+%2Ftmp%2Fpwned%29+%60id%60"
        "+%22q%22+%5C+%3B+rm+-rf+~%0Asecond+line",
        "-H",
        "Authorization: Bearer sk_test_…7dc",
        "-H",
        "Accept: application/json",
        "-H",
        f"Idempotency-Key: k'{HOSTILE}",
        "-H",
        "Content-Type: application/json",
        "--data",
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
    ]
    assert args(command) == expected
    assert shell_args(command) == expected


@pytest.mark.parametrize("label", [LABEL, "$MOMENT_API_KEY", "${MOMENT_API_KEY}", "<your key>"])
def test_the_label_is_the_only_key_like_text(label: str) -> None:
    command = curl_command(
        "POST", BASE, "/billing/customers", body={"external_reference": "UCR1"}, key_label=label
    )
    assert command.count(label) == 1
    assert [a for a in args(command) if a.startswith("Authorization")] == [
        f"Authorization: Bearer {label}"
    ]
    assert command.count("Bearer") == 1
    assert re.findall(r"[sp]k_[^\s'\"]*", command) == ([label] if label.startswith("sk_") else [])


def test_a_label_that_only_looks_like_a_variable_is_quoted() -> None:
    command = curl_command("GET", BASE, "/x", key_label="$(id)")
    assert "'Authorization: Bearer $(id)'" in command
    assert shell_args(command)[3] == "Authorization: Bearer $(id)"


def test_record_curl() -> None:
    record = RequestRecord(
        at=dt.datetime.now(dt.UTC),
        method="POST",
        path="/billing/bills/UBR1/void",
        status=200,
        latency_ms=3.0,
        attempt=1,
        idempotency_key="void-1",
        params={"expand": "account"},
        request_body={"reason": "duplicate"},
    )
    assert record_curl(record, BASE, LABEL) == curl_command(
        "POST",
        BASE,
        "/billing/bills/UBR1/void",
        params={"expand": "account"},
        body={"reason": "duplicate"},
        idempotency_key="void-1",
        key_label=LABEL,
    )
