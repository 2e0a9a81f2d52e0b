"""Opening an object's detail view, from anywhere (a list, Go to, a delivery's links)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from moment_tui.api.models import ObjectKind
    from moment_tui.ui.console import Console
    from moment_tui.ui.screens.detail_base import DetailScreen
    from moment_tui.ui.screens.form_base import FormScreen
    from moment_tui.ui.spares import SpareForms

PREFIX_KIND: dict[str, ObjectKind] = {"bcus_": "customer", "bacc_": "account", "bill_": "bill"}


READ_AHEAD: Final = 0.15  # s a detail view is read for before it is shown regardless


def detail_screen(console: Console, kind: ObjectKind, object_id: str) -> DetailScreen:
    """The detail view of one customer, account or bill (imported when first needed)."""
    if kind == "customer":
        from moment_tui.ui.screens.customer_detail import CustomerDetail

        return CustomerDetail(console, object_id)
    if kind == "account":
        from moment_tui.ui.screens.account_detail import AccountDetail

        return AccountDetail(console, object_id)
    from moment_tui.ui.screens.bill_detail import BillDetail

    return BillDetail(console, object_id)


def open_detail(app: App[object], console: Console, kind: ObjectKind, object_id: str) -> None:
    """Push the detail view on the current view's stack (Escape comes back here).

    The view is read first (from the catalogue, a few milliseconds), so that it is drawn
    once, with the object in it; an object the API must be asked for opens after
    :data:`READ_AHEAD` seconds with "Loading …" instead. Nothing is pushed if another
    screen was shown meanwhile, and a second open (Enter pressed twice) replaces this one.
    """
    screen = detail_screen(console, kind, object_id)
    origin = app.screen

    async def read_then_push() -> None:
        await screen.prepare(wait=READ_AHEAD)
        if app.screen is origin:
            app.push_screen(screen)

    app.run_worker(read_then_push(), group="open-detail", exclusive=True, exit_on_error=False)


def kind_of(object_id: str) -> ObjectKind | None:
    """``bill_…`` → ``"bill"``; None for anything without a Moment id's prefix."""
    return PREFIX_KIND.get(object_id[:5])


def form_class(kind: ObjectKind) -> type[FormScreen]:
    """The form that creates a ``kind`` (imported when first needed)."""
    if kind == "customer":
        from moment_tui.ui.screens.new_customer import NewCustomer

        return NewCustomer
    if kind == "account":
        from moment_tui.ui.screens.new_account import NewAccount

        return NewAccount
    from moment_tui.ui.screens.new_bill import NewBill

    return NewBill


def new_form(app: App[Any], console: Console, kind: ObjectKind) -> Screen[None]:
    """The form that creates a ``kind`` (``n`` on a list, the palette's New …): the
    one made ahead when it is what a fresh form would be (see ``ui.spares``)."""
    spares: SpareForms | None = getattr(app, "spares", None)
    if spares is not None:
        form = spares.take(kind)
        spares.used(kind)  # the next one, once this one is closed
        if form is not None:
            return form
    return form_class(kind)(console)
