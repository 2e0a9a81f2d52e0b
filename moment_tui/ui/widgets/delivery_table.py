"""The live list of webhook deliveries, newest at the bottom.

Deliveries and application results are queued as they arrive and drawn in batches
(:meth:`DeliveryTable.flush`, a few times a second), so a burst of thousands of
deliveries a second costs the screen a handful of redraws, not thousands.
"""

from __future__ import annotations

import time
from typing import ClassVar, Final

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable

from moment_tui.api.kinds import ID_PATTERNS
from moment_tui.money import amount_text
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.ui.present import STATE_STYLE, VERDICT_STYLE
from moment_tui.ui.privacy import NO_MASK, Privacy

MAX_ROWS: Final = 200  # the full history is in the event log (`moment-tui events`)
REBUILD_AT: Final = 20  # dropping more old rows than this: redraw instead
BURST: Final = 40  # this many waiting rows: draw at most once per BURST_SECONDS
BURST_SECONDS: Final = 1.0
_MOVE: Final = Binding.Group("Move", compact=True)  # the footer's "↑↓ Move"


MIN_TARGET: Final = 8  # "Paid to" is never cut narrower than this


def _short(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells (a CJK character takes two)."""
    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


class DeliveryTable(DataTable[str | Text]):
    """One row per delivery: when, verdict, what it paid, and what became of it."""

    # DataTable's own keys, shown in the footer (its bindings hide them).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Move up", key_display="↑", group=_MOVE),
        Binding("down", "cursor_down", "Move down", key_display="↓", group=_MOVE),
        Binding("enter", "select_cursor", "Open", key_display="Enter"),
    ]

    def __init__(self) -> None:
        super().__init__(id="deliveries", cursor_type="row", zebra_stripes=True)
        # Whom the money went to, by name, once the catalogue is asked (set_names): a
        # bill's reference, an account's or customer's name, then the customer's.
        self.names: dict[str, str] = {}
        self.privacy: Privacy = NO_MASK  # customers' names drawn masked or not
        self._targets: dict[int, str] = {}  # each row's "Paid to", before fitting
        self._widest: dict[str, int] = {}  # the widest text drawn in each other column
        self._fitted = 0  # the width "Paid to" was last fitted to
        self.unseen = 0  # rows drawn below the cursor since it left the newest row
        self._pending: list[Delivery] = []
        self._results: dict[int, Application] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.applications: dict[int, Application] = {}
        self._drawn_at = 0.0

    def on_mount(self) -> None:
        self.add_column("#", key="seq")
        self.add_column("Time", key="time")
        self.add_column("Verdict", key="verdict")
        self.add_column("Amount", key="amount")
        self.add_column("Result", key="result")
        # Last, so a narrow terminal cuts whom it paid, never a verdict, amount or result.
        self.add_column("Paid to", key="target")

    def set_names(self, names: dict[str, str]) -> None:
        """Names for target ids (an id the catalogue does not know: itself): the rows
        paid to them say whom."""
        fresh = {k: v for k, v in names.items() if self.names.get(k) != v}
        if not fresh:
            return
        self.names.update(fresh)
        width = self._fitted or self._target_width()
        changed: dict[int, str] = {}
        for seq, delivery in self.deliveries.items():
            ids = {delivery.bill_id, delivery.account_id, delivery.customer_id}
            if ids & fresh.keys():
                self._targets[seq] = self._paid_to(delivery)
                changed[seq] = _short(self._targets[seq], width)
        self._set_targets(changed)

    def wanted_names(self) -> set[str]:
        """Target (and customer) ids of drawn rows whose names are not known yet."""
        wanted: set[str] = set()
        for delivery in self.deliveries.values():
            for object_id in (delivery.bill_id, delivery.account_id, delivery.customer_id):
                if object_id and object_id not in self.names:
                    wanted.add(object_id)
        return wanted

    def set_privacy(self, privacy: Privacy) -> None:
        """Ctrl+N: every row's "Paid to" drawn again, customers' names masked or not."""
        if privacy == self.privacy:
            return
        self.privacy = privacy
        width = self._fitted or self._target_width()
        changed: dict[int, str] = {}
        for seq, delivery in self.deliveries.items():
            self._targets[seq] = self._paid_to(delivery)
            changed[seq] = _short(self._targets[seq], width)
        self._set_targets(changed)

    def _names_of(self, d: Delivery) -> str | None:
        """``INV-2026-0081 · Johan Botha``, as the event pane says it; None while the
        target's name is not known (or the catalogue does not know it)."""
        target = d.target()
        if target is None:
            return None
        kind, ref = target
        name = self.names.get(ref)
        if name is None or name == ref:
            return None
        shown = self.privacy.label(ref, name)
        holder = d.customer_id if kind != "customer" else None
        if holder and self.names.get(holder) not in (None, holder, name):
            return f"{shown} · {self.privacy.label(holder, self.names[holder])}"
        return shown

    def _paid_to(self, d: Delivery) -> str:
        target = d.target()
        if target is None:
            return "—"
        if (named := self._names_of(d)) is not None:
            return _short(named, 40)
        kind, ref = target
        # An id with its kind's prefix (bcus_…, bacc_…, bill_…) says what it is by itself.
        return _short(ref if ID_PATTERNS[kind].match(ref) else f"{kind} {ref}", 32)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """Redraw every row when the columns widen.

        Textual 8.2.8's DataTable sizes columns for new rows when idle, but keeps the
        renders of rows drawn before that (at the old widths) in caches keyed by a
        counter the sizing does not bump: such rows stayed cut ("verifie", "401 no")
        until the next delivery. A new total width drops those renders.
        """
        if new.width != old.width:
            self.notify_style_update()  # DataTable's way to clear its render caches

    def on_resize(self) -> None:
        self._fit_targets()
        if self.row_count:  # the highlighted row stays in view (Enter opens it)
            # The row at refresh time: one chosen since the resize must not be undone.
            self.call_after_refresh(lambda: self.move_cursor(row=self.cursor_row))

    def _target_width(self) -> int:
        """What the other columns leave "Paid to": an id is cut to it, with "…", rather
        than run off the edge (at 80 columns, beside a rejection's reason)."""
        pad = 2 * self.cell_padding
        others = sum(
            max(cell_len(str(column.label)), self._widest.get(str(key.value), 0)) + pad
            for key, column in self.columns.items()
            if key.value != "target"
        )
        return max(MIN_TARGET, self.scrollable_content_region.width - others - pad)

    def _fit_targets(self) -> None:
        width = self._target_width()
        if width == self._fitted:
            return
        self._fitted = width
        self._set_targets({seq: _short(text, width) for seq, text in self._targets.items()})

    def _set_targets(self, texts: dict[int, str]) -> None:
        """New "Paid to" texts. DataTable measures the whole column again for each cell
        updated with ``update_width`` (every row, each time: quadratic in rows), so only
        the widest of them asks for the column to widen."""
        if not texts:
            return
        widest = max(texts, key=lambda seq: cell_len(texts[seq]))
        for seq, text in texts.items():
            self.update_cell(str(seq), "target", text, update_width=seq == widest)

    def queue(self, delivery: Delivery) -> None:
        self._pending.append(delivery)

    def queue_history(self, deliveries: list[Delivery]) -> None:
        """Older deliveries go before anything already queued (and are not repeated)."""
        known = set(self.deliveries) | {d.seq for d in self._pending}
        self._pending.extend(d for d in deliveries if d.seq not in known)

    def queue_result(self, application: Application) -> None:
        self._results[application.delivery_seq] = application
        self.applications[application.delivery_seq] = application

    def flush(self) -> bool:
        """Draw what has arrived since the last flush (during a burst, once a second:
        drawing rows costs far more than receiving them, and nobody reads faster).
        False when it waits for that second: the caller flushes again later."""
        now = time.monotonic()
        if len(self._pending) >= BURST and now - self._drawn_at < BURST_SECONDS:
            return False
        self._drawn_at = now
        following = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        batch = sorted(self._pending, key=lambda d: d.seq)
        self._pending.clear()
        newest = max(self.deliveries, default=0)
        overflow = self.row_count + len(batch) - MAX_ROWS
        if batch and (overflow > REBUILD_AT or batch[0].seq < newest):
            # A burst (removing rows one by one would cost more than drawing them
            # again) or history arriving after live rows: redraw the newest rows.
            self._rebuild(batch)
        else:
            for delivery in batch:
                self._add(delivery)
            while self.row_count > MAX_ROWS:
                oldest = self.coordinate_to_cell_key(Coordinate(0, 0)).row_key
                self.remove_row(oldest)
                self._forget(int(oldest.value or 0))
        oldest_shown = min(self.deliveries, default=0)
        for seq, application in list(self._results.items()):
            if seq in self.deliveries:
                # "drift (2 fields)" is wider than the "applying…" it replaces; only a
                # result wider than the column asks DataTable to measure it again (it
                # measures every row for that: per result, quadratic under a burst).
                result = self._result(application)
                wider = cell_len(str(result)) > self._widest.get("result", 0)
                self._measure({"result": result})
                self.update_cell(str(seq), "result", result, update_width=wider)
            if seq in self.deliveries or seq < oldest_shown:
                del self._results[seq]
        self._fit_targets()
        if batch and following:
            self.move_cursor(row=self.row_count - 1)
        elif batch:  # the reader is further up: say what came, do not pull them down
            self.unseen += len(batch)
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.cursor_row >= self.row_count - 1:
            self.unseen = 0

    def _add(self, delivery: Delivery) -> None:
        self.deliveries[delivery.seq] = delivery
        self.add_row(*self._cells(delivery), key=str(delivery.seq))

    def _forget(self, seq: int) -> None:
        self._targets.pop(seq, None)
        self.deliveries.pop(seq, None)
        self.applications.pop(seq, None)

    def _rebuild(self, batch: list[Delivery]) -> None:
        keep = sorted([*self.deliveries.values(), *batch], key=lambda d: d.seq)[-MAX_ROWS:]
        kept = {d.seq for d in keep}
        for seq in [s for s in self.deliveries if s not in kept]:
            self._forget(seq)
        self.clear()
        for delivery in keep:
            self._add(delivery)

    def _cells(self, d: Delivery) -> tuple[str | Text, ...]:
        paid_to = self._paid_to(d)
        self._targets[d.seq] = paid_to
        if d.verdict == "rejected":
            result: str | Text = Text(f"{d.status} {d.reason}", style="red")
        elif d.verdict == "duplicate":
            result = f"duplicate of #{d.duplicate_of}"
        elif (known := self.applications.get(d.seq)) is not None:
            result = self._result(known)
        elif d.application:
            result = Text(d.application, style=STATE_STYLE.get(d.application, ""))
        else:
            result = Text("applying…", style="dim")
        cells: dict[str, str | Text] = {"seq": str(d.seq)}
        cells["time"] = d.received_at[11:19]
        cells["verdict"] = Text(d.verdict, style=VERDICT_STYLE.get(d.verdict, ""))
        cells["amount"] = amount_text(d.amount, d.currency) or "—"
        cells["result"] = result
        self._measure(cells)
        return (*cells.values(), _short(paid_to, self._fitted or len(paid_to)))

    def _measure(self, cells: dict[str, str | Text]) -> None:
        for key, text in cells.items():
            self._widest[key] = max(self._widest.get(key, 0), cell_len(str(text)))

    @staticmethod
    def _result(application: Application) -> Text:
        label: str = application.state
        if application.state == "drift":
            label = f"drift ({len(application.drift)} field{'s' * (len(application.drift) != 1)})"
        return Text(label, style=STATE_STYLE.get(application.state, ""))
