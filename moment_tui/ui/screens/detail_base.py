"""What the three detail views share: loading one object, following payments live,
``r`` to re-fetch from the API, ``c`` to copy, tables updated in place, and the
timeline of what happened to the object.

A view loads in a worker: the catalogue's copy of its object (fetched from the API
and kept when the catalogue lacks it), what is under it
(:func:`~moment_tui.store.browse.related`), labels for every id it mentions, and what
the subclass gathers beside (a bill's customer and account). :meth:`DetailScreen.draw`
is given that load and the one before it, so what changed is highlighted for a
moment. Rows are updated where they stand: neither the cursor nor the focus moves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from moment_tui.ui.present import HIGHLIGHT_SECONDS, label_of
from moment_tui.ui.privacy import masked_view
from moment_tui.ui.screens.base import ConsoleScreen
from moment_tui.ui.screens.detail_text import Loaded, timeline
from moment_tui.ui.widgets.rows_table import RowsTable

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from moment_tui.api.models import ObjectKind
    from moment_tui.store.applications import Application
    from moment_tui.store.browse import Related
    from moment_tui.store.catalogue import Entry
    from moment_tui.ui.console import Console as MomentConsole
    from moment_tui.ui.privacy import Privacy
    from moment_tui.ui.state import Change

REFETCH_LIMIT: Final = 20  # objects `r` re-fetches beside the one the view shows
WIDE: Final = 110  # from this width the timeline stands beside, not below


# --- the screen ----------------------------------------------------------------------------


class DetailScreen(ConsoleScreen):
    """One object's view. Subclasses set :attr:`kind` and write :meth:`compose_detail`,
    :meth:`draw` and (when they show more than the object) :meth:`shown`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refetch", "Re-fetch", show=False),
        Binding("c", "copy", "Copy", show=False),
        # q still quits, unlisted: the footer's room goes to the object's own keys
        # (at 80 columns a bill's Pay and ? Keys did not fit beside it).
        Binding("q", "app.quit_key", "Quit", show=False),
    ]
    # Textual declares it an instance variable (`ClassVar[…] | None`): not ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]  # noqa: RUF012
    kind: ClassVar[ObjectKind]
    TIMELINE: ClassVar[str] = "Timeline · {payments} payment{s}"

    def __init__(self, console: MomentConsole, object_id: str) -> None:
        super().__init__(console)
        self.object_id = object_id
        self.crumb = object_id
        self.loaded: Loaded | None = None
        self.problem: str | None = None  # why there is nothing to show
        self._loading = False
        self._again = False
        self._refetching = False
        self._read_ahead = False  # read before it was shown (prepare): _prepared holds it
        self._prepared: Loaded | None = None
        self.after_payment = ""  # the status line once a simulated payment is applied

    def compose_body(self) -> ComposeResult:
        yield Static("Loading …", id="detail-status", markup=False)
        yield from self.compose_detail()

    def compose_detail(self) -> ComposeResult:
        yield from ()

    # --- what the view shows (subclasses) ---------------------------------------------

    async def gather(self, entry: Entry[Any], related: Related) -> dict[str, Entry[Any] | None]:
        """Objects to draw beside this one (a bill's customer and account)."""
        return {}

    def draw(self, loaded: Loaded, before: Loaded | None) -> None:
        """Draw ``loaded``; ``before`` is the previous load (None the first time)."""

    def shown(self) -> list[tuple[ObjectKind, str]]:
        """The other objects on screen, for ``r``."""
        return []

    @property
    def current_id(self) -> str:
        """The object's id (the view may have been opened by external reference)."""
        return self.loaded.obj.id if self.loaded is not None else self.object_id

    def watched(self) -> set[str]:
        """Ids whose payments change what the view shows."""
        ids = {self.current_id}
        if self.loaded is not None:
            ids |= {row.id for row in self.loaded.related.accounts}
            ids |= {row.id for row in self.loaded.related.bills}
        return ids

    # --- the status line -----------------------------------------------------------------

    def say(self, text: str, *, error: bool = False) -> None:
        # Not before its widgets exist; its on_mount is soon enough (a prepared view).
        if not self._composed:
            return
        status = self.query_one("#detail-status", Static)
        status.set_class(error, "-error")
        status.set_class(not text, "-empty")
        status.update(text)

    # --- loading --------------------------------------------------------------------------

    async def prepare(self, wait: float | None = None) -> None:
        """Read the object before the view is shown, so that its first frame is drawn
        with the object in it, once, rather than a "Loading …" frame laid out and drawn
        while the load waits behind it.

        With ``wait``, up to that many seconds (an object the API must be asked for):
        the view then opens with "Loading …" and loads as usual; the read goes on and
        what it fetched is kept. A broken catalogue is left to that load to report."""
        reading = asyncio.ensure_future(self._read())
        reading.add_done_callback(_retrieve)
        try:
            loaded = await asyncio.wait_for(asyncio.shield(reading), wait)
        except Exception:  # TimeoutError, or the catalogue's error: the view's load says
            return
        self._prepared, self._read_ahead = loaded, True

    def resumed(self) -> None:
        if self._read_ahead:
            self._read_ahead = False
            prepared, self._prepared = self._prepared, None
            if prepared is None:  # neither the catalogue nor the API has it: _read said why
                self.say(self.problem or "", error=True)
                return
            self._show(prepared)
        self.reload()  # (after a read ahead: what changed since, highlighted if anything)

    def changed(self, change: Change) -> None:
        if "privacy" in change.topics and self.loaded is not None:
            view = self.as_drawn(self.loaded)  # masked or not, at once: no reload
            self.draw(view, None)
            self._draw_timeline(view, None, lit=False)
        if "applications" in change.topics and change.touched & self.watched():
            self.reload()
            if self.after_payment:  # "its webhook follows" is old news now
                self.say(self.after_payment)
                self.after_payment = ""

    def reload(self) -> None:
        """Load again (once more after the load under way, if one is)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.run_worker(self._load(), group="detail-load", exit_on_error=False)

    async def _load(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    loaded = await self._read()
                except Exception as exc:  # a broken workspace: one line, never a traceback
                    self.problem = f"Could not read the catalogue: {exc or type(exc).__name__}"
                    self.say(self.problem, error=True)
                else:
                    if loaded is not None:
                        self._show(loaded)
                if not self._again:
                    break
        finally:
            self._loading = False

    async def _read(self) -> Loaded | None:
        from moment_tui.api.errors import MomentError, NotFound
        from moment_tui.ui.queries import Unavailable

        queries = self.console.queries
        entry = await queries.entry(self.kind, self.object_id)
        if entry is None:
            try:
                entry = await queries.fetch(self.kind, self.object_id)
            except NotFound:
                self._fail(
                    f"No {self.kind} {self.object_id}: neither the catalogue nor the API knows it."
                )
                return None
            except (MomentError, Unavailable) as exc:
                self._fail(
                    f"{self.object_id} is not in the catalogue, and the API could not say: {exc}"
                )
                return None
            self.console.state.catalogue_changed()
        related = await queries.related(self.kind, entry.obj.id)
        holders = await self.gather(entry, related)
        labels, currencies = _labels(entry, related, holders)
        mentioned = {i for app, _ in related.applications for i in _ids_of(app)}
        missing = mentioned - labels.keys()
        if missing:
            labels.update(await queries.names(missing))
        return Loaded(entry, related, labels, currencies, holders)

    def _fail(self, problem: str) -> None:
        self.problem = problem
        if self.loaded is None:
            self.say(problem, error=True)

    def _show(self, loaded: Loaded) -> None:
        if not self._composed:
            return
        before, problem = self.loaded, self.problem
        self.loaded, self.problem = loaded, None
        if before is None or problem is not None:  # "Loading …" or why it was not shown
            self.say("")
        self.set_crumb(label_of(loaded.obj))
        view, was = self.as_drawn(loaded), None if before is None else self.as_drawn(before)
        self.draw(view, was)
        self._draw_timeline(view, was)
        status = getattr(loaded.obj, "status", None)
        if before is None or status != getattr(before.obj, "status", None):
            self.refresh_bindings()  # the keys its state allows (a voided bill: none)
        if before is None:  # the first load only: later ones never move the focus
            for table in self.query(RowsTable):
                if table.row_count:
                    table.focus()
                    break

    def fresh(self, loaded: Loaded, before: Loaded | None) -> set[int]:
        """Payments in ``loaded`` that ``before`` did not have (or had in another state)."""
        if before is None:
            return set()
        old = {app.delivery_seq: app.state for app, _ in before.related.applications}
        return {
            app.delivery_seq
            for app, _ in loaded.related.applications
            if old.get(app.delivery_seq) != app.state
        }

    def compose_timeline(self) -> ComposeResult:
        title = self.TIMELINE.partition(" ·")[0]
        with Vertical(id="timeline-pane"):
            yield Static(title, id="timeline-title", classes="section", markup=False)
            with VerticalScroll(id="timeline-scroll"):
                yield Static(id="timeline")

    def _draw_timeline(self, loaded: Loaded, before: Loaded | None, *, lit: bool = True) -> None:
        fresh = self.fresh(loaded, before) if lit else set()
        deliveries = self.console.state.deliveries
        self.query_one("#timeline", Static).update(timeline(loaded, deliveries, fresh))
        payments = len(loaded.related.applications)
        title = self.query_one("#timeline-title", Static)
        title.update(self.TIMELINE.format(payments=payments, s="" if payments == 1 else "s"))
        if fresh:
            self.set_timer(HIGHLIGHT_SECONDS, self._unlight_timeline)

    def _unlight_timeline(self) -> None:
        if self.loaded is not None and self.is_mounted:
            self._draw_timeline(self.as_drawn(self.loaded), None, lit=False)

    # --- personal data (Ctrl+N masks it) ---------------------------------------------------

    def as_drawn(self, loaded: Loaded) -> Loaded:
        """``loaded`` as :meth:`draw` gets it: a customer's name, email and phone masked
        while the mask is on. ``self.loaded`` keeps the real values (edits, copies)."""
        if not self.console.state.masked:
            return loaded
        view: Loaded = masked_view(loaded)
        return view

    def crumb_shown(self, privacy: Privacy) -> str:
        """The crumb is the object's name once loaded: a customer's is masked."""
        name = getattr(self.loaded.obj, "name", None) if self.loaded is not None else None
        if self.loaded is None or not name or self.crumb != name:
            return self.crumb  # the id or reference it was opened by, or a reference
        return privacy.label(self.loaded.obj.id, self.crumb)

    # --- r: re-fetch -----------------------------------------------------------------------

    def action_refetch(self) -> None:
        if self._refetching:
            return
        if self.console.runtime.client is None:
            self.say(
                "There is no API to ask: no API key, and the sandbox is not running.", error=True
            )
            return
        self._refetching = True
        self.run_worker(self._refetch(), group="detail-refetch", exit_on_error=False)

    async def _refetch(self) -> None:
        targets = [(self.kind, self.current_id), *self.shown()[:REFETCH_LIMIT]]
        where = self.console.api_label
        done = 0
        failures: list[str] = []
        gate = asyncio.Semaphore(8)
        self.say(f"Re-fetching from {where} … 0 of {len(targets)}")

        async def one(kind: ObjectKind, object_id: str) -> None:
            nonlocal done
            async with gate:
                try:
                    await self.console.queries.fetch(kind, object_id)
                except Exception as exc:  # MomentError, Unavailable: one line each
                    failures.append(f"{object_id}: {exc or type(exc).__name__}")
                done += 1
                self.say(f"Re-fetching from {where} … {done} of {len(targets)}")

        try:
            await asyncio.gather(*(one(kind, object_id) for kind, object_id in targets))
        finally:
            self._refetching = False
        fetched = len(targets) - len(failures)
        at = dt.datetime.now().strftime("%H:%M:%S")
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            self.say(
                f"Re-fetched {fetched} of {len(targets)} at {at}; {failures[0]}{more}", error=True
            )
        else:
            what = "1 object" if fetched == 1 else f"{fetched} objects"
            self.say(f"Re-fetched {what} from {where} at {at}.")
        if fetched:
            self.console.state.catalogue_changed()
            self.reload()

    # --- c: copy ---------------------------------------------------------------------------

    def action_copy(self) -> None:
        from moment_tui.api.curl import curl_command
        from moment_tui.api.models import COLLECTION
        from moment_tui.ui.modals.copy import KEY_LABEL, CopyMenu

        object_id = self.current_id
        choices = [("Id", object_id)]
        if self.loaded is not None:
            data = self.loaded.obj.model_dump(mode="json")
            choices.append(("JSON", json.dumps(data, indent=2, ensure_ascii=False)))
        client = self.console.runtime.client
        if client is not None:
            path = f"{COLLECTION[self.kind]}/{object_id}"
            choices.append(
                ("curl", curl_command("GET", client.base_url, path, key_label=KEY_LABEL))
            )
        what = f"{self.kind} {self.crumb_shown(self.privacy)}"
        self.app.push_screen(CopyMenu(what, choices))

    # --- writes (edit, new bill, void, record or simulate a payment, bill page) ----------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Write keys are gone under ``--read-only`` (and the sandbox's, off it)."""
        from moment_tui.ui.screens.detail_writes import WRITES, allowed

        if action in WRITES:
            return allowed(self, action)
        return super().check_action(action, parameters)

    def _write(self, action: str) -> None:
        from moment_tui.ui.screens.detail_writes import run

        run(self, action)

    def action_edit(self) -> None:
        self._write("edit")

    def action_new_bill(self) -> None:
        self._write("new_bill")

    def action_pay(self) -> None:
        self._write("pay")

    def action_void(self) -> None:
        self._write("void")

    def action_record_payment(self) -> None:
        self._write("record_payment")

    def action_present(self) -> None:
        self._write("present")

    # --- drilling down ----------------------------------------------------------------------

    def open(self, kind: ObjectKind, object_id: str | None) -> None:
        from moment_tui.ui.navigate import open_detail

        if object_id:
            open_detail(self.app, self.console, kind, object_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        kind = TABLE_KIND.get(event.data_table.id or "")
        if kind is not None and event.row_key.value:
            event.stop()
            self.open(kind, event.row_key.value)


TABLE_KIND: Final[dict[str, ObjectKind]] = {"accounts": "account", "bills": "bill"}


def _retrieve(task: asyncio.Future[Any]) -> None:
    """A read ahead that outlived its wait: its outcome is not wanted (no warning)."""
    if not task.cancelled():
        task.exception()


def _ids_of(app: Application) -> set[str]:
    ids = {c.id for c in app.changes} | {bill for bill, _ in app.allocation}
    ids |= {d.id for d in app.drift}
    if app.target_id:
        ids.add(app.target_id)
    return ids


def _labels(
    entry: Entry[Any], related: Related, holders: Mapping[str, Entry[Any] | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and currencies of everything the load holds."""
    labels: dict[str, str] = {}
    currencies: dict[str, str] = {}
    objects = [entry.obj, *(h.obj for h in holders.values() if h is not None)]
    for obj in objects:
        labels[obj.id] = label_of(obj)
        if getattr(obj, "currency", None):
            currencies[obj.id] = obj.currency
    for account in related.accounts:
        labels[account.id] = account.name or account.external_reference
        if account.currency:
            currencies[account.id] = account.currency
    for bill in related.bills:
        labels[bill.id] = bill.external_reference
        currencies[bill.id] = bill.currency
    return labels, currencies
