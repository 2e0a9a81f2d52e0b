"""The request log: every HTTP attempt the client made, for the console's Requests view.

Plain dataclasses, no httpx or pydantic: the console creates its log before the first
paint, long before the client (``api.client`` re-exports both names).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt, as the request log keeps it.

    Every text taken from the exchange (query values, bodies, problem) has been through
    the client's key scrubber, so a record can be shown, copied or dumped as it is.
    ``params``, ``request_body`` and ``response_body`` take no part in the hash (they
    may be dicts): records stay hashable.
    """

    at: dt.datetime
    method: str
    path: str
    status: int | None
    latency_ms: float
    attempt: int
    idempotency_key: str | None = None
    replayed: bool = False
    error: str | None = None  # why no answer came (timeout, transport); None if one did
    params: dict[str, str] = field(default_factory=dict, hash=False)  # the query string
    request_body: Any = field(default=None, hash=False)  # the JSON sent, as a Python value
    # The decoded JSON answer, else its text; None when empty. Over BODY_LIMIT bytes it is
    # text cut to BODY_LIMIT bytes plus "… (cut: N bytes in all)".
    response_body: Any = field(default=None, hash=False)
    problem: str | None = None  # a non-2xx answer's problem ``detail``, else its ``title``


class RequestLog:
    """In-memory, bounded record of every attempt the client made (newest last).

    Subscribers hear of each record as it is added, so a view can follow the log without
    polling it.
    """

    def __init__(self, maxlen: int = 1000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._subscribers: list[Callable[[RequestRecord], object]] = []

    def add(self, record: RequestRecord) -> None:
        self._records.append(record)
        # A copy: a subscriber may unsubscribe (itself or another) while being told.
        for callback in tuple(self._subscribers):
            # A failing view must not fail the request that was being logged.
            with contextlib.suppress(Exception):
                callback(record)

    def subscribe(self, callback: Callable[[RequestRecord], object]) -> Callable[[], None]:
        """Call ``callback`` with every record added from now on; returns the function
        that stops it (calling that more than once is harmless)."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(tuple(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def latest(self, count: int) -> list[RequestRecord]:
        return list(self._records)[-count:]
