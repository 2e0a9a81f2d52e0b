"""``listen``'s own output, and ``--forward-to``: a real listener in a subprocess
re-posting verified events to a real local handler."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from moment_tui.webhooks.outbound import amount_applied_event, tampered
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret, signed_headers
from moment_tui.webhooks.verify import Verifier

from .pipeline_helpers import ListenProcess, cli_env, listen_process, raw_post

SECRET = new_webhook_secret()
OTHER = new_webhook_secret()  # a second secret, as during a rotation
CLOCK = r"\d\d:\d\d:\d\d"


class Handler:
    """A webhook handler on loopback that keeps what it is sent and answers 418."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.changed = threading.Condition()
        outer = self

        class _Handle(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.changed:
                    outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    outer.changed.notify_all()
                answer = b"teapot says hi"
                self.send_response(418)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handle)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def handler() -> Iterator[Handler]:
    running = Handler()
    yield running
    running.close()


def _listener(root: Path, *args: str) -> Iterator[ListenProcess]:
    secrets = ["--secret", OTHER, "--secret", SECRET]
    return listen_process(["--port", "0", *secrets, *args], cli_env(root))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, handler: Handler) -> Iterator[ListenProcess]:
    yield from _listener(tmp_path_factory.mktemp("plain"), "--forward-to", handler.url)


@pytest.fixture(scope="module")
def as_json(tmp_path_factory: pytest.TempPathFactory, handler: Handler) -> Iterator[ListenProcess]:
    yield from _listener(tmp_path_factory.mktemp("json"), "--forward-to", handler.url, "--json")


def deliver(url: str, body: bytes, *, webhook_id: str | None = None, forge: bool = False) -> int:
    webhook_id = webhook_id or new_message_id()
    headers = signed_headers([SECRET], webhook_id, body)
    status, _, _ = raw_post(url, list(headers.items()), tampered(body) if forge else body)
    return status


def test_a_verified_event_is_forwarded_signed_afresh_and_the_answer_printed(
    plain: ListenProcess, handler: Handler
) -> None:
    body = amount_applied_event(2000, "ZAR", customer_id="bcus_f1", bill_id="bill_fwd1")
    webhook_id = new_message_id()
    assert deliver(plain.url, body, webhook_id=webhook_id) == 200
    line = plain.wait_line(lambda text: "bill bill_fwd1" in text)
    assert re.fullmatch(
        rf"{CLOCK}  verified   obligation\.amount_applied   bill bill_fwd1  R 20\.00", line
    ), line
    index = plain.stdout.index(line)
    forwarded = plain.wait_line(lambda text: plain.stdout.index(text) > index)
    assert forwarded == "    → forwarded: 418 teapot says hi"
    with handler.changed:
        handler.changed.wait_for(
            lambda: any(h.get("webhook-id") == webhook_id for h, _ in handler.received), 10
        )
        [(headers, sent)] = [(h, b) for h, b in handler.received if h["webhook-id"] == webhook_id]
    assert sent == body  # the exact bytes
    # Signed with the secret that verified it (the second one given), and only with it.
    assert Verifier([SECRET]).verify(headers, sent).ok
    assert not Verifier([OTHER]).verify(headers, sent).ok
    assert headers["webhook-signature"].count("v1,") == 1


def test_rejected_and_duplicate_deliveries_are_printed_not_forwarded(
    plain: ListenProcess, handler: Handler
) -> None:
    body = amount_applied_event(150, "ZAR", bill_id="bill_fwd2")
    with handler.changed:
        before = len(handler.received)
    forged_id, twice_id = new_message_id(), new_message_id()
    assert deliver(plain.url, body, webhook_id=forged_id, forge=True) == 401
    assert deliver(plain.url, body, webhook_id=twice_id) == 200
    assert deliver(plain.url, body, webhook_id=twice_id) == 200
    rejected = plain.wait_line(lambda text: "[401 no_matching_signature]" in text)
    assert re.fullmatch(
        rf"{CLOCK}  rejected   - {{25}}  -  \[401 no_matching_signature\] no v1 signature in "
        r"webhook-signature matches the 2 configured secrets",
        rejected,
    ), rejected
    duplicate = plain.wait_line(lambda text: "duplicate" in text and "bill_fwd2" in text)
    assert re.fullmatch(
        rf"{CLOCK}  duplicate  obligation\.amount_applied   bill bill_fwd2  R 1\.50  "
        r"\(already received at .+ \(#\d+\); acknowledged, not applied again\)",
        duplicate,
    ), duplicate
    # The verified copy's forward line comes; only that one copy reached the handler.
    plain.wait_line(lambda text: text.startswith("    → forwarded: 418"))
    with handler.changed:
        handler.changed.wait_for(lambda: len(handler.received) > before, 10)
        ids = [h["webhook-id"] for h, _ in handler.received[before:]]
    assert forged_id not in ids
    assert ids.count(twice_id) == 1


def test_json_lines_carry_the_handlers_answer(as_json: ListenProcess) -> None:
    body = amount_applied_event(999, "ZAR", account_id="bacc_fwd3")
    webhook_id = new_message_id()
    assert deliver(as_json.url, body, webhook_id=webhook_id) == 200
    [line] = as_json.json_lines(webhook_id, 1)
    assert (line["verdict"], line["reason"], line["status"]) == ("verified", None, 200)
    assert (line["amount"], line["currency"], line["account_id"]) == (999, "ZAR", "bacc_fwd3")
    forward = line["forward"]
    assert (forward["status"], forward["accepted"], forward["response"]) == (
        418,
        False,
        "teapot says hi",
    )
    assert forward["webhook_id"] == webhook_id
    assert SECRET.removeprefix("whsec_") not in json.dumps(line)


def test_the_body_limit_comes_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("webhook_max_body = 2048\n")
    env = cli_env(tmp_path, MOMENT_CONFIG=str(config))
    process = listen_process(["--port", "0", "--secret", SECRET, "--json"], env)
    listener = next(process)
    try:
        small = amount_applied_event(100, "ZAR", bill_id="bill_small")
        padded = amount_applied_event(100, "ZAR", bill_id="bill_big", metadata={"p": "x" * 2100})
        assert len(small) <= 2048 < len(padded)
        assert deliver(listener.url, small) == 200
        webhook_id = new_message_id()
        assert deliver(listener.url, padded, webhook_id=webhook_id) == 413
        [line] = listener.json_lines(webhook_id, 1)
        assert (line["verdict"], line["reason"]) == ("rejected", "body_too_large")
        assert line["message"] == f"the body is {len(padded)} bytes; the limit is 2048 bytes"
    finally:
        process.close()  # the generator's own clean-up stops the listener
