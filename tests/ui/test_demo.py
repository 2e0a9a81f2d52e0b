"""What ``moment-tui demo`` adds to the console, driven with Pilot on the real sandbox:
Ctrl+N masks personal data in every view (and shows it again), and ``--keys`` shows
the keys pressed in a strip above the footer without changing what they do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from moment_tui.store.browse import CustomerRow
from moment_tui.ui.app import MomentApp
from moment_tui.ui.privacy import mask_email, mask_name, mask_phone
from moment_tui.ui.screens.customer_detail import CustomerDetail
from moment_tui.ui.screens.customers import CustomersScreen
from moment_tui.ui.widgets.event_pane import EventPane
from moment_tui.ui.widgets.key_strip import KeyStrip
from moment_tui.ui.widgets.lazy_table import LazyTable
from tests.ui.ui_helpers import (
    SEEDED,
    connected,
    footer_drawn,
    form_field,
    form_opened,
    on_screen,
    part_payments,
    sandbox_app,
    screen_text,
    shows,
    type_in_field,
    wait_until,
)

SIZE = (120, 40)
MARK = "personal data masked"


async def customers_listed(pilot: Pilot[Any]) -> MomentApp:
    app = pilot.app
    assert isinstance(app, MomentApp)
    await wait_until(pilot, lambda: connected(app), "the catalogue synced")
    await pilot.press("2")

    def listed() -> bool:
        screen = app.screen
        return (
            isinstance(screen, CustomersScreen)
            and screen.count == SEEDED["customer"]
            and screen.query_one(LazyTable).get_row(0) is not None
        )

    await wait_until(pilot, listed, "the customers listed")
    return app


async def first_customer(app: MomentApp) -> CustomerRow:
    """The customer on the list's first row, as the catalogue holds it (unmasked)."""
    row = app.screen.query_one(LazyTable).get_row(0)
    assert row is not None
    return (await app.moment.queries.customer_rows([row.key]))[row.key]


def hidden(app: MomentApp, *texts: str) -> bool:
    shown = screen_text(app)
    return not any(text in shown for text in texts)


def first_row(app: MomentApp) -> tuple[str, str, str]:
    """The first row's name, email and phone as drawn (before a narrow column cuts them)."""
    row = app.screen.query_one(LazyTable).get_row(0)
    assert row is not None
    return str(row.cells["name"]), str(row.cells["email"]), str(row.cells["phone"])


async def test_ctrl_n_masks_names_emails_and_phones_in_every_view_and_shows_them_again(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path, rng=part_payments())
    async with app.run_test(size=SIZE) as pilot:
        await customers_listed(pilot)
        customer = await first_customer(app)
        name, email, phone = customer.name or "", customer.email or "", customer.phone or ""
        assert name.count(" ") == 1  # "Thabo Mokoena": a person, with an email and a phone
        assert "@" in email
        assert phone.startswith("+27")
        mailbox = email.partition("@")[0]  # the email column is cut at 120 columns
        assert first_row(app) == (name, email, phone)
        await wait_until(pilot, lambda: on_screen(app, name, mailbox, phone), "the customer drawn")

        # A payment: the pane names the bill's customer.
        assert await app.moment.simulate_payment() is None
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: pane.row_count == 1, "the delivery in the pane")
        [delivery] = pane.deliveries.values()
        assert delivery.customer_id is not None
        payer = (await app.moment.queries.names({delivery.customer_id}))[delivery.customer_id]
        await wait_until(pilot, lambda: shows(app, pane, payer), "the payer named in the pane")

        # Masked: the list, the pane and the breadcrumb, at once.
        await pilot.press("ctrl+n")
        assert app.moment.state.masked
        masked = (mask_name(name), mask_email(email), mask_phone(phone))
        await wait_until(pilot, lambda: first_row(app) == masked, "the list masked")
        await wait_until(
            pilot,
            lambda: on_screen(app, masked[0], masked[2]) and hidden(app, name, mailbox, phone),
            "the list drawn masked",
        )
        assert MARK in screen_text(app).splitlines()[1]
        await wait_until(pilot, lambda: shows(app, pane, mask_name(payer)), "the pane masked")
        assert not shows(app, pane, payer)
        assert on_screen(app, customer.external_reference)  # references stay

        # A detail opened while masked: its fields and its trail.
        await pilot.press("enter")

        def detail_masked() -> bool:
            screen = app.screen
            return (
                isinstance(screen, CustomerDetail)
                and screen.loaded is not None
                and screen.loaded.obj.id == customer.id
                and on_screen(app, mask_name(name), mask_email(email), mask_phone(phone))
            )

        await wait_until(pilot, detail_masked, "the customer's detail, masked")
        assert hidden(app, name, email, phone)
        assert on_screen(app, customer.id, customer.external_reference)
        assert on_screen(app, f"Customers › {mask_name(name)}", MARK)
        detail = app.screen
        assert isinstance(detail, CustomerDetail)
        assert detail.loaded is not None
        assert detail.loaded.obj.name == name  # what edits and copies use stays real

        # Ctrl+N again, in the detail: shown again at once, without reloading.
        await pilot.press("ctrl+n")
        assert not app.moment.state.masked
        await wait_until(
            pilot, lambda: on_screen(app, f"Customers › {name}", email, phone), "the detail shown"
        )
        assert MARK not in screen_text(app)

        # Back to the list, which was masked when it was left: it catches up.
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, CustomersScreen)
                and first_row(app) == (name, email, phone)
                and on_screen(app, name, mailbox, phone)
                and hidden(app, mask_name(name))
            ),
            "the list shown again",
        )
        pane = app.screen.query_one(EventPane)
        await wait_until(pilot, lambda: shows(app, pane, payer), "the pane shown again")


async def test_the_palette_offers_the_mask_and_a_demo_may_start_masked(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    app.moment.state.set_masked(True)  # moment-tui demo --masked
    async with app.run_test(size=SIZE) as pilot:
        await customers_listed(pilot)
        customer = await first_customer(app)
        assert customer.name is not None
        await wait_until(
            pilot, lambda: on_screen(app, mask_name(customer.name or ""), MARK), "masked at start"
        )
        assert hidden(app, customer.name)
        await pilot.press("ctrl+p")
        await pilot.press(*"Show personal")
        await wait_until(pilot, lambda: on_screen(app, "Show personal data"), "the entry")
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_screen(app, customer.name or "?"), "shown again")
        assert not app.moment.state.masked
        await pilot.press("ctrl+p")
        await pilot.press(*"Mask personal")
        await wait_until(pilot, lambda: on_screen(app, "Mask personal data"), "the entry")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.moment.state.masked, "masked by the palette")


async def test_the_key_strip_shows_the_last_keys_and_changes_nothing_they_do(
    tmp_path: Path,
) -> None:
    app = sandbox_app(tmp_path)
    app.show_keys()  # moment-tui demo --keys
    async with app.run_test(size=(80, 24)) as pilot:
        await customers_listed(pilot)
        await pilot.press("j", "j")
        assert app.screen.query_one(LazyTable).cursor_row == 2  # j moved the cursor twice
        await pilot.press("slash", "T", "h", "a")
        strip = app.screen.query_one(KeyStrip)
        await wait_until(
            pilot, lambda: str(strip.content) == "Keys  2  j  j  /  T  h  a", "the keys shown"
        )
        assert app.screen.query_one("#filter", Input).value == "Tha"  # typed as ever
        await wait_until(pilot, lambda: footer_drawn(app), "the footer redrawn for the filter")
        lines = screen_text(app).splitlines()
        assert lines[-2].strip() == "Keys  2  j  j  /  T  h  a"  # above the footer, which
        assert "Esc Clear" in lines[-1]  # keeps its line: the filter's keys
        await pilot.press("enter", "ctrl+n", "1")
        expected = "Keys  j  /  T  h  a  ↵  Ctrl+N  1"  # the last eight
        await wait_until(pilot, lambda: app.current_mode == "home", "home")
        home_strip = app.screen.query_one(KeyStrip)  # every view has one, drawing one log
        await wait_until(pilot, lambda: str(home_strip.content) == expected, "on home too")
        assert app.moment.state.masked  # Ctrl+N still did what it does


async def test_without_keys_there_is_no_strip(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await customers_listed(pilot)
        await pilot.press("j")
        assert app.key_log is None
        assert not app.screen.query(KeyStrip)
        assert not app.home.query(KeyStrip)
        assert "Keys  " not in screen_text(app).splitlines()[-2]


def test_keys_read_as_they_are_typed_or_named() -> None:
    from moment_tui.ui.widgets.key_strip import KeyLog, key_label

    assert [
        key_label("j", "j"),
        key_label("T", "T"),
        key_label("slash", "/"),
        key_label("enter", "\r"),
        key_label("escape", "\x1b"),
        key_label("space", " "),
        key_label("ctrl+n", None),
        key_label("ctrl+p", None),
        key_label("shift+tab", None),
        key_label("f2", None),
        key_label("up", None),
    ] == ["j", "T", "/", "↵", "Esc", "␣", "Ctrl+N", "Ctrl+P", "⇤", "F2", "↑"]
    log = KeyLog()
    seen: list[str] = []
    unsubscribe = log.subscribe(seen.append)
    for key in "abcdefghij":
        log.add(key, key)
    assert log.text == "c  d  e  f  g  h  i  j"  # the last eight
    unsubscribe()
    log.add("k", "k")
    assert seen[-1] == "c  d  e  f  g  h  i  j"


async def test_a_forms_choices_of_a_customer_are_drawn_masked(tmp_path: Path) -> None:
    """With the mask on, New bill from a customer's detail starts with the customer
    masked, and New account's search draws its matches masked; the id picked is the
    real one, and the real name, email and phone are nowhere on screen."""
    app = sandbox_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await customers_listed(pilot)
        customer = await first_customer(app)
        name, email = customer.name or "", customer.email or ""
        await pilot.press("ctrl+n")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, CustomerDetail) and app.screen.loaded is not None,
            "the customer's detail",
        )
        await form_opened(pilot, "n", "New bill")
        chosen = form_field(app, "customer")
        assert chosen.value == customer.id
        assert chosen.picked_label == mask_name(name)
        await wait_until(pilot, lambda: on_screen(app, mask_name(name)), "the customer, masked")
        assert hidden(app, name, email)

        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CustomersScreen), "the list")
        await pilot.press("3")
        await form_opened(pilot, "n", "New account")
        search = form_field(app, "customer")
        # The customer's surname: a word of the name only a match's label would draw.
        await type_in_field(pilot, "customer", name.split(" ")[1])
        await wait_until(pilot, lambda: search.first_match() is not None, "the matches")
        options = search.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(label.startswith(mask_name(name)) for label in labels), labels
        assert mask_email(email) in " ".join(labels)
        assert not any(name in label or email in label for label in labels), labels
        await pilot.press("enter")
        await wait_until(pilot, lambda: search.value != "", "a match picked")
        assert search.value.startswith("bcus_")
        assert hidden(app, name, email)
