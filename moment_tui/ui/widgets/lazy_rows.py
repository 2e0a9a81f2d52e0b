"""What a :class:`~moment_tui.ui.widgets.lazy_table.LazyTable` shows, without Textual.

The table never holds a whole list: it asks a :class:`RowSource` for pages of rows
and keeps a few of them in a :class:`PageCache`. The column layout, the cutting of
cells to terminal cells and the drawing of a line (Rich segments) are plain functions
here, so they can be tested (and read) apart from the widget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

Cell: TypeAlias = str | Text

CELL_PADDING = 1  # blank cells each side of a cell, as DataTable's cell_padding=1
_PAD = " " * CELL_PADDING
_CONTROL = dict.fromkeys(range(32), " ")  # a newline in a cell would break the line


@dataclass(frozen=True)
class Column:
    """One column: ``width`` is its natural width in terminal cells (the minimum when
    ``flex``). When the columns do not fit, the highest ``priority`` number is hidden
    first; 0 is never hidden."""

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"
    priority: int = 0
    flex: int = 0  # its share of the width left over (0: none; two columns of 1 halve it)
    sortable: bool = True


@dataclass(frozen=True)
class Row:
    """A row as the source gives it: ``key`` is stable (a bill id), ``style`` a Rich
    style for the whole row ("dim" for a voided bill, "red" for an overdue one)."""

    key: str
    cells: Mapping[str, Cell]
    style: str = ""


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool = False


class RowSource(Protocol):
    """Where rows come from. Every method may do I/O (a SQLite read in a thread): the
    table calls them only from workers, never while drawing."""

    async def count(self, sort: Sort | None) -> int: ...

    async def rows(self, offset: int, limit: int, sort: Sort | None) -> list[Row]: ...

    async def rows_by_key(self, keys: Collection[str]) -> dict[str, Row]:
        """Fresh copies of these rows; a key missing from the answer is gone."""
        ...

    async def position(self, key: str, sort: Sort | None) -> int | None:
        """The index of a row in this order, or None if the source no longer has it."""
        ...


def layout_columns(columns: Sequence[Column], width: int) -> list[tuple[Column, int]]:
    """The columns shown in ``width`` cells, each with the width it is drawn at.

    Columns are hidden by descending priority (the rightmost first among equals) until
    the rest fit; the flex columns then share what is left by their weights (the odd
    cells to the first). What still does not fit is cut at the right edge: a console
    list never scrolls sideways.
    """
    pad = 2 * CELL_PADDING
    shown = list(columns)
    while sum(c.width + pad for c in shown) > width:
        hideable = [c for c in shown if c.priority > 0]
        if not hideable:
            break
        top = max(c.priority for c in hideable)
        shown.remove([c for c in hideable if c.priority == top][-1])
    spare = max(0, width - sum(c.width + pad for c in shown))
    weights = sum(c.flex for c in shown)
    if not weights:
        return [(c, c.width) for c in shown]
    shares = {id(c): spare * c.flex // weights for c in shown if c.flex}
    first = next(c for c in shown if c.flex)
    shares[id(first)] += spare - sum(shares.values())
    return [(c, c.width + shares.get(id(c), 0)) for c in shown]


def fit_text(text: str, width: int, align: Literal["left", "right"]) -> str:
    """``text`` in exactly ``width`` terminal cells: cut with "…" (a CJK character takes
    two cells, and one cut in half becomes a space), then padded on the side opposite
    to ``align``."""
    if width <= 0:
        return ""
    if not text.isprintable():
        text = text.translate(_CONTROL)
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    gap = " " * (width - length)
    return gap + text if align == "right" else text + gap


def fit_cell(cell: Cell, width: int, align: Literal["left", "right"]) -> Text:
    """:func:`fit_text` for a cell that may be a styled :class:`~rich.text.Text`, whose
    spans are kept (or cut with it)."""
    if isinstance(cell, str):
        return Text(fit_text(cell, width, align), no_wrap=True)
    text = cell.copy()
    text.no_wrap = True
    if width <= 0:
        return Text()
    if not text.plain.isprintable():
        text.plain = text.plain.translate(_CONTROL)  # one character for one: spans stay put
    if cell_len(text.plain) > width:
        text.plain = set_cell_size(text.plain, width - 1) + "…"
    gap = " " * (width - cell_len(text.plain))
    if align == "right":
        return Text(gap, no_wrap=True) + text
    text.append(gap)
    return text


def line_segments(
    layout: Sequence[tuple[Column, int]], cells: Mapping[str, Cell], style: Style, console: Console
) -> list[Segment]:
    """A table line over ``style``: each cell fitted to its column and padded. Plain
    cells (the usual kind) are joined into one segment; a styled Text keeps its spans."""
    segments: list[Segment] = []
    plain: list[str] = []
    for column, width in layout:
        cell = cells.get(column.key, "")
        if isinstance(cell, str):
            plain.append(_PAD + fit_text(cell, width, column.align) + _PAD)
            continue
        segments.append(Segment("".join(plain) + _PAD, style))
        plain = [_PAD]
        text = fit_cell(cell, width, column.align)
        # Text.render leaves the Text's own base style to its caller.
        base = style + console.get_style(text.style) if text.style else style
        segments.extend(Segment.apply_style(text.render(console), base))
    segments.append(Segment("".join(plain), style))
    return segments


class PageCache:
    """At most ``max_pages`` pages of ``page_size`` rows, least recently used dropped
    first: 100,000 rows are never all in memory, the ones on screen always are."""

    def __init__(self, page_size: int, max_pages: int) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()

    def __contains__(self, page: object) -> bool:
        return page in self._pages

    def __len__(self) -> int:
        return len(self._pages)

    def clear(self) -> None:
        self._pages.clear()

    def page_of(self, index: int) -> int:
        return index // self.page_size

    def get(self, index: int) -> Row | None:
        """The row at ``index`` if its page is here (the page becomes the newest)."""
        page = self._pages.get(index // self.page_size)
        if page is None:
            return None
        self._pages.move_to_end(index // self.page_size)
        offset = index % self.page_size
        return page[offset] if offset < len(page) else None

    def store(self, page: int, rows: list[Row]) -> None:
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    def rows(self) -> Iterator[tuple[int, Row]]:
        """Every cached row with its index."""
        for page, rows in self._pages.items():
            start = page * self.page_size
            for offset, row in enumerate(rows):
                yield start + offset, row

    def replace(self, fresh: Mapping[str, Row]) -> set[str]:
        """Put fresh copies in place of the cached rows with these keys (same index:
        a refreshed row never moves). Returns the keys replaced."""
        done: set[str] = set()
        for rows in self._pages.values():
            for offset, row in enumerate(rows):
                if row.key in fresh:
                    rows[offset] = fresh[row.key]
                    done.add(row.key)
        return done
