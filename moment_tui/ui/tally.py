"""The Webhooks panel's counts: the event log's books, kept current in memory.

At start the books are read once, in a worker (:func:`moment_tui.store.eventlog.read_books`);
every delivery and application the runtime reports afterwards is counted as it
arrives (no database query per delivery). A report may overtake the books or follow
them, and may or may not be in them already, so each is counted once exactly:

* a delivery counts if it is newer than the books (``seq`` past ``through``);
* an application's final state counts if its delivery is newer than the books, or
  was still unsettled when they were read.

Reports that arrive before the books are kept and counted when the books come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, get_args

from moment_tui.store.applications import State
from moment_tui.store.eventlog import BooksSnapshot, Verdict

VERDICTS: Final = get_args(Verdict)
FINAL_STATES: Final = tuple(state for state in get_args(State) if state != "applied")


@dataclass
class Tally:
    verified: int = 0
    duplicate: int = 0
    rejected: int = 0
    confirmed: int = 0
    drift: int = 0
    unconfirmed: int = 0
    loaded: bool = False
    _through: int = 0
    _unsettled: set[int] = field(default_factory=set)
    _early_deliveries: list[tuple[int, str]] = field(default_factory=list)
    _early_states: list[tuple[int, str]] = field(default_factory=list)

    def load(self, snapshot: BooksSnapshot) -> None:
        """Start from the books; then count what arrived before them (if it is new)."""
        books = snapshot.books
        for name in (*VERDICTS, *FINAL_STATES):
            setattr(self, name, getattr(books, name))
        self._through = snapshot.through
        self._unsettled = set(snapshot.unsettled)
        self.loaded = True
        early, self._early_deliveries = self._early_deliveries, []
        for seq, verdict in early:
            self.count(seq, verdict)
        settled, self._early_states = self._early_states, []
        for seq, state in settled:
            self.settle(seq, state)

    def count(self, seq: int, verdict: str) -> None:
        """A delivery stored and answered."""
        if not self.loaded:
            self._early_deliveries.append((seq, verdict))
        elif seq > self._through and verdict in VERDICTS:
            setattr(self, verdict, getattr(self, verdict) + 1)

    def settle(self, seq: int, state: str) -> None:
        """An application of delivery ``seq`` reached ``state`` ("applied" is not final)."""
        if state not in FINAL_STATES:
            return
        if not self.loaded:
            self._early_states.append((seq, state))
        elif seq > self._through or seq in self._unsettled:
            self._unsettled.discard(seq)
            setattr(self, state, getattr(self, state) + 1)
