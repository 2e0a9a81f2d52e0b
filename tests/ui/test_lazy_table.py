"""LazyTable draws 100,000 rows by fetching only the pages on screen, keeps its cursor
on the same row through sorts, reloads and refreshes, and fits its columns to the
terminal by cells."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import TypeVar

import pytest
from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from moment_tui.ui.widgets.lazy_rows import Column, Row, Sort, fit_cell, layout_columns
from moment_tui.ui.widgets.lazy_table import FLASH_SECONDS, LazyTable
from tests.ui.ui_helpers import screen_text

M = TypeVar("M", bound=Message)
SIZE = (80, 24)
ROWS_SHOWN = 23  # 24 lines less the header
COLUMNS = [
    Column("id", "Bill", 11),
    Column("name", "Customer", 12, flex=1),
    Column("status", "Status", 7, priority=1),
    Column("amount", "Amount", 9, align="right", priority=2),
]


def key(i: int) -> str:
    return f"bill_{i:06d}"


def make_row(i: int, n: int = 100_000) -> Row:
    # Names in another order than keys (7919 is prime), so sorting by them shuffles.
    cells = {
        "id": key(i),
        "name": f"Cust {(i * 7919) % n:06d}",
        "status": "paid" if i % 3 else "unpaid",
        "amount": f"{i % 997}.00",
    }
    return Row(key(i), cells, style="dim" if i % 5 == 0 else "")


class FakeSource:
    """Rows in memory, sorted on demand like the catalogue's ORDER BY (then by key).

    ``gate``, when cleared, holds every page fetch until it is set again (a slow disk);
    ``fetched`` counts the rows handed out and ``offsets`` where each page started.
    """

    def __init__(self, n: int = 0, rows: list[Row] | None = None) -> None:
        self.data = rows if rows is not None else [make_row(i, max(n, 1)) for i in range(n)]
        self.gate = asyncio.Event()
        self.gate.set()
        self.fetched = 0
        self.offsets: list[int] = []
        self.by_key: list[set[str]] = []
        self._orders: dict[Sort | None, list[Row]] = {}

    def changed(self) -> None:
        self._orders.clear()

    def ordered(self, sort: Sort | None) -> list[Row]:
        if sort not in self._orders:
            rows = self.data
            if sort is not None:
                rows = sorted(rows, key=lambda r: r.key, reverse=sort.descending)
                rows.sort(key=lambda r: str(r.cells[sort.column]), reverse=sort.descending)
            self._orders[sort] = rows
        return self._orders[sort]

    def index_of(self, row_key: str, sort: Sort | None) -> int:
        return [r.key for r in self.ordered(sort)].index(row_key)

    async def count(self, sort: Sort | None) -> int:
        return len(self.data)

    async def rows(self, offset: int, limit: int, sort: Sort | None) -> list[Row]:
        self.offsets.append(offset)
        await self.gate.wait()
        page = self.ordered(sort)[offset : offset + limit]
        self.fetched += len(page)
        return page

    async def rows_by_key(self, keys: Collection[str]) -> dict[str, Row]:
        self.by_key.append(set(keys))
        return {r.key: r for r in self.data if r.key in keys}

    async def position(self, key: str, sort: Sort | None) -> int | None:
        try:
            return self.index_of(key, sort)
        except ValueError:
            return None


class TableApp(App[None]):
    def __init__(self, table: LazyTable) -> None:
        super().__init__()
        self.table = table
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield self.table

    def on_lazy_table_row_highlighted(self, message: LazyTable.RowHighlighted) -> None:
        self.messages.append(message)

    def on_lazy_table_row_selected(self, message: LazyTable.RowSelected) -> None:
        self.messages.append(message)

    def on_lazy_table_loaded(self, message: LazyTable.Loaded) -> None:
        self.messages.append(message)

    def of(self, kind: type[M]) -> list[M]:
        return [m for m in self.messages if isinstance(m, kind)]

    def highlighted(self) -> list[tuple[str, int]]:
        return [(m.key, m.index) for m in self.messages if isinstance(m, LazyTable.RowHighlighted)]


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, seconds: float = 10.0
) -> None:
    """Wait for ``condition`` (a deadline, not a sleep: it ends as soon as it holds)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {seconds}s still waiting for {what}:\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


def lines(app: App[None]) -> list[str]:
    return screen_text(app).splitlines()


def shows(app: App[None], line: int, text: str) -> Callable[[], bool]:
    return lambda: text in lines(app)[line]


def table_app(source: FakeSource, sort: Sort | None = None, page_size: int = 100) -> TableApp:
    return TableApp(LazyTable(COLUMNS, source=source, sort=sort, page_size=page_size))


async def test_the_first_screen_of_100_000_rows_fetches_one_page() -> None:
    source = FakeSource(100_000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, ROWS_SHOWN, key(ROWS_SHOWN - 1)), "the first screen")
        shown = lines(app)
        assert "Bill" in shown[0]
        assert "Amount" in shown[0]
        assert [key(i) in shown[i + 1] for i in range(ROWS_SHOWN)] == [True] * ROWS_SHOWN
        assert source.fetched <= 300
        assert source.offsets == [0]
        assert [m.count for m in app.of(LazyTable.Loaded)] == [100_000]
        assert app.table.row_count == 100_000
        assert app.highlighted() == [(key(0), 0)]
        assert app.table.get_row(5) == source.data[5]
        assert app.table.get_row(5000) is None  # never fetched
        assert app.table.visible_keys() == [key(i) for i in range(ROWS_SHOWN)]


async def test_end_jumps_to_the_last_row_fetching_only_the_last_pages() -> None:
    source = FakeSource(100_000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        await pilot.press("end")
        await wait_until(pilot, shows(app, ROWS_SHOWN, key(99_999)), "the last row at the bottom")
        assert app.table.cursor_row == 99_999
        assert app.table.cursor_key == key(99_999)
        assert source.offsets[1:]
        assert min(source.offsets[1:]) >= 99_800
        assert source.fetched <= 300
        assert app.highlighted()[-1] == (key(99_999), 99_999)
        await pilot.press("home")
        await wait_until(pilot, shows(app, 1, key(0)), "the first row again")
        assert app.table.cursor_row == 0
        assert app.highlighted()[-1] == (key(0), 0)


async def test_keys_move_the_cursor_and_say_which_row_it_is_on() -> None:
    source = FakeSource(1000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        expected = [("j", 1), ("down", 2), ("down", 3), ("k", 2), ("up", 1), ("up", 0)]
        for pressed, index in expected:
            await pilot.press(pressed)
            assert app.table.cursor_row == index, pressed
            assert app.highlighted()[-1] == (key(index), index), pressed
        await pilot.press("up")  # at the top already: nothing new
        assert app.table.cursor_row == 0
        await pilot.press("pagedown")
        assert app.table.cursor_row == ROWS_SHOWN
        await wait_until(pilot, shows(app, 1, key(ROWS_SHOWN)), "a screen further down")
        assert app.highlighted()[-1] == (key(ROWS_SHOWN), ROWS_SHOWN)
        await pilot.press("pagedown", "down")
        assert app.table.cursor_row == 2 * ROWS_SHOWN + 1
        await wait_until(pilot, shows(app, 2, key(2 * ROWS_SHOWN + 1)), "the cursor's row")
        await pilot.press("pageup")
        assert app.table.cursor_row == ROWS_SHOWN + 1
        assert app.highlighted()[-1] == (key(ROWS_SHOWN + 1), ROWS_SHOWN + 1)


async def test_moving_below_the_screen_scrolls_the_cursor_into_view() -> None:
    app = table_app(FakeSource(1000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        await pilot.press(*["j"] * ROWS_SHOWN)  # one past the last row on screen
        await wait_until(pilot, shows(app, ROWS_SHOWN, key(ROWS_SHOWN)), "the view to follow")
        assert key(0) not in screen_text(app)


async def test_enter_selects_the_row_under_the_cursor() -> None:
    app = table_app(FakeSource(1000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: bool(app.of(LazyTable.RowSelected)), "a selection")
        [selected] = app.of(LazyTable.RowSelected)
        assert (selected.key, selected.index) == (key(2), 2)


async def test_s_sorts_by_the_next_column_and_shift_s_reverses() -> None:
    n = 1000
    source = FakeSource(n)
    app = table_app(source)
    by_name = [r.cells["name"] for r in source.ordered(Sort("name"))]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        await pilot.press("s")
        assert app.table.sort == Sort("id")
        await wait_until(pilot, shows(app, 0, "Bill ▲"), "the ▲ on Bill")
        await pilot.press("s")
        assert app.table.sort == Sort("name")
        await wait_until(pilot, shows(app, 1, str(by_name[0])), "rows by name")
        assert "Customer ▲" in lines(app)[0]
        assert "▲" not in lines(app)[0].split("Customer")[0]
        assert [str(by_name[i]) in lines(app)[i + 1] for i in range(5)] == [True] * 5
        await pilot.press("S")
        assert app.table.sort == Sort("name", descending=True)
        await wait_until(pilot, shows(app, 0, "Customer ▼"), "the ▼ on Customer")
        # The cursor stays on its row (first by name, so now last): go to the top.
        await wait_until(pilot, lambda: app.table.cursor_row == n - 1, "the cursor to follow")
        await pilot.press("home")
        await wait_until(pilot, shows(app, 1, str(by_name[-1])), "rows by name, reversed")
        assert [str(by_name[-1 - i]) in lines(app)[i + 1] for i in range(5)] == [True] * 5


async def test_a_new_sort_keeps_the_cursor_on_its_row() -> None:
    source = FakeSource(1000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        await pilot.press(*["j"] * 5)
        assert app.table.cursor_key == key(5)
        app.table.sort = Sort("name")
        at = source.index_of(key(5), Sort("name"))
        assert at != 5
        await wait_until(pilot, lambda: app.table.cursor_row == at, "the cursor to follow its row")
        assert app.table.cursor_key == key(5)
        assert key(5) in "".join(lines(app)[1:])  # on screen
        assert app.highlighted()[-1] == (key(5), at)


async def test_refresh_rows_replaces_a_row_in_place_and_flashes_it() -> None:
    source = FakeSource(1000)
    app = table_app(source, sort=Sort("name"))
    async with app.run_test(size=SIZE) as pilot:
        third = source.ordered(Sort("name"))[3]
        await wait_until(pilot, shows(app, 4, third.key), "the first rows by name")
        table = app.table
        flash = table.get_component_rich_style("lazy-table--flash").bgcolor
        assert flash not in {s.style.bgcolor for s in table.render_line(4) if s.style}
        renamed = Row(third.key, {**third.cells, "name": "Zz renamed"})
        source.data[source.data.index(third)] = renamed  # it would sort last now
        table.refresh_rows([third.key, key(999_999)])
        await wait_until(pilot, shows(app, 4, "Zz renamed"), "the new name on the same line")
        assert third.key in lines(app)[4]
        assert source.by_key == [{third.key}]  # the key not cached was not asked for
        assert table.flashing == {third.key}
        assert flash in {s.style.bgcolor for s in table.render_line(4) if s.style}
        assert table.cursor_row == 0
        await wait_until(pilot, lambda: not table.flashing, "the flash to end", FLASH_SECONDS + 3)
        assert flash not in {s.style.bgcolor for s in table.render_line(4) if s.style}
        assert "Zz renamed" in lines(app)[4]


async def test_reload_after_rows_arrive_above_keeps_the_cursor_on_its_key() -> None:
    source = FakeSource(1000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        await pilot.press(*["j"] * 10)
        assert lines(app)[11].find(key(10)) >= 0
        source.data[:0] = [Row(f"new_{i}", {"id": f"new_{i}"}) for i in range(5)]
        source.changed()
        app.table.reload()
        await wait_until(pilot, lambda: app.table.row_count == 1005, "the new count")
        assert app.table.cursor_key == key(10)
        assert app.table.cursor_row == 15
        await wait_until(pilot, shows(app, 11, key(10)), "the row to keep its line")
        assert app.focused is app.table
        assert {k for k, _ in app.highlighted()} == {key(i) for i in range(11)}


async def test_a_narrow_terminal_hides_low_priority_columns_and_cuts_the_flex_one() -> None:
    name = "Customer with a long name"
    rows = [Row(key(i), {"id": key(i), "name": name, "status": "unpaid"}) for i in range(50)]
    app = table_app(FakeSource(rows=rows))
    async with app.run_test(size=(40, 12)) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        header, first = lines(app)[:2]
        assert "Amount" not in header  # priority 2 goes first …
        assert "Status" in header
        assert "unpaid" in first
        width = app.table.scrollable_content_region.width
        flex = width - (11 + 2) - (7 + 2) - 2
        assert f" {set_cell_size(name, flex - 1)}… " in first
    assert [c.key for c, _ in layout_columns(COLUMNS, 30)] == ["id", "name"]
    assert layout_columns(COLUMNS, 100)[1] == (COLUMNS[1], 12 + 100 - 47)


async def test_wide_characters_are_cut_by_terminal_cells() -> None:
    name = "日本語の顧客名前テスト"  # 11 characters, 22 cells
    assert fit_cell(name, 9, "left").plain == "日本語の…"
    assert fit_cell(name, 8, "left").plain == "日本語 …"  # half a character becomes a space
    assert fit_cell(Text("12.00", style="red"), 8, "right").plain == "   12.00"
    assert all(cell_len(fit_cell(name, w, "left").plain) == w for w in range(1, 25))
    columns = [
        Column("id", "Bill", 11),
        Column("name", "Name", 9),
        Column("due", "Due", 8, "right"),
    ]
    overdue = Text("12 days", style="red")
    source = FakeSource(rows=[Row(key(0), {"id": key(0), "name": name, "due": overdue})])
    app = TableApp(LazyTable(columns, source=source))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the row")
        assert f" {key(0)}  日本語の…   12 days " in lines(app)[1]
        [red] = [s for s in app.table.render_line(1) if s.text == "12 days"]
        assert red.style is not None
        assert red.style.color is not None
        assert red.style.color.name == "red"


async def test_an_empty_source_shows_the_empty_text() -> None:
    table = LazyTable(COLUMNS, source=FakeSource(0))
    table.empty_text = "No bills match."
    app = TableApp(table)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, "No bills match."), "the empty text")
        assert "Bill" in lines(app)[0]
        assert [m.count for m in app.of(LazyTable.Loaded)] == [0]
        assert table.cursor_key is None
        await pilot.press("down", "enter")
        assert app.of(LazyTable.RowSelected) == []
        assert app.highlighted() == []


async def test_a_slow_page_shows_placeholders_then_the_rows() -> None:
    source = FakeSource(100_000)
    app = table_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        source.gate.clear()
        await pilot.press("end")
        await wait_until(pilot, lambda: max(source.offsets) >= 99_900, "the last page asked for")
        shown = lines(app)
        assert all(line.strip() == "…" for line in shown[1:]), shown
        assert app.table.cursor_key is None
        assert app.highlighted() == [(key(0), 0)]  # not announced before it is known
        await pilot.press("enter")  # opens once it arrives
        source.gate.set()
        await wait_until(pilot, shows(app, ROWS_SHOWN, key(99_999)), "the last rows")
        await wait_until(pilot, lambda: bool(app.of(LazyTable.RowSelected)), "the selection")
        assert app.highlighted()[-1] == (key(99_999), 99_999)
        assert app.of(LazyTable.RowSelected)[0].key == key(99_999)
        assert source.offsets.count(99_900) == 1  # one request per page


async def test_a_new_source_drops_pages_still_on_their_way() -> None:
    old = FakeSource(100_000)
    app = table_app(old)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        old.gate.clear()
        await pilot.press("end")
        await wait_until(pilot, lambda: max(old.offsets) >= 99_900, "the last page asked for")
        rows = [Row(f"cus_{i:06d}", {"id": f"cus_{i:06d}"}) for i in range(100_000)]
        app.table.set_source(FakeSource(rows=rows))
        await wait_until(pilot, shows(app, 1, "cus_000000"), "the new rows")
        assert app.table.cursor_row == 0
        assert app.table.cursor_key == "cus_000000"
        old.gate.set()
        await wait_until(pilot, lambda: old.fetched > 100, "the old last page to arrive")
        await pilot.pause()
        await pilot.press("end")  # the same page of the new rows
        await wait_until(pilot, shows(app, ROWS_SHOWN, "cus_099999"), "the new last rows")
        assert "bill_" not in screen_text(app)
        assert app.table.get_row(99_999) == rows[-1]


async def test_the_next_page_is_fetched_before_the_screen_reaches_it() -> None:
    source = FakeSource(1000)
    app = table_app(source, page_size=50)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        assert source.offsets == [0]
        await pilot.press("pagedown")  # rows 23..45 on screen, all in page 0
        await wait_until(pilot, lambda: 50 in source.offsets, "page 1, ahead of need")
        assert source.offsets == [0, 50]


async def test_only_a_dozen_pages_are_kept() -> None:
    app = table_app(FakeSource(2000), page_size=10)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, shows(app, 1, key(0)), "the first row")
        for _ in range(40):
            await pilot.press("pagedown")
        await wait_until(pilot, lambda: app.table.cursor_key == key(40 * ROWS_SHOWN), "paging")
        cached = sum(app.table.get_row(i) is not None for i in range(2000))
        assert 0 < cached <= 12 * 10
        assert app.table.get_row(0) is None


async def test_a_new_source_keeps_the_cursor_only_when_asked_and_found() -> None:
    app = table_app(FakeSource(1000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the first row")
        await pilot.press(*["j"] * 7)
        narrower = FakeSource(rows=[make_row(i, 1000) for i in range(1000) if i % 2])
        app.table.set_source(narrower, keep_cursor=True)
        await wait_until(pilot, lambda: app.table.row_count == 500, "the narrower count")
        assert (app.table.cursor_key, app.table.cursor_row) == (key(7), 3)
        app.table.set_source(FakeSource(rows=[make_row(i, 1000) for i in range(0, 1000, 2)]))
        await wait_until(pilot, lambda: app.table.cursor_key == key(0), "the top of the new rows")
        assert app.table.cursor_row == 0
        assert [m.count for m in app.of(LazyTable.Loaded)] == [1000, 500, 500]


def test_two_flex_columns_share_the_spare_width_by_weight_and_none_is_lost() -> None:
    columns = (
        Column("id", "Id", 10),
        Column("customer", "Customer", 12, flex=1),
        Column("account", "Account", 12, flex=1, priority=1),
        Column("total", "Total", 8, align="right", flex=0),
    )
    pad = 2  # a cell's padding, both sides
    fixed = sum(c.width + pad for c in columns)
    widths = [w for _, w in layout_columns(columns, fixed + 9)]
    assert widths == [10, 12 + 5, 12 + 4, 8]  # the odd cell to the first
    assert sum(w + pad for w in widths) == fixed + 9
    heavy = (columns[0], Column("a", "A", 4, flex=3), Column("b", "B", 4, flex=1))
    assert [w for _, w in layout_columns(heavy, 12 + 6 + 6 + 8)] == [10, 4 + 6, 4 + 2]
    # Hidden for want of room, a flex column takes no share: the other has it all.
    narrow = layout_columns(columns, fixed - 1)
    assert [(c.key, w) for c, w in narrow] == [("id", 10), ("customer", 12 + 13), ("total", 8)]
