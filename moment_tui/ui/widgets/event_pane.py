"""The live event pane beside every list: each delivery as it is received.

The same box as the home screen's deliveries, compact: time, verdict, the event's
type, amount, result, and whom the money went to by name. New rows never take the
focus or move the cursor (the table follows the newest row only when its cursor is
on it). Beside the list on wide terminals, below it on narrow ones; ``e`` hides it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moment_tui.ui.widgets.delivery_list import DeliveryList

if TYPE_CHECKING:
    from moment_tui.ui.queries import Queries


class EventPane(DeliveryList):
    def __init__(self, queries: Queries) -> None:
        super().__init__(compact=True, queries=queries, id="event-pane")
        self.border_title = "Live deliveries"
