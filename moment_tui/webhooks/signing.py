"""Standard Webhooks signatures, as Moment sends them (reference §15.3, §16).

``signed_content = webhook_id + "." + webhook_timestamp + "." + raw_body``, keyed with
the secret's base64 payload (``whsec_`` stripped, then decoded), HMAC-SHA256, standard
padded base64, labelled ``v1``.

:func:`sign` goes through :class:`standardwebhooks.Webhook`, so what we send is what
the reference library produces. The library works on ``str`` bodies and a
:class:`~datetime.datetime`; where it cannot (a body that is not UTF-8, a timestamp
``datetime`` cannot represent) the same HMAC is computed here over the raw bytes, so
signing never fails for those. :func:`mac` is that byte-exact computation.

The verifier checks signatures with the library too (:func:`library_input`,
:func:`library_mac`), but only where the library signs exactly the bytes received: a
UTF-8 body and a timestamp header in canonical decimal form (``0123`` would be signed
as ``123``). Anywhere else it falls back to :func:`mac` over the header text and raw
body as received.

Secrets are decoded by :func:`decode_secret` only (one rule for signing and verifying);
the library is handed the decoded key bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from secrets import choice, token_bytes
from typing import Final

from standardwebhooks import Webhook

# Re-exported: the decoding rule lives with the secret's other checks.
from moment_tui.secrets import SECRET_PREFIX as SECRET_PREFIX
from moment_tui.secrets import SecretFormatError
from moment_tui.secrets import decode_secret as decode_secret

SIGNATURE_VERSION: Final = "v1"
CONTENT_TYPE: Final = "application/json"
HEADER_ID: Final = "webhook-id"
HEADER_TIMESTAMP: Final = "webhook-timestamp"
HEADER_SIGNATURE: Final = "webhook-signature"

_BASE62: Final = string.digits + string.ascii_letters
_MESSAGE_ID_LENGTH: Final = 27
_SECRET_BYTES: Final = 32


def mac(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    """HMAC-SHA256 of ``msg_id.timestamp.body``: the header texts and the raw body."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode(), hashlib.sha256)
    digest.update(body)
    return digest.digest()


def format_signature(raw: bytes) -> str:
    """32 MAC bytes → ``v1,<base64>``."""
    return f"{SIGNATURE_VERSION},{base64.b64encode(raw).decode('ascii')}"


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery with one secret.

    Computed by ``standardwebhooks.Webhook(key).sign(...)``; a body that is not UTF-8
    (or a timestamp outside ``datetime``'s range) is signed over the raw bytes here
    instead, with the identical algorithm. Raises ``SecretFormatError`` for a bad
    secret, and ``UnicodeEncodeError`` only for an id that has no UTF-8 form.
    """
    key = decode_secret(secret)
    prepared = library_input(str(timestamp), body)
    if prepared is None:
        return format_signature(mac(key, msg_id, str(timestamp), body))
    signature: str = Webhook(key).sign(msg_id, *prepared)
    return signature


def library_input(timestamp: str, body: bytes) -> tuple[datetime, str] | None:
    """The timestamp and body as :meth:`Webhook.sign` takes them, or None.

    None unless the library would sign exactly ``timestamp`` (the header text) and
    ``body`` (the raw bytes): it signs ``str(floor(when.timestamp()))`` and
    ``data.encode()``, so ``timestamp`` must be the canonical decimal form of a time
    ``datetime`` can represent, and ``body`` valid UTF-8. Never raises.
    """
    try:
        seconds = int(timestamp)
    except ValueError:
        return None
    if str(seconds) != timestamp:  # "0123", "+5", " 5", "1_0", non-ASCII digits
        return None
    try:
        when = datetime.fromtimestamp(seconds, UTC)
        text = body.decode("utf-8")
    except (UnicodeDecodeError, OverflowError, ValueError, OSError):
        return None
    return when, text


def library_mac(webhook: Webhook, msg_id: str, when: datetime, text: str) -> bytes:
    """The 32 MAC bytes of ``webhook.sign(msg_id, when, text)`` (its ``v1,`` decoded)."""
    signature: str = webhook.sign(msg_id, when, text)
    return base64.b64decode(signature.removeprefix(f"{SIGNATURE_VERSION},"))


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1`` entry per secret, space-separated.

    Several secrets is how a key rotation overlaps. No secret at all is an error
    (``SecretFormatError``): an unsigned delivery is never what the caller meant.
    """
    if isinstance(secrets, str):  # a lone string would be signed character by character
        secrets = [secrets]
    if not secrets:
        raise SecretFormatError("no webhook signing secret to sign with")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def signed_headers(
    secrets: Sequence[str], msg_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """All headers of a delivery of ``body``; ``timestamp`` defaults to now."""
    when = int(time.time()) if timestamp is None else timestamp
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(when),
        HEADER_SIGNATURE: signature_header(secrets, msg_id, when, body),
        "content-type": CONTENT_TYPE,
    }


def new_message_id() -> str:
    """``msg_`` + 27 random base62 characters (about 160 bits)."""
    return "msg_" + "".join(choice(_BASE62) for _ in range(_MESSAGE_ID_LENGTH))


def new_webhook_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes, the Standard Webhooks format."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(_SECRET_BYTES)).decode("ascii")
