"""The curl command that repeats a request, for pasting into a shell.

The console offers it beside each logged request so a call can be retried, shared or
reported without the console. It never sees the API key: the caller passes a label for
it (a masked key such as ``sk_test_…7dc``, or a shell variable such as
``$MOMENT_API_KEY``), so a command copied to a ticket or a chat cannot leak the key.

Every argument is quoted with :func:`shlex.quote`, so a value holding ``'``, ``$(…)`` or
a newline reaches curl as it is and the shell runs nothing of it. The one exception is a
label that is exactly a shell variable reference: it is put in double quotes so that the
shell substitutes the key, which is the point of passing one.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from moment_tui.api.client import RequestRecord

# ``$NAME`` or ``${NAME}``: nothing the shell would do inside double quotes but substitute.
SHELL_VARIABLE: Final = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")
# What a path may hold unencoded (RFC 3986 pchar and "/"); "%" too: it is already encoded.
PATH_SAFE: Final = "/%:@!$&'()*+,;=-._~"


def curl_command(
    method: str,
    base_url: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
    idempotency_key: str | None = None,
    key_label: str,
) -> str:
    """A POSIX-shell curl command sending what the client sends, one option a line.

    The body goes as compact JSON, as the client (httpx) writes it; ``-X`` is left out
    for GET, curl's default, and HEAD is ``--head`` (``-X HEAD`` makes curl wait for a
    body that never comes).
    """
    method = method.upper()
    url = base_url.rstrip("/") + urllib.parse.quote(path, safe=PATH_SAFE)
    if params:
        url += "?" + urllib.parse.urlencode(params)
    first = ["curl"]
    if method == "HEAD":
        first.append("--head")
    elif method != "GET":
        first += ["-X", shlex.quote(method)]
    first.append(shlex.quote(url))
    lines = [" ".join(first)]
    lines.append(f"-H {_authorization(key_label)}")
    lines.append(f"-H {shlex.quote('Accept: application/json')}")
    if idempotency_key is not None:
        lines.append(f"-H {shlex.quote(f'Idempotency-Key: {idempotency_key}')}")
    if body is not None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        lines.append(f"-H {shlex.quote('Content-Type: application/json')}")
        # Never starts with "@" (which --data reads as a file name): JSON cannot.
        lines.append(f"--data {shlex.quote(data)}")
    return " \\\n  ".join(lines)


def record_curl(record: RequestRecord, base_url: str, key_label: str) -> str:
    """:func:`curl_command` for a logged request (its query, body and idempotency key)."""
    return curl_command(
        record.method,
        base_url,
        record.path,
        params=record.params,
        body=record.request_body,
        idempotency_key=record.idempotency_key,
        key_label=key_label,
    )


def _authorization(key_label: str) -> str:
    header = f"Authorization: Bearer {key_label}"
    if SHELL_VARIABLE.fullmatch(key_label):
        return f'"{header}"'  # the header text is otherwise plain: nothing else expands
    return shlex.quote(header)
