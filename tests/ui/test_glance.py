"""Home's "at a glance": outstanding totals and aging (GlancePanel), and the payments
sparkline (PaymentsSpark). Against the real sandbox, seeded for SEED_TODAY, whose own
listing gives the expected figures; and the pure helpers on their own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, cast

import pytest
from textual.app import App, ComposeResult

from moment_tui.api.models import Bill, BillStatus
from moment_tui.store.browse import AGING, Glance
from moment_tui.ui.app import MomentApp
from moment_tui.ui.present import money
from moment_tui.ui.queries import Queries, Unavailable
from moment_tui.ui.state import Change, ConsoleState
from moment_tui.ui.widgets.glance import (
    LABELS,
    NOTHING,
    READ_SECONDS,
    READING,
    GlancePanel,
    aging_lines,
    currency_order,
    draw,
    scaled_bars,
)
from moment_tui.ui.widgets.payments_spark import (
    BASELINE,
    EMPTY,
    SLICES,
    PaymentsChart,
    PaymentsSpark,
    busiest,
    fit,
    spark_rows,
)
from tests.ui.ui_helpers import (
    SEED_TODAY,
    connected,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    wait_until,
)

Expected = dict[str, tuple[int, int, list[tuple[int, int]]]]  # total, bills, aging


async def seeded(app: MomentApp) -> Expected:
    """What the sandbox itself lists as unpaid, per currency, bucketed by due date."""
    client = app.moment.runtime.client
    assert client is not None
    found: Expected = {}
    async for bill in client.iterate("bill"):
        assert isinstance(bill, Bill)
        if bill.status is not BillStatus.UNPAID:
            continue
        days = 0 if bill.due_date is None else (SEED_TODAY - bill.due_date).days
        bucket = next(
            (i for i, (_, upto) in enumerate(AGING) if upto is not None and days <= upto),
            len(AGING) - 1,
        )
        total, count, aging = found.setdefault(bill.currency, (0, 0, [(0, 0)] * len(AGING)))
        n, amount = aging[bucket]
        aging[bucket] = (n + 1, amount + bill.amount_remaining)
        found[bill.currency] = (total + bill.amount_remaining, count + 1, aging)
    return found


def panel(app: MomentApp) -> GlancePanel:
    return app.home.query_one(GlancePanel)


def spark(app: MomentApp) -> PaymentsSpark:
    return app.home.query_one(PaymentsSpark)


def row_with(app: MomentApp, text: str) -> str:
    rows = [row for row in screen_text(app).splitlines() if text in row]
    assert len(rows) == 1, f"{text!r} is not on exactly one row:\n{screen_text(app)}"
    return rows[0]


def bills_text(count: int) -> str:
    return f"{count} bill" if count == 1 else f"{count} bills"


# --- against the sandbox ------------------------------------------------------------------


async def test_the_glance_shows_the_seeded_outstanding_and_aging(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        expected = await seeded(app)
        assert list(expected) == ["ZAR"]  # the seed bills in rand only
        total, count, aging = expected["ZAR"]
        assert count == 16  # SEEDED["bills_unpaid"]: the same bills
        assert sum(n for n, _ in aging) == count
        assert sum(a for _, a in aging) == total
        assert sum(1 for n, _ in aging if n) >= 2  # the picture has more than one bar

        line = f"{money(total, 'ZAR')}  outstanding in {count} bills"
        await wait_until(pilot, lambda: on_screen(app, line), "the seeded total")
        glance = panel(app).glance
        assert glance is not None
        assert glance.outstanding == {"ZAR": total}
        assert glance.unpaid_bills == {"ZAR": count}
        assert glance.aging == {"ZAR": aging}
        assert panel(app).border_title == "Outstanding"  # tall: the total has a line
        # Each bucket on its own row: label, amount and bills, the largest bar widest.
        widest = max(a for _, a in aging)
        for label, (n, amount) in zip(LABELS, aging, strict=True):
            row = row_with(app, f"│ {label} ")
            assert f" {money(amount, 'ZAR')}  " in row
            assert row.split("│")[1].rstrip().endswith(bills_text(n))
            drawn = row.count("█")
            if amount == widest:
                assert drawn == max(row_with(app, f"│ {x} ").count("█") for x in LABELS)
            if n == 0:
                assert drawn == 0
        assert on_screen(app, "Payments · last 10 min", EMPTY)
        assert spark(app).has_class("-empty")


async def test_a_payment_lowers_the_outstanding_and_draws_a_spark(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: connected(app), "the catalogue counts")
        total, count, _ = (await seeded(app))["ZAR"]
        # 80x24: the bars take the box's five lines; the total is in its title.
        title = f"Outstanding · {money(total, 'ZAR')} · {count} bills"
        await wait_until(pilot, lambda: on_screen(app, title), "the seeded total in the title")
        rows = screen_text(app).splitlines()
        top = next(i for i, row in enumerate(rows) if title in row)
        assert [rows[top + 1 + i].split("│")[1].split()[0] for i in range(5)] == [
            label.split()[0] for label in LABELS
        ]
        assert rows[top + 6].startswith("╰")  # 7 lines: the deliveries keep the rest
        assert "Deliveries" in rows[top + 7]
        assert spark(app).chart.data == [0] * SLICES

        said = await app.moment.simulate_payment()
        assert said is None  # a part payment: the webhook tells it
        state = app.moment.state
        await wait_until(pilot, lambda: bool(state.applications), "the payment applied")
        delivery = state.deliveries[1]
        assert delivery.amount is not None
        assert 0 < delivery.amount < total
        paid = total - delivery.amount
        after = f"Outstanding · {money(paid, 'ZAR')} · {count} bills"  # a part: still unpaid
        await wait_until(pilot, lambda: on_screen(app, after), "the lower total")
        glance = panel(app).glance
        assert glance is not None
        assert glance.outstanding == {"ZAR": paid}
        assert (await seeded(app))["ZAR"] == (paid, count, glance.aging["ZAR"])

        chart = spark(app).chart
        await wait_until(pilot, lambda: any(chart.data or ()), "the spark")
        data = list(chart.data or ())
        assert len(data) == SLICES
        assert sum(data) == delivery.amount
        assert data[-1] == delivery.amount  # just now: the newest slice, at the right
        assert spark(app).currency == "ZAR"
        assert not spark(app).has_class("-empty")
        assert on_screen(app, f"{money(delivery.amount, 'ZAR')} applied")


# --- the panel on its own: reads coalesced, problems said ------------------------------


class FakeQueries:
    """``glance()`` answers from a list (an exception is raised), counting the calls."""

    def __init__(self, *answers: Glance | Exception, gate: asyncio.Event | None = None) -> None:
        self.answers = list(answers)
        self.calls: list[float] = []
        self.gate = gate

    async def glance(self) -> Glance:
        self.calls.append(time.monotonic())
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class One(App[None]):
    def __init__(self, widget: Any) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


ZAR = Glance({"ZAR": 150000}, {"ZAR": 3}, {"ZAR": [(1, 50000), (2, 100000), *[(0, 0)] * 3]})


def synced() -> ConsoleState:
    state = ConsoleState()
    state.status.connected = cast(Any, object())  # connected: an empty catalogue is empty
    return state


def text(widget: GlancePanel) -> str:
    return str(widget.content)


async def test_reads_are_coalesced_to_one_a_second() -> None:
    fake = FakeQueries(ZAR)
    widget = GlancePanel(cast(Queries, fake))
    async with One(widget).run_test(size=(60, 10)) as pilot:
        state = synced()
        widget.follow(state)
        await wait_until(pilot, lambda: widget.reads == 1, "the first read")
        for _ in range(10):  # a burst: payments, counts, a sync
            widget.changed(Change(frozenset({"applications", "counts"})), state)
        widget.changed(Change(frozenset({"deliveries"})), state)  # not a topic it reads on
        await wait_until(pilot, lambda: widget.reads == 2, "one read for the burst")
        await pilot.pause(READ_SECONDS * 1.5)
        assert len(fake.calls) == 2
        assert fake.calls[1] - fake.calls[0] >= READ_SECONDS * 0.95


async def test_a_change_during_a_read_is_read_after_it() -> None:
    gate = asyncio.Event()
    fake = FakeQueries(ZAR, gate=gate)
    widget = GlancePanel(cast(Queries, fake))
    async with One(widget).run_test(size=(60, 10)) as pilot:
        state = synced()
        widget.follow(state)
        await wait_until(pilot, lambda: len(fake.calls) == 1, "the read to start")
        assert text(widget) == READING  # nothing answered yet
        widget.changed(Change(frozenset({"catalogue"})), state)
        await pilot.pause(READ_SECONDS * 1.2)
        assert len(fake.calls) == 1  # never two at once
        gate.set()
        await wait_until(pilot, lambda: widget.reads == 2, "the change read after")
        assert len(fake.calls) == 2


async def test_unavailable_and_errors_say_why_on_one_line() -> None:
    fake = FakeQueries(Unavailable("the workspace is locked"), RuntimeError(), ZAR)
    widget = GlancePanel(cast(Queries, fake))
    async with One(widget).run_test(size=(60, 10)) as pilot:
        state = synced()
        widget.follow(state)
        await wait_until(pilot, lambda: widget.reads == 1, "the first read")
        assert text(widget) == "✕ Cannot read the catalogue: the workspace is locked"
        widget.changed(Change(frozenset({"counts"})), state)
        await wait_until(pilot, lambda: widget.reads == 2, "the second read")
        assert text(widget) == "✕ Cannot read the catalogue: RuntimeError"
        widget.changed(Change(frozenset({"counts"})), state)
        await wait_until(pilot, lambda: widget.reads == 3, "the third read")
        assert widget.problem is None
        assert "R 1,500.00  outstanding in 3 bills" in text(widget)


async def test_an_empty_catalogue_reads_until_synced_then_says_nothing_is_owed() -> None:
    empty = Glance({}, {}, {})
    widget = GlancePanel(cast(Queries, FakeQueries(empty)))
    async with One(widget).run_test(size=(60, 10)) as pilot:
        state = ConsoleState()
        widget.follow(state)
        await wait_until(pilot, lambda: widget.reads == 1, "the read")
        assert text(widget) == READING  # the first sync may still fill it
        state.status.connected = cast(Any, object())
        widget.changed(Change(frozenset({"connection"})), state)
        assert text(widget) == NOTHING


# --- pure helpers ---------------------------------------------------------------------------


def test_currencies_most_bills_first_then_larger_total_then_code() -> None:
    glance = Glance(
        {"USD": 9_000_00, "ZAR": 10_00, "EUR": 50_00, "GBP": 50_00},
        {"USD": 2, "ZAR": 7, "EUR": 2, "GBP": 2},
        {},
    )
    assert currency_order(glance) == ["ZAR", "USD", "EUR", "GBP"]
    assert currency_order(Glance({}, {}, {})) == []


def test_bars_scale_to_the_largest_bucket_and_never_hide_money() -> None:
    assert scaled_bars([100, 50, 0, 1, 25], 8) == [
        "████████",
        "████    ",
        "        ",
        "▏       ",  # 1 of 100: a sliver, not nothing
        "██      ",
    ]
    assert scaled_bars([0, 0], 4) == ["    ", "    "]
    assert scaled_bars([5], 0) == [""]
    assert all(len(b) == 13 for b in scaled_bars([3, 7, 11], 13))


def lines_of(glance: Glance, width: int, height: int) -> list[str]:
    return draw(glance, width, height).plain.split("\n")


def test_aging_lines_align_and_drop_bills_when_narrow() -> None:
    wide = [line.plain for line in aging_lines(ZAR.aging["ZAR"], "ZAR", 50)]
    # 50 cells: 7 label, 1, 21 bar (half of it for half the largest), 2, 10 amount, 2, 7.
    assert wide[0] == "current ██████████▌              R 500.00  1 bill "
    assert wide[1] == "1–30 d  █████████████████████  R 1,000.00  2 bills"
    assert wide[4] == "90+ d                              R 0.00  0 bills"
    assert {len(line) for line in wide} == {50}
    narrow = [line.plain for line in aging_lines(ZAR.aging["ZAR"], "ZAR", 30)]
    assert narrow[1] == "1–30 d  ███████  R 1,000.00  2"
    tens = [line.plain for line in aging_lines([(1, 5), (12, 100)], "ZAR", 40)]
    assert [line[-8:] for line in tens] == [" 1 bill ", "12 bills", *[" 0 bills"] * 3]


def test_draw_puts_the_total_in_the_title_when_only_the_bars_fit() -> None:
    short = draw(ZAR, 50, 5)
    assert short.title == "Outstanding · R 1,500.00 · 3 bills"
    assert short.subtitle == ""
    assert len(short.lines) == 5
    assert short.lines[0].plain.startswith("current ")
    tall = lines_of(ZAR, 50, 7)
    assert tall[0] == "R 1,500.00  outstanding in 3 bills"
    assert tall[1] == ""  # room to spare: a gap above the bars
    assert tall[2].startswith("current ")
    assert draw(ZAR, 50, 7).title == "Outstanding"
    assert lines_of(Glance({}, {}, {}), 50, 7) == [NOTHING]


@pytest.fixture
def four() -> Glance:
    return Glance(
        {"ZAR": 1_000_00, "USD": 20_00, "EUR": 3_00, "GBP": 4_00},
        {"ZAR": 9, "USD": 5, "EUR": 1, "GBP": 2},
        {"ZAR": [(9, 1_000_00), *[(0, 0)] * 4], "USD": [(5, 20_00), *[(0, 0)] * 4]},
    )


def test_draw_lists_currencies_as_room_allows(four: Glance) -> None:
    assert lines_of(four, 60, 8)[:3] == [
        "R 1,000.00  outstanding in 9 bills",
        f"{money(20_00, 'USD'):>10}  outstanding in 5 bills",  # amounts right-aligned
        "+2 more currencies",
    ]
    assert lines_of(four, 60, 8)[3].startswith("current ")  # the lead's (rand) bars
    assert "R 1,000.00" in lines_of(four, 60, 8)[3]
    assert lines_of(four, 60, 6)[0] == ("R 1,000.00  outstanding in 9 bills · +3 more currencies")
    short = draw(four, 60, 5)
    assert short.title == "Outstanding · R 1,000.00 · 9 bills"
    assert short.subtitle == "+3 more currencies"
    two = Glance({"ZAR": 1, "USD": 2}, {"ZAR": 2, "USD": 1}, {})
    assert lines_of(two, 60, 8)[:3] == [
        f"{money(1, 'ZAR'):>{len(money(2, 'USD'))}}  outstanding in 2 bills",
        f"{money(2, 'USD')}  outstanding in 1 bill",
        "",
    ]


def test_busiest_is_the_currency_paid_in_the_most_slices() -> None:
    assert busiest({}) is None
    assert busiest({"ZAR": [0, 0, 0]}) is None
    assert busiest({"ZAR": [0, 900, 0], "USD": [5, 0, 5]}) == "USD"
    assert busiest({"ZAR": [0, 900, 0], "USD": [0, 0, 5]}) == "ZAR"  # then the total
    assert busiest({"ZAR": [5, 0], "EUR": [5, 0]}) == "EUR"  # then the code


def test_spark_rows_keep_zero_on_the_baseline_and_small_payments_visible() -> None:
    assert spark_rows([0, 100, 0, 1], 4, 1) == [f"{BASELINE}█{BASELINE}▂"]
    rows = spark_rows([0, 100, 50, 1], 8, 2)  # two cells a value, two lines
    assert rows == ["  ██    ", f"{BASELINE * 2}████▂▂"]  # 50: one full line of two
    # Spare cells sit on the left: the newest slice is always at the right edge.
    assert spark_rows([0, 8], 5, 1) == [f" {BASELINE * 2}██"]
    assert spark_rows([], 3, 2) == ["   ", "   "]
    assert fit([1, 2, 3, 4], 2) == [3, 7]
    assert fit([1, 2], 4) == [1, 2]
    assert sum(fit(list(range(20)), 7)) == sum(range(20))


async def test_the_chart_draws_its_data() -> None:
    chart = PaymentsChart([0] * 3 + [10])
    async with One(chart).run_test(size=(4, 1)) as pilot:
        await pilot.pause()
        assert str(chart.render()) == f"{BASELINE * 3}█"
