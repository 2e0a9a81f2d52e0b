"""The create forms against the real sandbox: every variant of New customer, New account
and New bill sent as ONE request (its exact body in the request log, the objects in the
sandbox, in the lists at once, and the new object's detail opened); the first field
focused and Tab walking the fields in visual order; errors while typing and the minor
units an amount sends; an API error beside its field with everything typed kept; a
duplicate reference (409) and Ctrl+O; a timed-out create sent again safely; a dismissed
form coming back filled; New bill pre-filled from an account; the preview and its curl,
with no secret on screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets._toast import Toast

from moment_tui.api.client import MomentClient, RetryPolicy
from moment_tui.api.models import Customer
from moment_tui.api.requestlog import RequestRecord
from moment_tui.config import Settings
from moment_tui.runtime import SANDBOX_KEY, RuntimeOptions
from moment_tui.sandbox.server import SandboxConfig, SandboxThread
from moment_tui.secrets import Secret
from moment_tui.ui.app import MomentApp
from moment_tui.ui.factory import create_app
from moment_tui.ui.modals.confirm_action import ConfirmAction
from moment_tui.ui.modals.keys import KeysHelp
from moment_tui.ui.navigate import detail_screen
from moment_tui.ui.privacy import mask_email, mask_name, mask_phone
from moment_tui.ui.screens.browse import ListScreen
from moment_tui.ui.screens.form_base import FormScreen
from moment_tui.ui.screens.new_bill import NewBill
from moment_tui.ui.widgets.form_field import FormField, field_id
from moment_tui.ui.widgets.lazy_table import LazyTable
from tests.ui.ui_helpers import (
    SEED_TODAY,
    SEEDED,
    TEST_KEY,
    assert_no_secret,
    on_screen,
    sandbox_app,
    screen_text,
    shows,
    started,
    wait_until,
)
from tests.ui.ui_helpers import (
    field_message as message,
)
from tests.ui.ui_helpers import (
    focus_field as focus,
)
from tests.ui.ui_helpers import (
    focused_field as focused_path,
)
from tests.ui.ui_helpers import (
    form_field as field,
)
from tests.ui.ui_helpers import (
    type_in_field as type_in,
)

SIZE = (120, 40)
TODAY = SEED_TODAY.isoformat()  # the console's today on a sandbox seeded for it
DUE = "2026-12-01"  # offered: 30 days on
VIEW_KEYS = {"customer": ("2", "customers"), "account": ("3", "accounts"), "bill": ("4", "bills")}
FIRST_FIELD = {"customer": "external_reference", "account": "customer_is", "bill": "target"}


# --- driving a form -----------------------------------------------------------------------


def form(app: MomentApp) -> FormScreen:
    screen = app.screen
    assert isinstance(screen, FormScreen), f"not a form: {screen!r}"
    return screen


def built(app: MomentApp) -> bool:
    """Every section the form shows now is on screen, its fields composed (a section
    hidden when the form opened is built when first shown)."""
    screen = form(app)
    values = screen.draft.values
    for section in screen.sections:
        if section.when(values):
            for spec in section.fields:
                found = screen.query(f"#{field_id(spec.path)}")
                if not found or not found.first().query("Input, Select"):
                    return False
    return True


def status(app: MomentApp) -> str:
    return str(app.screen.query_one("#form-status", Static).content)


def shown_fields(app: MomentApp) -> list[str]:
    return [f.spec.path for f in app.screen.query(FormField) if f.display]


def first_field_ready(app: MomentApp, path: str) -> bool:
    """The form is up: its first field has the focus, and the screen shows its label."""
    if not isinstance(app.screen, FormScreen) or focused_path(app) != path:
        return False
    return on_screen(app, field(app, path).spec.label)


async def view(pilot: Pilot[Any], app: MomentApp, kind: str) -> ListScreen[Any]:
    """The kind's list (back from a detail opened on it, else by its key)."""
    key, mode = VIEW_KEYS[kind]
    for _ in range(3):
        if app.current_mode != mode or isinstance(app.screen, ListScreen):
            break
        await pilot.press("escape")
    await pilot.press(key)
    await wait_until(
        pilot,
        lambda: (
            app.current_mode == mode
            and isinstance(app.screen, ListScreen)
            and app.screen.count is not None
        ),
        f"the {mode} view",
    )
    screen = app.screen
    assert isinstance(screen, ListScreen)
    return screen


async def open_form(pilot: Pilot[Any], kind: str) -> MomentApp:
    """``n`` on the kind's view; returns once the first field is focused and drawn."""
    app = await started(pilot)
    await view(pilot, app, kind)
    await pilot.press("n")
    await wait_until(pilot, lambda: first_field_ready(app, FIRST_FIELD[kind]), "the form")
    return app


async def fill(pilot: Pilot[Any], app: MomentApp, values: dict[str, str]) -> None:
    for path, text in values.items():
        await type_in(pilot, path, text)


async def choose(pilot: Pilot[Any], app: MomentApp, path: str, value: str) -> None:
    """Choose in a Select with the keyboard: Enter opens it, arrows move, Enter takes."""
    select = field(app, path).control
    assert isinstance(select, Select)
    values = [v for v, _ in field(app, path).spec.choices]
    await focus(pilot, path)
    moves = values.index(value) - values.index(str(select.value))
    await pilot.press("enter")
    await wait_until(pilot, lambda: select.expanded, "the choices open")
    await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
    await wait_until(pilot, lambda: select.value == value, f"{value} chosen")
    await wait_until(pilot, lambda: form(app).draft.values.get(path) == value, "the form follows")
    assert built(app), "the draft takes a choice once the sections it shows are built"


async def pick(pilot: Pilot[Any], app: MomentApp, path: str, search: str, object_id: str) -> None:
    """Search the catalogue in a pick field, and take the match ``object_id`` by ↓ and
    Enter (the first match by Enter alone)."""
    await type_in(pilot, path, search)
    chosen = field(app, path)
    await wait_until(pilot, lambda: chosen.first_match() is not None, f"matches for {search!r}")
    options = chosen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    assert object_id in ids, f"{object_id} not among the matches for {search!r}: {ids}"
    if ids[0] == object_id:
        await pilot.press("enter")  # Enter in the search takes the first match
    else:
        await pilot.press("down", *["down"] * ids.index(object_id), "enter")
    await wait_until(pilot, lambda: chosen.value == object_id, f"{object_id} picked")


async def send(pilot: Pilot[Any], app: MomentApp, detail: str) -> Any:
    """Ctrl+S, until the new object's detail view is up; returns that screen."""
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: type(app.screen).__name__ == detail, f"the new {detail}")
    return app.screen


def posts(app: MomentApp) -> list[RequestRecord]:
    log = app.moment.runtime.request_log
    assert log is not None
    return [record for record in log if record.method == "POST"]


def client_for(app: MomentApp) -> MomentClient:
    """A client of its own on the console's sandbox (it takes any test key)."""
    console_client = app.moment.runtime.client
    assert console_client is not None
    return MomentClient("sk_test_forms_check_client", base_url=console_client.base_url)


async def listed(pilot: Pilot[Any], app: MomentApp, kind: str, reference: str, count: int) -> None:
    """The kind's view counts ``count`` rows, and its filter finds ``reference``."""
    screen = await view(pilot, app, kind)
    await wait_until(pilot, lambda: screen.count == count, f"{count} in the {kind} view")
    await pilot.press("slash", *reference)
    table = screen.query_one(LazyTable)

    def found() -> bool:
        row = table.get_row(0) if screen.count == 1 else None
        return row is not None and reference in [str(v) for v in row.cells.values()]

    await wait_until(pilot, found, f"{reference} listed")
    await pilot.press("escape")


def toast_says(app: MomentApp, text: str) -> bool:
    """A notification on screen shows ``text`` (however its lines wrap); only apps
    run with ``notifications=True`` draw them."""
    return any(shows(app, toast, text) for toast in app.screen.query(Toast))


async def catalogue_knows(app: MomentApp, kind: Any, ref: str) -> Any:
    entry = await app.moment.queries.entry(kind, ref)
    assert entry is not None, f"the catalogue does not know {kind} {ref}"
    return entry.obj


# --- opening, focus and Tab -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["customer", "account", "bill"])
async def test_n_opens_the_form_first_field_focused_and_tab_walks_in_visual_order(
    tmp_path: Path, kind: str
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, kind)
        if kind == "bill":
            await choose(pilot, app, "target", "new_both")  # every section it can show
            await focus(pilot, "target")
        order = shown_fields(app)
        fields = [field(app, path) for path in order]
        ys = [f.region.y for f in fields]
        assert ys == sorted(set(ys)), "one field a line, top to bottom"
        walked = []
        for _ in order:
            await pilot.press("tab")
            walked.append(focused_path(app))
        assert walked == [*order[1:], order[0]]  # down the form, then round to the top
        backwards = []
        for _ in order:
            await pilot.press("shift+tab")
            backwards.append(focused_path(app))
        assert backwards == list(reversed(order))  # up the form, from the top round


async def test_text_typed_right_after_tab_goes_into_the_next_field(tmp_path: Path) -> None:
    """Keys as a terminal delivers them, all in one burst (a fast typist, a paste, tmux
    send-keys): nothing waits between Tab and the text after it. Textual forwards each
    key to the focused widget's queue; a plain Tab moved the focus only once it had
    bubbled back up, and the text after it landed in the field it left."""
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        typed = {"external_reference": "UCR9", "name": "Thabo", "email": "thabo"}
        for index, text in enumerate(typed.values()):
            if index:
                app.post_message(events.Key("tab", "\t"))
            for character in text:
                app.post_message(events.Key(character, character))

        def values() -> dict[str, str]:
            return {path: field(app, path).value for path in typed}

        await wait_until(pilot, lambda: values() == typed, f"each text in its field: {typed}")
        assert focused_path(app) == "email"


async def test_what_is_typed_while_the_form_opens_goes_into_its_first_field(
    tmp_path: Path,
) -> None:
    """``n`` and the reference at once, then Tab and the name, in one burst: "n" pushes
    the form as the app reads it, and the keys read while it is built reach its first
    field, in order, ahead of those after."""
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await view(pilot, app, "customer")
        for key, character in [("n", "n"), *[(c, c) for c in "UCR77"], ("tab", "\t")]:
            app.post_message(events.Key(key, character))
        for character in "Ayanda":
            app.post_message(events.Key(character, character))
        typed = {"external_reference": "UCR77", "name": "Ayanda"}

        def values() -> dict[str, str]:
            if not isinstance(app.screen, FormScreen) or not app.screen.is_mounted:
                return {}
            return {path: field(app, path).value for path in typed}

        await wait_until(pilot, lambda: values() == typed, f"each text in its field: {typed}")
        assert focused_path(app) == "name"


async def test_sections_follow_the_choice(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        bill_fields = [
            "external_reference",
            "currency",
            "amount_due",
            "bill_date",
            "due_date",
            "metadata",
        ]
        assert shown_fields(app) == ["target", "account", *bill_fields]
        await choose(pilot, app, "target", "customer")
        assert shown_fields(app) == ["target", "customer", *bill_fields]
        await choose(pilot, app, "target", "new_account")
        assert shown_fields(app) == [
            "target",
            "account.customer",
            "account.external_reference",
            "account.name",
            *bill_fields,
        ]
        await choose(pilot, app, "target", "new_both")
        customer_fields = [
            f"account.customer.{p}"
            for p in ("external_reference", "name", "email", "phone", "currency")
        ]
        assert shown_fields(app) == [
            "target",
            "account.external_reference",
            "account.name",
            *customer_fields,
            "account.customer.balance",
            "account.customer.metadata",
            *bill_fields,
        ]
        assert on_screen(app, "New account", "New customer", "Bill")


# --- every variant: one request, the objects made, listed and opened -------------------------


async def test_new_customer(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE, notifications=True) as pilot:
        app = await open_form(pilot, "customer")
        await pilot.press(*"UCR-FORM-1")  # the focused first field
        await fill(
            pilot,
            app,
            {
                "name": "Ayanda Form",
                "email": "ayanda@example.com",
                "phone": "+27821230000",
                "currency": "ZAR",
                "balance": "-12.50",
                "metadata": "plan=gold; region=KZN",
            },
        )
        detail = await send(pilot, app, "CustomerDetail")
        [post] = posts(app)
        assert (post.path, post.status) == ("/billing/customers", 201)
        assert post.request_body == {
            "external_reference": "UCR-FORM-1",
            "name": "Ayanda Form",
            "email": "ayanda@example.com",
            "phone": "+27821230000",
            "currency": "ZAR",
            "balance": -1250,
            "metadata": {"plan": "gold", "region": "KZN"},
        }
        async with client_for(app) as moment:
            made = await moment.get_customer("UCR-FORM-1")
        assert (made.name, made.balance, made.phone) == ("Ayanda Form", -1250, "+27821230000")
        assert detail.object_id == made.id
        await wait_until(pilot, lambda: on_screen(app, "Ayanda Form"), "the detail drawn")
        assert toast_says(app, "Created customer UCR-FORM-1")
        await listed(pilot, app, "customer", "UCR-FORM-1", SEEDED["customer"] + 1)


async def test_new_account_for_an_existing_customer_found_by_email(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "account")
        naledi = await catalogue_knows(app, "customer", "UCR100002")
        assert naledi.email == "naledi.dlamini@example.com"
        assert focused_path(app) == "customer_is"
        await pick(pilot, app, "customer", "naledi.dlamini@", naledi.id)
        assert field(app, "customer").control.value.startswith("Naledi Dlamini")  # type: ignore[attr-defined]
        assert focused_path(app) == "external_reference"  # on to the next field
        await pilot.press(*"UAR-FORM-1")
        await fill(pilot, app, {"name": "Fibre 100", "currency": "ZAR", "balance": "350"})
        detail = await send(pilot, app, "AccountDetail")
        [post] = posts(app)
        assert (post.path, post.status) == ("/billing/accounts", 201)
        assert post.request_body == {
            "customer": naledi.id,
            "external_reference": "UAR-FORM-1",
            "name": "Fibre 100",
            "currency": "ZAR",
            "balance": 35000,
        }
        async with client_for(app) as moment:
            made = await moment.get_account("UAR-FORM-1")
        assert (made.customer_id, made.balance) == (naledi.id, 35000)
        assert detail.object_id == made.id
        await listed(pilot, app, "account", "UAR-FORM-1", SEEDED["account"] + 1)


async def test_new_account_with_a_new_customer_in_the_same_request(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "account")
        await choose(pilot, app, "customer_is", "new")
        await fill(
            pilot,
            app,
            {
                "customer.external_reference": "UCR-FORM-2",
                "customer.name": "Bheki Nested",
                "customer.email": "bheki@example.com",
                "external_reference": "UAR-FORM-2",
                "name": "Device plan",
            },
        )
        detail = await send(pilot, app, "AccountDetail")
        [post] = posts(app)
        assert post.request_body == {
            "customer": {
                "external_reference": "UCR-FORM-2",
                "name": "Bheki Nested",
                "email": "bheki@example.com",
            },
            "external_reference": "UAR-FORM-2",
            "name": "Device plan",
        }
        async with client_for(app) as moment:
            account = await moment.get_account("UAR-FORM-2")
            customer = await moment.get_customer("UCR-FORM-2")
        assert account.customer_id == customer.id
        assert detail.object_id == account.id
        assert (await catalogue_knows(app, "customer", customer.id)).name == "Bheki Nested"
        await listed(pilot, app, "account", "UAR-FORM-2", SEEDED["account"] + 1)
        await listed(pilot, app, "customer", "UCR-FORM-2", SEEDED["customer"] + 1)


BILL_TYPED = {"currency": "ZAR", "amount_due": "1,234.50", "metadata": "description=Repairs"}


def bill_body(reference: str, **links: Any) -> dict[str, Any]:
    return {
        **links,
        "external_reference": reference,
        "currency": "ZAR",
        "amount_due": 123450,
        "bill_date": TODAY,
        "due_date": DUE,
        "metadata": {"description": "Repairs"},
    }


async def bill_details(pilot: Pilot[Any], app: MomentApp, reference: str) -> None:
    """The bill's own fields; the currency may have followed the chosen customer's."""
    typed = {"external_reference": reference, **BILL_TYPED}
    if field(app, "currency").value == "ZAR":
        del typed["currency"]
    await fill(pilot, app, typed)
    assert field(app, "bill_date").value == TODAY  # defaults: today, and 30 days on
    assert field(app, "due_date").value == DUE
    await wait_until(
        pilot, lambda: message(app, "amount_due") == "sends 123450 (R 1,234.50)", "the note"
    )


async def test_new_bill_on_an_existing_account(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        account = await catalogue_knows(app, "account", "UAR1000250")
        await pick(pilot, app, "account", "UAR100025", account.id)  # by reference
        await wait_until(pilot, lambda: field(app, "currency").value == "ZAR", "its currency")
        await fill(pilot, app, {"external_reference": "INV-FORM-1"})
        await fill(pilot, app, {k: v for k, v in BILL_TYPED.items() if k != "currency"})
        detail = await send(pilot, app, "BillDetail")
        [post] = posts(app)
        assert (post.path, post.status) == ("/billing/bills", 201)
        assert post.request_body == bill_body("INV-FORM-1", account=account.id)
        async with client_for(app) as moment:
            made = await moment.get_bill("INV-FORM-1")
        assert (made.account_id, made.customer_id) == (account.id, account.customer_id)
        assert (made.amount_due, str(made.due_date)) == (123450, DUE)
        assert detail.object_id == made.id
        await wait_until(pilot, lambda: on_screen(app, "R 1,234.50"), "the bill drawn")
        await listed(pilot, app, "bill", "INV-FORM-1", SEEDED["bill"] + 1)


async def test_new_bill_on_an_existing_customer(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        await choose(pilot, app, "target", "customer")
        thabo = await catalogue_knows(app, "customer", "UCR100001")
        await pick(pilot, app, "customer", "Thabo Mok", thabo.id)  # by name
        await bill_details(pilot, app, "INV-FORM-2")
        detail = await send(pilot, app, "BillDetail")
        [post] = posts(app)
        assert post.request_body == bill_body("INV-FORM-2", customer=thabo.id)
        async with client_for(app) as moment:
            made = await moment.get_bill("INV-FORM-2")
        assert (made.customer_id, made.account_id) == (thabo.id, None)
        assert detail.object_id == made.id
        await listed(pilot, app, "bill", "INV-FORM-2", SEEDED["bill"] + 1)


async def test_new_bill_with_a_new_account_for_an_existing_customer(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        await choose(pilot, app, "target", "new_account")
        sipho = await catalogue_knows(app, "customer", "UCR100003")
        await pick(pilot, app, "account.customer", sipho.id[:12], sipho.id)  # by id
        await wait_until(pilot, lambda: field(app, "currency").value == "ZAR", "its currency")
        await fill(
            pilot, app, {"account.external_reference": "UAR-FORM-3", "account.name": "Repairs"}
        )
        await bill_details(pilot, app, "INV-FORM-3")
        detail = await send(pilot, app, "BillDetail")
        [post] = posts(app)
        assert post.request_body == bill_body(
            "INV-FORM-3",
            account={"customer": sipho.id, "external_reference": "UAR-FORM-3", "name": "Repairs"},
        )
        async with client_for(app) as moment:
            made = await moment.get_bill("INV-FORM-3")
            account = await moment.get_account("UAR-FORM-3")
        assert (made.account_id, made.customer_id) == (account.id, sipho.id)
        assert account.customer_id == sipho.id
        assert detail.object_id == made.id
        assert (await catalogue_knows(app, "account", account.id)).name == "Repairs"
        await listed(pilot, app, "bill", "INV-FORM-3", SEEDED["bill"] + 1)
        await listed(pilot, app, "account", "UAR-FORM-3", SEEDED["account"] + 1)


async def test_the_three_level_bill_is_one_request(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        await choose(pilot, app, "target", "new_both")
        await fill(
            pilot,
            app,
            {
                "account.external_reference": "UAR-FORM-4",
                "account.name": "Solar lease",
                "account.customer.external_reference": "UCR-FORM-4",
                "account.customer.name": "Zodwa Three",
                "account.customer.email": "zodwa@example.com",
                "account.customer.phone": "+27831234567",
                "account.customer.metadata": "segment=retail",
            },
        )
        await bill_details(pilot, app, "INV-FORM-4")
        detail = await send(pilot, app, "BillDetail")
        [post] = posts(app)  # ONE request made all three
        assert post.request_body == bill_body(
            "INV-FORM-4",
            account={
                "external_reference": "UAR-FORM-4",
                "name": "Solar lease",
                "customer": {
                    "external_reference": "UCR-FORM-4",
                    "name": "Zodwa Three",
                    "email": "zodwa@example.com",
                    "phone": "+27831234567",
                    "metadata": {"segment": "retail"},
                },
            },
        )
        async with client_for(app) as moment:
            made = await moment.get_bill("INV-FORM-4")
            account = await moment.get_account("UAR-FORM-4")
            customer = await moment.get_customer("UCR-FORM-4")
        assert (made.account_id, made.customer_id) == (account.id, customer.id)
        assert account.customer_id == customer.id
        assert customer.metadata == {"segment": "retail"}
        assert detail.object_id == made.id
        await wait_until(pilot, lambda: on_screen(app, "Zodwa Three"), "its customer named")
        await listed(pilot, app, "bill", "INV-FORM-4", SEEDED["bill"] + 1)
        await listed(pilot, app, "account", "UAR-FORM-4", SEEDED["account"] + 1)
        await listed(pilot, app, "customer", "UCR-FORM-4", SEEDED["customer"] + 1)
        # Made in that request, so "created from this console", not "looked up".
        for kind, object_id in (("account", account.id), ("customer", customer.id)):
            entry = await app.moment.queries.entry(kind, object_id)  # type: ignore[arg-type]
            assert entry is not None
            assert (entry.source, entry.first_source) == ("created", "created")


async def test_new_bill_from_an_accounts_detail_is_pre_filled_with_it(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        account = await catalogue_knows(app, "account", "UAR1000250")
        await view(pilot, app, "account")
        app.push_screen(detail_screen(app.moment, "account", account.id))
        await wait_until(pilot, lambda: on_screen(app, f"Accounts › {account.name}"), "detail")
        await pilot.press("n")  # the detail's New bill
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form")
        assert field(app, "target").value == "account"
        assert field(app, "account").value == account.id
        shown = field(app, "account").control.value  # type: ignore[attr-defined]
        assert shown.startswith(account.name)  # what the detail calls it
        assert field(app, "currency").value == "ZAR"  # the account's
        assert (field(app, "bill_date").value, field(app, "due_date").value) == (TODAY, DUE)
        assert message(app, "account") == ""  # chosen: nothing to fix
        await fill(pilot, app, {"external_reference": "INV-FORM-5", "amount_due": "99"})
        detail = await send(pilot, app, "BillDetail")
        [post] = posts(app)
        assert post.request_body == {
            "account": account.id,
            "external_reference": "INV-FORM-5",
            "currency": "ZAR",
            "amount_due": 9900,
            "bill_date": TODAY,
            "due_date": DUE,
        }
        assert detail.object_id == (await catalogue_knows(app, "bill", "INV-FORM-5")).id


async def test_new_bill_pre_filled_with_a_customer(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        sipho = await catalogue_knows(app, "customer", "UCR100003")
        holder = (sipho.id, f"{sipho.name} · {sipho.external_reference}", sipho.currency)
        app.push_screen(NewBill(app.moment, customer=holder))
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form")
        assert shown_fields(app)[:2] == ["target", "customer"]
        assert (field(app, "target").value, field(app, "customer").value) == ("customer", sipho.id)
        assert field(app, "currency").value == sipho.currency == "ZAR"
        await fill(pilot, app, {"external_reference": "INV-FORM-10", "amount_due": "5"})
        await send(pilot, app, "BillDetail")
        [post] = posts(app)
        assert post.request_body is not None
        assert post.request_body["customer"] == sipho.id
        async with client_for(app) as moment:
            made = await moment.get_bill("INV-FORM-10")
        assert (made.customer_id, made.account_id, made.amount_due) == (sipho.id, None, 500)


# --- as you type ---------------------------------------------------------------------------


async def test_errors_show_beside_their_fields_while_typing(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        await fill(pilot, app, {"phone": "0821234567", "email": "thabo@"})
        await wait_until(
            pilot,
            lambda: message(app, "phone") == "use international E.164 form, e.g. +27821234567",
            "the phone's error",
        )
        assert message(app, "email") == "enter an email address such as name@example.com"
        assert field(app, "phone").has_class("-error")
        assert on_screen(app, "use international E.164 form", "enter an email address")
        await pilot.press("ctrl+u")  # clears the email
        await pilot.press(*"thabo@example.com")
        await wait_until(pilot, lambda: message(app, "email") == "", "the email fixed")
        assert not field(app, "email").has_class("-error")
        await pilot.press("escape")

        await view(pilot, app, "bill")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the bill form")
        await fill(pilot, app, {"currency": "ZAR", "amount_due": "12.345"})
        await wait_until(
            pilot,
            lambda: (
                message(app, "amount_due")
                == "'12.345' has too many decimals: ZAR takes at most 2 decimal places"
            ),
            "too many decimals",
        )
        await pilot.press("backspace")
        await wait_until(
            pilot, lambda: message(app, "amount_due") == "sends 1234 (R 12.34)", "the minor units"
        )
        assert on_screen(app, "sends 1234 (R 12.34)")
        await focus(pilot, "due_date")
        await pilot.press("ctrl+u", *"2026-10-31")
        await wait_until(
            pilot,
            lambda: message(app, "due_date") == "Due date cannot be before the bill date",
            "the due date's error, in the form's words (not the API's due_date, bill_date)",
        )
        assert on_screen(app, "Due date cannot be before the bill date")
        await pilot.press("ctrl+s")  # refused before anything is sent
        await wait_until(pilot, lambda: "to fix before sending" in status(app), "nothing sent")
        assert posts(app) == []


# --- a new user at 80x24 ----------------------------------------------------------------------

SMALL = (80, 24)
PHONE = "account.customer.phone"
PHONE_ERROR = "use international E.164 form, e.g. +27821234567"


def in_view(app: MomentApp, widget: Widget) -> bool:
    """``widget`` is drawn whole inside the form's visible part (not scrolled off)."""
    shown = app.screen.query_one("#form").region
    return bool(widget.region) and shown.contains_region(widget.region)


async def test_ctrl_s_with_errors_at_80x24_goes_to_the_first_error_in_view_and_says_so(
    tmp_path: Path,
) -> None:
    """Errors below the screen (the focus back on the first field): Ctrl+S moves the
    focus to the first field in error, scrolls it into view with its message (not only
    its input, on the last line), and the fields to fix are named on screen, not under
    the form's last line."""
    async with sandbox_app(tmp_path).run_test(size=SMALL) as pilot:
        app = await open_form(pilot, "bill")
        await choose(pilot, app, "target", "new_both")
        await fill(
            pilot,
            app,
            {
                "account.external_reference": "UAR-SMALL-1",
                "account.customer.external_reference": "UCR-SMALL-1",
                "account.customer.name": "Lerato Small",
                PHONE: "+27821234567",
                "external_reference": "INV-SMALL-1",
                "currency": "ZAR",
                "amount_due": "12.345",
            },
        )
        await focus(pilot, "due_date")
        await pilot.press("ctrl+u", *"2026-10-31")
        await wait_until(pilot, lambda: field(app, "due_date").has_class("-error"), "refused")
        amount = field(app, "amount_due")
        await focus(pilot, "target")  # back at the top: the errors are out of sight
        await wait_until(pilot, lambda: not in_view(app, amount), "scrolled up")
        await pilot.press("ctrl+s")

        def shown() -> bool:
            lines = list(amount.query(".message"))
            return (
                focused_path(app) == "amount_due"
                and bool(lines)
                and message(app, "amount_due").startswith("'12.345' has too many decimals")
                and in_view(app, lines[0])
            )

        await wait_until(pilot, shown, "the first error focused, its message in view")
        said = "2 fields to fix before sending: Amount due, Due date."
        await wait_until(pilot, lambda: status(app) == said, "the fields to fix said")
        assert shows(app, app.screen.query_one("#form-status"), said)
        assert on_screen(app, "2 fields to fix before sending")
        assert posts(app) == []
        # The cursor waits at the end of what was typed, nothing selected: a key mends
        # the amount rather than replacing it.
        box = amount.text_box
        assert box is not None
        assert box.selection.is_empty
        assert box.cursor_position == len("12.345")
        await pilot.press("backspace")
        await wait_until(pilot, lambda: box.value == "12.34", "mended, not replaced")
        assert box.select_on_focus  # Tab into it still selects its text, as it did
        assert posts(app) == []


async def test_the_focused_field_is_drawn_apart_a_compact_choice_too(tmp_path: Path) -> None:
    """A compact Select drew the same focused or not (and like an unfocused input): the
    focused field's label is bold in another colour, and its control has a background
    of its own."""
    async with sandbox_app(tmp_path).run_test(size=SMALL) as pilot:
        app = await open_form(pilot, "bill")

        def style_of(widget: Widget) -> Any:
            x, y, _, _ = widget.region
            return app.screen.get_style_at(x, y)

        def apart(one: Any, other: Any) -> int:
            a, b = one.bgcolor.get_truecolor(), other.bgcolor.get_truecolor()
            return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))

        target, reference = field(app, "target"), field(app, "external_reference")
        await wait_until(pilot, lambda: style_of(target.query_one(".label")).bold, "bold")
        assert not style_of(reference.query_one(".label")).bold
        assert (
            style_of(target.query_one(".label")).color
            != style_of(reference.query_one(".label")).color
        )
        focused = style_of(target.control)
        await focus(pilot, "external_reference")
        await wait_until(pilot, lambda: style_of(reference.query_one(".label")).bold, "moved")
        assert not style_of(target.query_one(".label")).bold
        assert apart(focused, style_of(target.control)) >= 24, "the choice, focused or not"
        typing = style_of(reference.control)
        await focus(pilot, "currency")
        assert apart(typing, style_of(reference.control)) >= 24, "an input, focused or not"


async def test_typing_on_the_focused_choice_goes_on_into_the_next_field(tmp_path: Path) -> None:
    """New bill opens on its choice; a letter typed there was lost. It goes on into the
    field after the choice (as if Tab came first), and the choice stays as it was."""
    async with sandbox_app(tmp_path).run_test(size=SMALL) as pilot:
        app = await open_form(pilot, "bill")
        assert message(app, "target") == "Enter or ↓ to choose · typing goes to the next field"
        await pilot.press(*"elec")
        search = field(app, "account")
        await wait_until(
            pilot,
            lambda: focused_path(app) == "account" and search.control.value == "elec",  # type: ignore[attr-defined]
            "the letters in the account search",
        )
        assert field(app, "target").value == "account"


async def test_f2_on_an_incomplete_form_says_what_to_fix_and_shows_no_curl(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        await fill(pilot, app, {"phone": "082"})
        await pilot.press("f2")
        preview = app.screen.query_one("#form-preview", Static)
        await wait_until(pilot, lambda: preview.display and on_screen(app, "Not valid yet"), "")
        text = str(preview.content)
        assert "  External reference is required" in text
        assert f"Phone: {PHONE_ERROR}" in text
        assert "curl" not in text
        assert "(not valid yet)" not in text
        await focus(pilot, "phone")
        await pilot.press("ctrl+u", *"+27821234567")
        await focus(pilot, "external_reference")
        await pilot.press(*"UCR-PREVIEW-2")
        await wait_until(pilot, lambda: "curl -X POST" in str(preview.content), "the curl")
        assert "Not valid yet" not in str(preview.content)
        assert '"phone": "+27821234567"' in str(preview.content)


async def test_the_preview_is_masked_while_the_request_stays_real(tmp_path: Path) -> None:
    typed = {"name": "Ayanda Masked", "email": "ayanda.m@example.com", "phone": "+27821239876"}
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        await pilot.press("ctrl+n")
        await pilot.press(*"UCR-MASK-1")
        await fill(pilot, app, typed)
        await pilot.press("f2")
        preview = app.screen.query_one("#form-preview", Static)
        masked = [mask_name(typed["name"]), mask_email(typed["email"]), mask_phone(typed["phone"])]
        await wait_until(pilot, lambda: "curl -X POST" in str(preview.content), "the preview")
        text = str(preview.content)
        for real, drawn in zip(typed.values(), masked, strict=True):
            assert real not in text
            assert text.count(drawn) == 2, drawn  # in the body, and in the curl's
        assert shows(app, preview, f'"name": "{masked[0]}"')
        await pilot.press("ctrl+n")  # shown again: the preview follows at once
        await wait_until(pilot, lambda: typed["name"] in str(preview.content), "unmasked")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: typed["name"] not in str(preview.content), "masked")
        await send(pilot, app, "CustomerDetail")
        [post] = posts(app)
        assert post.request_body == {"external_reference": "UCR-MASK-1", **typed}


async def test_ctrl_n_redraws_a_searchs_matches_and_the_customer_picked(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "account")
        thabo = await catalogue_knows(app, "customer", "UCR100001")
        name = thabo.name
        assert name == "Thabo Mokoena"
        search = field(app, "customer")
        await type_in(pilot, "customer", "UCR100001")

        def labels() -> list[str]:
            options = search.query_one(OptionList)
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        await wait_until(pilot, lambda: search.first_match() is not None, "the matches")
        assert labels()[0].startswith(name)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: labels()[0].startswith(mask_name(name)), "re-masked")
        assert not any(name in label for label in labels())
        await pilot.press("enter")  # picks the first match, masked
        await wait_until(pilot, lambda: search.value == thabo.id, "picked")
        control = search.control
        assert isinstance(control, Input)
        assert control.value.startswith(mask_name(name))
        await pilot.press("ctrl+n")  # shown again: the choice says whom, unmasked
        await wait_until(pilot, lambda: control.value.startswith(name), "the real name")
        assert search.value == thabo.id  # still picked
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: control.value.startswith(mask_name(name)), "masked")
        assert search.value == thabo.id
        assert not on_screen(app, name)


async def test_esc_closes_a_searchs_matches_first_and_the_search_text_is_kept(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "account")
        await catalogue_knows(app, "customer", "UCR100001")
        search = field(app, "customer")
        await type_in(pilot, "customer", "UCR1000")
        await wait_until(pilot, lambda: search.first_match() is not None, "the matches")
        options = search.query_one(OptionList)

        await pilot.press("escape")  # the list closes; the form stays, as typed
        await wait_until(pilot, lambda: not options.display, "the matches closed")
        assert isinstance(app.screen, FormScreen)
        assert search.control.value == "UCR1000"  # type: ignore[attr-defined]

        await pilot.press("0")  # typing on searches again
        assert search.control.value == "UCR10000"  # type: ignore[attr-defined]
        await wait_until(pilot, lambda: search.first_match() is not None, "the matches again")
        await pilot.press("down")  # into the list
        await wait_until(pilot, lambda: options.has_focus, "the list focused")
        await pilot.press("escape")  # closed from inside it: the focus goes back to the text
        await wait_until(pilot, lambda: not options.display, "closed again")
        assert app.focused is search.control

        await pilot.press("escape")  # nothing open now: the form closes, its draft kept
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "customer_is"), "the form again")
        again = field(app, "customer")
        assert again.control.value == "UCR10000"  # type: ignore[attr-defined]
        assert again.value == ""  # a search, nothing chosen
        assert form(app).draft.values["customer"] == ""


async def test_quitting_with_a_form_typed_in_and_not_sent_asks_first(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        await type_in(pilot, "external_reference", "UCR-QUIT-1")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")

        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmAction), "the question")
        assert on_screen(app, "Quit moment-tui?", "Typed in and not sent: New customer.")
        await pilot.press("n")  # stays, the draft too
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "not quit")
        assert app.is_running
        assert app.return_code is None
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "external_reference"), "again")
        assert field(app, "external_reference").value == "UCR-QUIT-1"

        await pilot.press("ctrl+q")  # from the form itself; Ctrl+Q again means it
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmAction), "asked again")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code == 0, "quit")


async def test_a_form_opened_and_closed_untouched_does_not_hold_the_quit(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        # Each kind: its defaults (today, a due date) and its choices at their first
        # option are not typing (New account's customer choice once counted as typed).
        app = pilot.app
        assert isinstance(app, MomentApp)
        for kind in ("bill", "account", "customer"):
            assert await open_form(pilot, kind) is app
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
            assert app.moment.drafts.unsent() == [], kind
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code == 0, "quit at once")


async def test_the_due_dates_note_shows_only_while_it_is_the_offered_date(
    tmp_path: Path,
) -> None:
    offered = "offered: 30 days after the bill date"
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        await focus(pilot, "due_date")
        await wait_until(pilot, lambda: message(app, "due_date") == offered, "the offer")
        await pilot.press("ctrl+u", *"2027-01-15")
        await wait_until(pilot, lambda: field(app, "due_date").value == "2027-01-15", "typed")
        await wait_until(pilot, lambda: message(app, "due_date") == "", "no offer any more")
        await pilot.press("ctrl+u", *DUE)
        await wait_until(pilot, lambda: message(app, "due_date") == offered, "offered again")
        await focus(pilot, "bill_date")  # another bill date: DUE is not 30 days after it
        await pilot.press("ctrl+u", *"2026-11-05")
        await focus(pilot, "due_date")
        await wait_until(pilot, lambda: field(app, "bill_date").value == "2026-11-05", "typed")
        assert message(app, "due_date") == ""


# --- the API says no --------------------------------------------------------------------------


async def test_an_api_error_shows_beside_its_field_and_keeps_everything_typed(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        # The catalogue knows a customer the API does not (say, from a sandbox since
        # reset): the models accept its id, the API refuses it.
        gone = Customer(id="bcus_GoneAway000000000001", external_reference="UCR-GONE", name="Gone")
        workspace = app.moment.runtime.workspace
        assert workspace is not None
        await workspace.remember([gone], "created")
        await view(pilot, app, "bill")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form")
        await choose(pilot, app, "target", "new_account")
        await pick(pilot, app, "account.customer", "UCR-GON", gone.id)
        typed = {
            "account.external_reference": "UAR-FORM-6",
            "account.name": "Kept",
            "external_reference": "INV-FORM-6",
            "currency": "ZAR",
            "amount_due": "10",
            "metadata": "kept=yes",
        }
        await fill(pilot, app, typed)
        await pilot.press("ctrl+s")
        said = "customer 'bcus_GoneAway000000000001' doesn't exist"
        await wait_until(pilot, lambda: message(app, "account.customer") == said, "beside it")
        assert field(app, "account.customer").has_class("-error")
        assert status(app) == f"422 Request could not be processed: {said}"
        assert focused_path(app) == "account.customer"
        await pilot.press("tab")  # moving on re-checks the form: the API's words stay
        await wait_until(pilot, lambda: focused_path(app) == "account.external_reference", "")
        assert message(app, "account.customer") == said
        assert status(app) == f"422 Request could not be processed: {said}"
        assert on_screen(app, said)
        for path, text in typed.items():
            assert field(app, path).value == text
        assert field(app, "account.customer").value == gone.id
        # A definite no, kept by the API for its key: the corrected request gets a new one.
        assert form(app).draft.idempotency_key != posts(app)[0].idempotency_key
        assert isinstance(app.screen, NewBill)
        async with client_for(app) as moment:
            page = await moment.list_page(
                "account", filters={"external_reference_prefix": "UAR-FORM-6"}
            )
        assert page.items == []  # nothing half-made


async def test_a_duplicate_reference_says_so_and_ctrl_o_opens_the_existing(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        thabo = await catalogue_knows(app, "customer", "UCR100001")
        await pilot.press(*"UCR100001")
        await fill(pilot, app, {"name": "Another Thabo"})
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Ctrl+O" in status(app), "the conflict")
        assert status(app) == (
            f"Conflict: a customer with external_reference 'UCR100001' already exists "
            f"({thabo.id}) Ctrl+O opens the customer that has it."
        )
        assert message(app, "external_reference").startswith("a customer with external_")
        assert field(app, "name").value == "Another Thabo"
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CustomerDetail", "opened")
        assert app.screen.object_id == thabo.id  # type: ignore[attr-defined]
        await pilot.press("escape")  # back to the form, as it was
        await wait_until(pilot, lambda: first_field_ready(app, "external_reference"), "back")
        assert field(app, "external_reference").value == "UCR100001"
        # Corrected, it goes as a new operation: Moment keeps the 409 for the first key
        # (and would refuse that key with a changed body as a reuse).
        refused_key = posts(app)[0].idempotency_key
        assert form(app).draft.idempotency_key != refused_key
        await pilot.press("ctrl+u", *"UCR-FORM-9")
        detail = await send(pilot, app, "CustomerDetail")
        first, second = posts(app)
        assert (first.status, second.status) == (409, 201)
        assert second.idempotency_key not in (None, refused_key)
        assert second.request_body == {"external_reference": "UCR-FORM-9", "name": "Another Thabo"}
        assert detail.object_id == (await catalogue_knows(app, "customer", "UCR-FORM-9")).id


async def test_a_duplicate_inside_the_three_level_bill_names_the_nested_customer(
    tmp_path: Path,
) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        thabo = await catalogue_knows(app, "customer", "UCR100001")
        await choose(pilot, app, "target", "new_both")
        await fill(
            pilot,
            app,
            {
                "account.external_reference": "UAR-FORM-7",
                "account.customer.external_reference": "UCR100001",
                "external_reference": "INV-FORM-7",
                "currency": "ZAR",
                "amount_due": "10",
            },
        )
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Ctrl+O" in status(app), "the conflict")
        assert "Ctrl+O opens the customer that has it." in status(app)
        path = "account.customer.external_reference"
        assert "already exists" in message(app, path)
        assert focused_path(app) == path
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CustomerDetail", "opened")
        assert app.screen.object_id == thabo.id  # type: ignore[attr-defined]
        async with client_for(app) as moment:
            page = await moment.list_page(
                "account", filters={"external_reference_prefix": "UAR-FORM-7"}
            )
        assert page.items == []  # rolled back whole


# --- a lost answer, sent again safely (a Moment of its own, over a flaky wire) ----------------


class LoseFirstAnswer(httpx.AsyncBaseTransport):
    """Every request reaches the server; the first POST's answer is lost on its way
    back, so the client sees a timeout for a create that happened."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and not self.lost:
            await response.aread()
            await response.aclose()
            self.lost.append(request.headers["Idempotency-Key"])
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def real_api() -> Iterator[str]:
    """A sandbox started on its own, with nothing in it: "the real Moment"."""
    thread = SandboxThread(SandboxConfig())
    url = thread.start()
    yield url
    thread.stop()


@pytest.fixture
async def moment(real_api: str) -> AsyncIterator[MomentClient]:
    async with MomentClient(TEST_KEY, base_url=real_api) as client:
        yield client


def keyed_app(tmp_path: Path, url: str, transport: httpx.AsyncBaseTransport) -> MomentApp:
    settings = Settings(
        api_key=Secret(TEST_KEY), api_url=url, config_dir=tmp_path, data_dir=tmp_path
    )
    options = RuntimeOptions(
        transport=transport,
        retry=RetryPolicy(max_attempts=1),  # the console's retry is the person's Ctrl+S
        listener_port=0,
        workspace=tmp_path / "ws.sqlite3",
        sandbox_db=tmp_path / "unused.sqlite3",
        seed_today=SEED_TODAY,
    )
    return create_app(settings, options)


async def test_a_timed_out_create_is_sent_again_with_the_same_key_and_made_once(
    tmp_path: Path, real_api: str, moment: MomentClient
) -> None:
    wire = LoseFirstAnswer()
    async with keyed_app(tmp_path, real_api, wire).run_test(size=SIZE, notifications=True) as pilot:
        app = pilot.app
        assert isinstance(app, MomentApp)
        await wait_until(pilot, lambda: on_screen(app, "● Connected"), "connected")
        await view(pilot, app, "bill")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form")
        await choose(pilot, app, "target", "new_both")
        typed = {
            "account.external_reference": "UAR-LOST-1",
            "account.customer.external_reference": "UCR-LOST-1",
            "account.customer.name": "Lulama Lost",
            "external_reference": "INV-LOST-1",
            "currency": "ZAR",
            "amount_due": "250",
        }
        await fill(pilot, app, typed)
        key = form(app).draft.idempotency_key
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Ctrl+S sends it again" in status(app), "the timeout")
        assert status(app).startswith("No answer in time")
        assert wire.lost == [key]
        assert isinstance(app.screen, NewBill)  # nothing lost
        for path, text in typed.items():
            assert field(app, path).value == text
        made = await moment.list_page("bill", filters={"external_reference_prefix": "INV-LOST"})
        assert [b.external_reference for b in made.items] == ["INV-LOST-1"]  # it did arrive
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BillDetail", "the bill")
        notes = [n.message for n in app._notifications]
        assert any("sent again safely" in n for n in notes), notes
        await wait_until(pilot, lambda: toast_says(app, "sent again safely"), "said so")
        first, again = posts(app)
        assert (first.idempotency_key, again.idempotency_key) == (key, key)
        assert (first.error, again.status, again.replayed) == ("timed out", 201, True)
        assert again.request_body == first.request_body
        bills = await moment.list_page("bill", filters={"external_reference_prefix": "INV-LOST"})
        accounts = await moment.list_page(
            "account", filters={"external_reference_prefix": "UAR-LOST"}
        )
        customers = await moment.list_page(
            "customer", filters={"external_reference_prefix": "UCR-LOST"}
        )
        assert [len(bills.items), len(accounts.items), len(customers.items)] == [1, 1, 1]
        assert app.screen.object_id == bills.items[0].id  # type: ignore[attr-defined]
        assert_no_secret(app, TEST_KEY)


async def test_in_a_form_question_mark_is_text_and_f1_lists_the_keys(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "customer")
        await wait_until(pilot, lambda: "f1 Keys" in screen_text(app).splitlines()[-1], "F1")
        assert "? Keys" not in screen_text(app).splitlines()[-1]
        await pilot.press(*"ACME?")
        assert field(app, "external_reference").value == "ACME?"
        assert isinstance(app.screen, FormScreen)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, KeysHelp), "the keys")
        await wait_until(pilot, lambda: on_screen(app, "Tab / Shift+Tab"), "a form's keys")
        # What a form's single keys do (they are text), and each key once.
        assert on_screen(app, "In a form  letters, digits, g, q and ? are text")
        assert not on_screen(app, "Everywhere")
        text = screen_text(app).lower()
        assert text.count("ctrl+s ") == 1
        assert text.count("f2 ") == 1
        # Not the field's own text-editing keys, nor arrows said to move a list, nor
        # Ctrl+O before a 409 has named something to open.
        for absent in ("j k", "ctrl+shift+a", "super+c", "ctrl+o", "open existing"):
            assert absent not in text, absent
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), "back to the form")
        assert field(app, "external_reference").value == "ACME?"


# --- forms made ahead ---------------------------------------------------------------------


async def test_n_shows_the_blank_form_made_ahead_unless_one_was_typed_in(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        spares = app.spares._spares
        await wait_until(
            pilot, lambda: "bill" in spares and spares["bill"].form.is_mounted, "the spare"
        )
        spare = spares["bill"].form
        assert spare.is_mounted  # built …
        assert spare not in app.screen_stack  # … not shown
        await view(pilot, app, "bill")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form")
        assert app.screen is spare
        assert field(app, "bill_date").value == TODAY
        await fill(pilot, app, {"external_reference": "INV-SPARE-1"})
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
        # Typed in and dismissed: no blank spare stands in for it; n brings it back filled.
        assert app.spares.make("bill") is False
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form again")
        assert app.screen is not spare
        assert field(app, "external_reference").value == "INV-SPARE-1"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")

        # A spare made on another day (or theme) is not used: it is closed, n builds one.
        app.moment.drafts.forget(spare.draft_name)
        assert app.spares.make("bill") is True
        stale = app.spares._spares["bill"]
        stale.day = SEED_TODAY - dt.timedelta(days=1)
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "a fresh form")
        assert app.screen is not stale.form
        await wait_until(pilot, lambda: not stale.form.is_attached, "the stale one closed")


# --- nothing typed is lost --------------------------------------------------------------------


async def test_a_dismissed_form_comes_back_filled_with_the_same_key(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        account = await catalogue_knows(app, "account", "UAR1000250")
        await pick(pilot, app, "account", "UAR100025", account.id)
        await fill(pilot, app, {"external_reference": "INV-FORM-8", "amount_due": "42"})
        key = form(app).draft.idempotency_key
        label = field(app, "account").control.value  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the form again")
        assert form(app).draft.idempotency_key == key
        assert field(app, "account").value == account.id
        assert field(app, "account").control.value == label  # type: ignore[attr-defined]
        assert message(app, "account") == ""
        assert field(app, "external_reference").value == "INV-FORM-8"
        assert field(app, "amount_due").value == "42"
        assert field(app, "currency").value == "ZAR"
        await wait_until(pilot, lambda: message(app, "amount_due") == "sends 4200 (R 42.00)", "")
        await pilot.press("f2")
        await wait_until(pilot, lambda: on_screen(app, f"Idempotency-Key: {key}"), "its key")

        # A new customer form dismissed with its choice changed comes back so too.
        await pilot.press("escape")
        await view(pilot, app, "account")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "customer_is"), "account form")
        await choose(pilot, app, "customer_is", "new")
        await fill(pilot, app, {"customer.external_reference": "UCR-FORM-8"})
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "customer_is"), "again")
        assert field(app, "customer_is").value == "new"
        assert "customer.external_reference" in shown_fields(app)
        assert field(app, "customer.external_reference").value == "UCR-FORM-8"

        # Once sent, the draft is done with: the next form starts empty, with a new key.
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "dismissed")
        await view(pilot, app, "bill")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "the bill form")
        await send(pilot, app, "BillDetail")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ListScreen), "the list")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "target"), "a fresh form")
        assert form(app).draft.idempotency_key != key
        assert field(app, "account").value == ""
        assert field(app, "external_reference").value == ""


# --- the preview ------------------------------------------------------------------------------


async def test_f2_previews_the_body_and_curl_without_the_key(tmp_path: Path, real_api: str) -> None:
    async with keyed_app(tmp_path, real_api, httpx.AsyncHTTPTransport()).run_test(
        size=SIZE
    ) as pilot:
        app = pilot.app
        assert isinstance(app, MomentApp)
        await wait_until(pilot, lambda: on_screen(app, "● Connected"), "connected")
        await view(pilot, app, "customer")
        await pilot.press("n")
        await wait_until(pilot, lambda: first_field_ready(app, "external_reference"), "form")
        await pilot.press(*"UCR-PREVIEW")
        await fill(pilot, app, {"currency": "ZAR", "balance": "20"})
        await pilot.press("f2")
        await wait_until(pilot, lambda: on_screen(app, "Request · POST /billing/customers"), "")
        key = form(app).draft.idempotency_key
        for line in (
            '"external_reference": "UCR-PREVIEW",',
            '"balance": 2000',
            f"curl -X POST {real_api}/billing/customers",
            "Authorization: Bearer $MOMENT_API_KEY",
            f"Idempotency-Key: {key}",
            '"currency":"ZAR"',
        ):
            assert on_screen(app, line), line
        assert_no_secret(app, TEST_KEY)
        await pilot.press("f2")
        await wait_until(pilot, lambda: not on_screen(app, "Request · POST"), "hidden again")


async def test_the_sandbox_key_is_never_shown_either(tmp_path: Path) -> None:
    async with sandbox_app(tmp_path).run_test(size=SIZE) as pilot:
        app = await open_form(pilot, "bill")
        account = await catalogue_knows(app, "account", "UAR1000250")
        await pick(pilot, app, "account", "UAR100025", account.id)
        await fill(pilot, app, {"external_reference": "INV-KEY-1", "amount_due": "10"})
        await pilot.press("f2")  # a valid form: its curl is shown
        await wait_until(pilot, lambda: on_screen(app, "Request · POST /billing/bills"), "")
        assert on_screen(app, "Bearer $MOMENT_API_KEY")
        assert_no_secret(app, SANDBOX_KEY)
