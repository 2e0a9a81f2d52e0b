"""Edit a bill's metadata: ``PATCH /billing/bills/{id}`` with the keys added or changed.

A bill's amounts, dates and links cannot change after creation (reference §12.4); its
paid amount has its own form (``m``, :mod:`record_payment`)."""

from __future__ import annotations

from typing import Any

from moment_tui.api.models import BillUpdate
from moment_tui.ui.forms.spec import FieldSpec, Section
from moment_tui.ui.screens.edit_base import EditForm

INTRO = (
    "Metadata merges on Moment's side: keys you add or change are sent; a key you "
    "delete here stays (the API cannot remove one). Amounts, dates and links cannot "
    "change after a bill is created."
)


class EditBillMetadata(EditForm):
    heading = "Edit bill metadata"
    sections = (
        Section(
            "",
            (
                FieldSpec(
                    "metadata",
                    "Metadata",
                    kind="metadata",
                    placeholder="e.g. description=Consulting hours; po=4471",
                ),
            ),
        ),
    )
    model = BillUpdate
    kind = "bill"
    draft_prefix = "edit-bill"

    def intro(self) -> str:
        return f"Bill {self.obj.external_reference} · {self.obj.id}\n{INTRO}"

    def confirmation_word(self, body: dict[str, Any]) -> str:
        return self.obj.external_reference
