"""A table of any length that draws only what is on screen.

A DataTable holding 100,000 bills took 7.9 s to paint and 184 MiB. ``LazyTable`` is a
line-API :class:`~textual.scroll_view.ScrollView` whose virtual height is the row
count: ``render_line`` draws the rows it has, a placeholder for the ones it has not,
and asks the :class:`~moment_tui.ui.widgets.lazy_rows.RowSource` (in a worker, never
while drawing) for the missing page. A dozen pages are kept, least recently used
dropped first.

Whatever changes what the rows *are* (a new source or filter, a new sort, a reload)
fetches the new count and the pages on screen first and swaps them in at once, so a
filter keystroke never blanks the list; a generation counter drops any page that was
on its way for the old rows.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from moment_tui.ui.widgets.lazy_rows import (
    CELL_PADDING,
    Cell,
    Column,
    PageCache,
    Row,
    RowSource,
    Sort,
    layout_columns,
    line_segments,
)

__all__ = ["FLASH_SECONDS", "Cell", "Column", "LazyTable", "Row", "RowSource", "Sort"]

FLASH_SECONDS: Final = 1.5  # a refreshed row stands out this long
MAX_PAGES: Final = 12  # pages kept (more if the screen itself needs more)
STRIP_CACHE: Final = 256  # rendered lines kept (a few screens: each Strip holds 7 caches)
FOLLOW_TRIES: Final = 3  # a load re-anchors this often if the cursor moves meanwhile
_MOVE: Final = Binding.Group("Move", compact=True)  # the footer's "↑↓ Move"
_PAD: Final = " " * CELL_PADDING


def later(call: Callable[..., Awaitable[None]], *args: Any) -> Callable[[], Awaitable[None]]:
    """``call(*args)`` as a worker's work, made only when the worker runs: a worker
    cancelled before it started (a load replaced by the next keystroke's) then leaves
    no coroutine never awaited."""

    async def work() -> None:
        await call(*args)

    return work


class _RowMessage(Message):
    """A row's key (stable: what the app opens) and its index (in this order only)."""

    def __init__(self, table: LazyTable, key: str, index: int) -> None:
        super().__init__()
        self.table = table
        self.key = key
        self.index = index

    @property
    def control(self) -> LazyTable:
        return self.table


class LazyTable(ScrollView, can_focus=True):
    """Rows from a :class:`RowSource`, a page at a time, under a fixed header."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "lazy-table--header",
        "lazy-table--cursor",
        "lazy-table--cursor-blurred",
        "lazy-table--even",
        "lazy-table--flash",
        "lazy-table--placeholder",
    }

    # Theme variables only, so every theme (and a plain SSH terminal) reads well.
    DEFAULT_CSS = """
    LazyTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        /* No scrollbar: Textual draws it again, whole, whenever any line of the table
           changes (9 ms a frame here, under a stream of payments); the list's note
           says which row the cursor is on instead. */
        scrollbar-size-vertical: 0;
        &:focus { background-tint: $foreground 5%; }
        & > .lazy-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .lazy-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .lazy-table--even { background: $surface-lighten-1 50%; }
        & > .lazy-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .lazy-table--cursor-blurred {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .lazy-table--flash { background: $success-muted; }
        & > .lazy-table--placeholder { text-style: dim; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Move up", key_display="↑", group=_MOVE),
        Binding("down", "cursor_down", "Move down", key_display="↓", group=_MOVE),
        Binding("k", "cursor_up", "Move up", show=False),
        Binding("j", "cursor_down", "Move down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home", "cursor_first", "First", show=False),
        Binding("end", "cursor_last", "Last", show=False),
        Binding("enter", "select_cursor", "Open", key_display="Enter"),
        Binding("s", "sort_next", "Sort", show=False),
        Binding("S", "sort_reverse", "Reverse", show=False),
    ]

    class RowHighlighted(_RowMessage):
        """The cursor is on a (loaded) row: sent once per row, when its key is known."""

    class RowSelected(_RowMessage):
        """Enter (or a double click) on a row."""

    class Loaded(Message):
        """The rows were (re)counted: after a new source, sort or reload."""

        def __init__(self, table: LazyTable, count: int) -> None:
            super().__init__()
            self.table = table
            self.count = count

        @property
        def control(self) -> LazyTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        source: RowSource | None = None,
        sort: Sort | None = None,
        page_size: int = 100,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.columns = tuple(columns)
        self.empty_text = "Nothing to show."
        self._source = source
        self._sort = sort  # asked for (the header shows it at once) …
        self._shown: tuple[RowSource, Sort | None] | None = None  # … and what the pages are
        self._count: int | None = None  # None until first counted
        self._pages = PageCache(page_size, MAX_PAGES)
        self._inflight: set[int] = set()
        self._generation = 0  # bumped whenever the cached pages are replaced
        self._loads = 0  # the newest load: an older one never applies
        self._cursor = 0
        self._announced: tuple[int, str] | None = None
        self._select_pending: int | None = None  # Enter on a row still being fetched
        self._flash: dict[str, float] = {}  # key -> when its flash ends
        self._refreshing = False  # a refresh_rows read is in flight …
        self._refresh_waiting: set[str] = set()  # … and these keys wait for the next
        self._refresh_flash = False
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(STRIP_CACHE)
        self._styles: dict[tuple[bool, bool, int], Style] = {}
        self._layout: tuple[int, list[tuple[Column, int]]] = (-1, [])
        self._ready = False

    # --- what the caller reads ---------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._count or 0

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @cursor_row.setter
    def cursor_row(self, index: int) -> None:
        self._move_to(index)

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if that row is loaded."""
        row = self.get_row(self._cursor)
        return None if row is None else row.key

    @property
    def sort(self) -> Sort | None:
        return self._sort

    @sort.setter
    def sort(self, sort: Sort | None) -> None:
        """A new order: the cursor stays on its row if the source still has it."""
        if sort == self._sort:
            return
        self._sort = sort
        self.refresh(Region(0, 0, self.size.width, 1))  # the header's ▲/▼
        self._load(follow=True, keep_index=False)

    @property
    def flashing(self) -> frozenset[str]:
        """Keys of the rows drawn in the flash style right now."""
        return frozenset(self._flash)

    def get_row(self, index: int) -> Row | None:
        """The row at ``index`` if it is cached (this never fetches)."""
        return self._pages.get(index) if 0 <= index < self.row_count else None

    def visible_keys(self) -> list[str]:
        """Keys of the cached rows on screen: what a caller re-fetches after a change."""
        top = self.scroll_offset.y
        end = min(self.row_count, top + self._rows_height)
        return [row.key for i in range(top, end) if (row := self._pages.get(i)) is not None]

    # --- what the caller changes -------------------------------------------------

    def set_source(self, source: RowSource, *, keep_cursor: bool = False) -> None:
        """Show another source (a new filter): recount, and the cursor goes to the top
        unless ``keep_cursor`` and the new source still has the row under it."""
        self._source = source
        self._load(follow=keep_cursor, keep_index=False)

    def reload(self) -> None:
        """Recount and refetch what is shown, after rows were added or removed.

        The cursor keeps its row (its KEY, not its index) and that row keeps its line
        on screen, so rows arriving above never move the cursor to another bill. If
        the row is gone, the cursor keeps its index.
        """
        self._load(follow=True, keep_index=True)

    def refresh_rows(self, keys: Collection[str], *, flash: bool = True) -> None:
        """Fetch fresh copies of these rows, if cached, and draw them where they are.

        Never re-sorts (rows must not jump under the reader); keys not cached are
        ignored, and a row the source no longer has waits for the next ``reload``.
        """
        wanted = set(keys)
        cached = {row.key for _, row in self._pages.rows() if row.key in wanted}
        if cached and self._shown is not None:
            source, generation = self._shown[0], self._generation
            work = later(self._refresh_rows, generation, source, cached, flash)
            self.run_worker(work, group="lazy-table-rows")

    # --- workers: every call to the source is made in one ------------------------

    def _load(self, *, follow: bool, keep_index: bool) -> None:
        if self._source is None or not self._ready:
            return  # on_mount loads
        self._loads += 1
        # A function, not a coroutine: a load cancelled by the next one before it ran
        # (keys typed in a burst) leaves no coroutine never awaited.
        work = later(self._load_rows, self._loads, self._source, self._sort, follow, keep_index)
        self.run_worker(work, group="lazy-table-load", exclusive=True)

    async def _load_rows(
        self, token: int, source: RowSource, sort: Sort | None, follow: bool, keep_index: bool
    ) -> None:
        """Count, find the cursor's row, fetch the pages on screen, then swap it all in."""
        count = await source.count(sort)
        size = self._pages.page_size
        for _ in range(FOLLOW_TRIES):
            key = self.cursor_key if follow else None
            index, line = self._cursor, self._cursor - self.scroll_offset.y
            found = None if key is None else await source.position(key, sort)
            height = max(1, self._rows_height)
            if found is not None and found < count:
                cursor = found
            else:
                cursor, line = (index, line) if keep_index else (0, 0)
            cursor = max(0, min(cursor, count - 1))
            top = max(0, min(cursor - max(0, min(line, height - 1)), count - height))
            pages = range(top // size, (min(count, top + height) - 1) // size + 1)
            fetched = {page: await source.rows(page * size, size, sort) for page in pages}
            if token != self._loads:
                return
            if not follow or (key == self.cursor_key and index == self._cursor):
                break  # else the cursor moved while we waited: anchor on its new row
        self._generation += 1
        self._shown = (source, sort)
        self._count = count
        self._pages.clear()
        self._inflight.clear()
        self._strips.clear()
        for page, rows in fetched.items():
            self._pages.store(page, rows)
        if cursor != self._cursor:
            self._select_pending = None
        self._cursor = cursor
        self.virtual_size = Size(0, count + 1)
        self.scroll_to(y=top, animate=False, force=True)
        self.refresh()
        self.post_message(self.Loaded(self, count))
        self._arrived()
        self._want_window()

    def _request(self, page: int) -> None:
        if self._shown is None or page in self._pages or page in self._inflight:
            return
        self._inflight.add(page)
        source, sort = self._shown
        work = later(self._fetch_page, self._generation, source, sort, page)
        self.run_worker(work, group="lazy-table-page")

    async def _fetch_page(
        self, generation: int, source: RowSource, sort: Sort | None, page: int
    ) -> None:
        try:
            if page not in self._window():
                return  # scrolled past it before the worker started
            size = self._pages.page_size
            rows = await source.rows(page * size, size, sort)
        finally:
            if generation == self._generation:
                self._inflight.discard(page)
        if generation != self._generation:
            return  # rows for an old source or sort
        self._pages.store(page, rows)
        top = self.scroll_offset.y
        first, end = max(page * size, top), min(page * size + size, top + self._rows_height)
        if first < end:
            self.refresh_lines(first + 1, end - first)  # virtual line 0 is the header
        self._arrived()

    async def _refresh_rows(
        self, generation: int, source: RowSource, keys: set[str], flash: bool
    ) -> None:
        fresh = await source.rows_by_key(keys)
        if generation != self._generation:
            return
        done = self._pages.replace({key: fresh[key] for key in keys & fresh.keys()})
        for cache_key in list(self._strips.keys()):
            if cache_key[0] in done:
                self._strips.discard(cache_key)
        if flash and done:
            ends = time.monotonic() + FLASH_SECONDS
            self._flash.update(dict.fromkeys(done, ends))
            self.set_timer(FLASH_SECONDS, self._end_flash)
        self._refresh_keys(done)

    def _refresh_keys(self, keys: Collection[str]) -> None:
        """Draw again only the lines of these rows that are on screen (a whole-widget
        refresh would redraw every line, and the scrollbar, for one changed row)."""
        top = self.scroll_offset.y
        for index in range(top, min(self.row_count, top + self._rows_height)):
            row = self._pages.get(index)
            if row is not None and row.key in keys:
                self.refresh_lines(index + 1, 1)  # virtual line 0 is the header

    def _end_flash(self) -> None:
        now = time.monotonic() + 0.05  # a timer may fire a hair early
        ended = {key for key, ends in self._flash.items() if ends <= now}
        self._flash = {key: ends for key, ends in self._flash.items() if ends > now}
        self._refresh_keys(ended)

    # --- the window of rows ------------------------------------------------------

    @property
    def _rows_height(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    def _window(self) -> range:
        """Pages on screen, plus a screen's worth either side (so paging never waits)."""
        count = self.row_count
        if not count:
            return range(0)
        top, height = self.scroll_offset.y, max(1, self._rows_height)
        first = self._pages.page_of(max(0, top - height))
        last = self._pages.page_of(min(count - 1, top + 2 * height - 1))
        self._pages.max_pages = max(MAX_PAGES, last - first + 3)
        return range(first, last + 1)

    def _want_window(self) -> None:
        for page in self._window():
            self._request(page)

    def _arrived(self) -> None:
        """Tell the app about the cursor's row once it is known (and open it if Enter
        was pressed while it was on its way)."""
        row = self.get_row(self._cursor)
        if row is None:
            return
        if self._announced != (self._cursor, row.key):
            self._announced = (self._cursor, row.key)
            self.post_message(self.RowHighlighted(self, row.key, self._cursor))
        if self._select_pending == self._cursor:
            self._select_pending = None
            self.post_message(self.RowSelected(self, row.key, self._cursor))

    # --- cursor ------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        index = max(0, min(index, self.row_count - 1))
        if index != self._cursor:
            self._select_pending = None
            self.refresh_line(self._cursor + 1)
            self.refresh_line(index + 1)
            self._cursor = index
        top, height = self.scroll_offset.y, self._rows_height
        if height and not top <= index < top + height:
            y = index if index < top else index - height + 1
            self.scroll_to(y=y, animate=False, force=True)
        self._arrived()

    def action_cursor_up(self) -> None:
        self._move_to(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move_to(self._cursor + 1)

    def action_cursor_page_up(self) -> None:
        """A screen up, the cursor keeping its line (as DataTable pages)."""
        height = max(1, self._rows_height)
        self.scroll_to(y=self.scroll_offset.y - height, animate=False, force=True)
        self._move_to(self._cursor - height)

    def action_cursor_page_down(self) -> None:
        height = max(1, self._rows_height)
        self.scroll_to(y=self.scroll_offset.y + height, animate=False, force=True)
        self._move_to(self._cursor + height)

    def action_cursor_first(self) -> None:
        self._move_to(0)

    def action_cursor_last(self) -> None:
        self._move_to(self.row_count - 1)

    def action_select_cursor(self) -> None:
        if self.row_count:
            self._select_pending = self._cursor
            self._arrived()

    def action_sort_next(self) -> None:
        """Sort by the next sortable column on screen, ascending."""
        shown = self._columns_at(self.scrollable_content_region.width)
        keys = [column.key for column, _ in shown if column.sortable]
        if keys:
            now = self._sort.column if self._sort else None
            after = keys.index(now) + 1 if now in keys else 0
            self.sort = Sort(keys[after % len(keys)])

    def action_sort_reverse(self) -> None:
        if self._sort is not None:
            self.sort = Sort(self._sort.column, not self._sort.descending)
        elif keys := [column.key for column in self.columns if column.sortable]:
            self.sort = Sort(keys[0], descending=True)

    # --- events ------------------------------------------------------------------

    def on_mount(self) -> None:
        self._ready = True
        self._load(follow=False, keep_index=False)

    def on_resize(self) -> None:
        self._move_to(self._cursor)  # still in view
        self._want_window()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            index = self.scroll_offset.y + offset.y - 1
            if index < self.row_count:
                self._move_to(index)
                if event.chain >= 2:
                    self.action_select_cursor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._want_window()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a new theme, or focus: every cached line is stale
        self._styles.clear()

    # --- drawing -----------------------------------------------------------------

    def _columns_at(self, width: int) -> list[tuple[Column, int]]:
        if self._layout[0] != width:
            self._layout = (width, layout_columns(self.columns, width))
        return self._layout[1]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        count, index = self._count, self.scroll_offset.y + y - 1
        if count == 0 and y == 1:
            return self._note(self.empty_text, width, self._style_for(False, False, 0))
        if count is None or index >= count:
            return Strip.blank(width, self._style_for(False, False, 0))
        row = self._pages.get(index)
        if row is None:
            self._request(self._pages.page_of(index))
            return self._note("…", width, self._line_style(index, flash=False))
        cursor = index == self._cursor
        flash = row.key in self._flash
        key = (row.key, width, index % 2, cursor, cursor and self.has_focus, flash)
        strip = self._strips.get(key)
        if strip is None:
            style = self._line_style(index, flash)
            text_style = style + Style.parse(row.style) if row.style else style
            layout, console = self._columns_at(width), self.app.console
            segments = line_segments(layout, row.cells, text_style, console)
            strip = self._strips[key] = Strip(segments).crop_extend(0, width, style)
        return strip

    def _header(self, width: int) -> Strip:
        key = (None, width, self._sort)
        strip = self._strips.get(key)
        if strip is None:
            style = self.get_component_rich_style("lazy-table--header")
            labels = {column.key: column.label for column in self.columns}
            if self._sort is not None and self._sort.column in labels:
                labels[self._sort.column] += " ▼" if self._sort.descending else " ▲"
            layout = self._columns_at(width)
            segments = line_segments(layout, labels, style, self.app.console)
            strip = self._strips[key] = Strip(segments).crop_extend(0, width, style)
        return strip

    def _note(self, note: str, width: int, style: Style) -> Strip:
        """A placeholder "…", or the empty text, dim in the first column (not cached)."""
        note_style = style + self.get_component_rich_style("lazy-table--placeholder", partial=True)
        segments = [Segment(_PAD, style), Segment(note, note_style)]
        return Strip(segments).crop_extend(0, width, style)

    def _line_style(self, index: int, flash: bool) -> Style:
        cursor = 0 if index != self._cursor else 2 if self.has_focus else 1
        return self._style_for(index % 2 == 0, flash, cursor)

    def _style_for(self, even: bool, flash: bool, cursor: int) -> Style:
        """A row's style (``cursor``: 0 none, 1 blurred, 2 focused), computed once per
        kind: ``rich_style`` walks every ancestor."""
        style = self._styles.get((even, flash, cursor))
        if style is None:
            style = self.rich_style
            get = self.get_component_rich_style
            if even:
                style += get("lazy-table--even")
            if flash:
                style += get("lazy-table--flash")
            if cursor:
                style += get("lazy-table--cursor" if cursor == 2 else "lazy-table--cursor-blurred")
            self._styles[even, flash, cursor] = style
        return style
