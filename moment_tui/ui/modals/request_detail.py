"""Everything about one API call: what was sent, what came back, and the curl that
repeats it.

The client scrubbed its API key out of every body and query it logged; all the same,
every text shown or copied from here passes through :func:`hide_secrets` first, so a
key or signing secret that reached a record some other way (a key typed as a
reference, another key a server echoed) is masked too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http
import json
import re
import urllib.parse
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from moment_tui.api.curl import record_curl
from moment_tui.api.kinds import COLLECTION
from moment_tui.secrets import mask
from moment_tui.ui.modals.copy import KEY_LABEL, CopyMenu
from moment_tui.ui.present import Hanging
from moment_tui.ui.privacy import mask_json

if TYPE_CHECKING:
    from moment_tui.api.client import RequestRecord

# An API key (sk_test_…, sk_live_…, sk_…) or a webhook signing secret (whsec_…) with
# more of it than a masked label shows. A bare sk_ only where a word starts: "desk_4200"
# or "risk_score" is no key.
SECRET_LIKE: Final = re.compile(
    r"sk_(?:test|live)_[A-Za-z0-9]{4,}"
    r"|whsec_[A-Za-z0-9+/=]{4,}"
    r"|(?<![A-Za-z0-9])sk_(?!(?:test|live)_)[A-Za-z0-9]{4,}"
)
# What a terminal would act on rather than draw (escape sequences start with ESC).
CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
REPLAYED: Final = "yes: Moment answered as it did the first call with this key"


def hide_secrets(text: str) -> str:
    """``text`` with every key- or secret-like run masked (``sk_test_…7dc``)."""
    return SECRET_LIKE.sub(lambda m: mask(m.group()), text)


def shown(text: str) -> str:
    """``text`` as it may be drawn: secrets masked, control characters replaced."""
    return CONTROL.sub("\N{REPLACEMENT CHARACTER}", hide_secrets(text.expandtabs(4)))


def target(record: RequestRecord) -> str:
    """The path and its query string, as sent."""
    if not record.params:
        return record.path
    return f"{record.path}?{urllib.parse.urlencode(record.params)}"


def utc(record: RequestRecord) -> dt.datetime:
    """When the call was made, in UTC (the client records it so; a naive time is taken
    to be UTC already)."""
    return record.at.astimezone(dt.UTC) if record.at.tzinfo else record.at


def body_text(body: Any) -> str:
    """A logged body as indented JSON, or its text (a body that was not JSON, or was cut)."""
    if isinstance(body, str):
        return body
    return json.dumps(body, indent=2, ensure_ascii=False)


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def status_line(record: RequestRecord) -> str:
    """``404 Not Found — no such customer``, or why no answer came."""
    if record.status is None:
        return f"no answer: {record.error or 'unknown'}"
    text = f"{record.status} {reason(record.status)}".rstrip()
    if record.problem:
        text += f" — {record.problem}"
    return text


def describe(record: RequestRecord, base_url: str) -> str:
    """The modal's text, secrets masked: plain lines that read the same on any terminal."""
    r = record
    at = utc(r).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    lines = [
        f"{r.method} {target(r)}",
        "",
        f"URL          {base_url.rstrip('/')}{target(r)}",
        f"Status       {status_line(r)}",
        f"Time         {at} UTC",
        f"Latency      {r.latency_ms:.0f} ms",
        f"Attempt      {r.attempt}",
        f"Idempotency  {r.idempotency_key or '—'}",
        f"Replayed     {REPLAYED if r.replayed else 'no'}",
    ]
    for title, body in (("Request body", r.request_body), ("Response body", r.response_body)):
        lines += ["", title]
        text = "(none)" if body is None else body_text(body)
        lines += [f"  {line}" for line in text.split("\n")]
    lines += ["", f"curl (the key as {KEY_LABEL})"]
    lines += [f"  {line}" for line in record_curl(r, base_url, KEY_LABEL).split("\n")]
    return shown("\n".join(lines))


def about_customers(record: RequestRecord) -> bool:
    """A call under ``/billing/customers`` (a customer's create, update or get, or their
    listing): what it sends and gets back is a customer at its top level, even a body
    that holds nothing that says so (``{"name": "…"}``)."""
    base = COLLECTION["customer"]
    return record.path == base or record.path.startswith(f"{base}/")


def masked_record(record: RequestRecord, *, bodies: bool = True) -> RequestRecord:
    """The record with names, emails and phones masked in its query, its problem and
    (unless ``bodies`` is False: a list row draws neither) its bodies."""
    customer = about_customers(record)
    masked = dataclasses.replace(
        record,
        params=mask_json(record.params, customer=customer),
        problem=mask_json(record.problem, customer=customer),
    )
    if not bodies:
        return masked
    return dataclasses.replace(
        masked,
        request_body=mask_json(record.request_body, customer=customer),
        response_body=mask_json(record.response_body, customer=customer),
    )


def copy_choices(record: RequestRecord, base_url: str) -> list[tuple[str, str]]:
    """What ``c`` offers for a request (first letters differ: each is its own key)."""
    choices = [("curl", record_curl(record, base_url, KEY_LABEL))]
    for label, body in (
        ("Body sent", record.request_body),
        ("Response body", record.response_body),
    ):
        if body is not None:  # a text body (not JSON, or cut) is copied as it is
            choices.append((label if isinstance(body, str) else f"{label} (JSON)", body_text(body)))
    choices.append(("Path and query", target(record)))
    return [(label, hide_secrets(text)) for label, text in choices]


def copy_menu(record: RequestRecord, base_url: str, *, masked: bool = False) -> CopyMenu:
    """What ``c`` offers: the call as it was made (its title masked when ``masked``)."""
    drawn = masked_record(record, bodies=False) if masked else record
    what = shown(f"{drawn.method} {target(drawn)}")
    return CopyMenu(what, copy_choices(record, base_url), preview=not masked)


class RequestDetail(ModalScreen[None]):
    """One request, whole: Escape closes, ``c`` copies."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", key_display="Esc"),
        Binding("enter", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
        Binding("c", "copy", "Copy"),
    ]

    def __init__(self, record: RequestRecord, base_url: str, *, masked: bool = False) -> None:
        super().__init__()
        self.record = record
        self.base_url = base_url
        self.masked = masked
        # Ctrl+N: personal data in the bodies (and their curl) drawn masked; `c` copies
        # the call as it was made.
        self.text = describe(masked_record(record) if masked else record, base_url)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="request-detail"):
            yield Static(Hanging(self.text), markup=False)
        yield Footer()

    def action_copy(self) -> None:
        self.app.push_screen(copy_menu(self.record, self.base_url, masked=self.masked))
