"""A form's "choose an existing account" search (``Queries.search``) over the seeded
sandbox's catalogue: accounts told apart by their customer's name, and found by it.

Nothing here sleeps: reads are awaited with a deadline.
"""

from __future__ import annotations

import pytest

from moment_tui.runtime import Runtime
from moment_tui.ui.privacy import Privacy, mask_name
from moment_tui.ui.queries import Queries
from tests.integration.test_queries import sandboxed, within

__all__ = ["sandboxed"]  # the fixture this module's tests use, through ``queries``


@pytest.fixture
def queries(sandboxed: tuple[Runtime, Queries]) -> Queries:
    """The console's queries over the embedded sandbox, seeded, its listing copied
    into the catalogue (test_queries' fixture)."""
    return sandboxed[1]


async def owners(queries: Queries) -> dict[str, str]:
    """Each account's customer's name, by account id (from the Accounts view's rows)."""
    ids = await within(queries.account_ids(queries.filter(), None))
    rows = await within(queries.account_rows(ids))
    return {i: row.customer_name for i, row in rows.items() if row.customer_name}


async def test_accounts_named_alike_are_told_apart_by_their_customer(queries: Queries) -> None:
    names = await owners(queries)
    found = await within(queries.search("Electricity prepaid", ("account",)))
    assert len(found) >= 2  # the seed has several: the labels alone told them apart
    labels = [label for _, label in found]
    assert len(set(labels)) == len(labels)
    for object_id, label in found:
        assert label.startswith(f"Electricity prepaid · {names[object_id]} · UAR"), label
    # Masked (Ctrl+N): the customer's name is, the account's name and reference are not.
    masked = await within(queries.search("Electricity prepaid", ("account",), privacy=MASK))
    assert [i for i, _ in masked] == [i for i, _ in found]
    for (object_id, label), (_, plain) in zip(masked, found, strict=True):
        assert label == plain.replace(names[object_id], mask_name(names[object_id]))
        assert names[object_id] not in label


async def test_an_account_is_found_by_its_customers_name(queries: Queries) -> None:
    names = await owners(queries)
    mandla = sorted(i for i, name in names.items() if name == "Mandla Shabalala")
    assert len(mandla) == 3  # the seed's: none of them named or numbered "mandla"
    found = await within(queries.search("mandla", ("account",)))
    assert sorted(i for i, _ in found) == mandla
    assert all(" · Mandla Shabalala · UAR" in label for _, label in found)
    # Two letters match the start of a name, as the Accounts view's filter does.
    assert {i for i, _ in await within(queries.search("Ma", ("account",)))} >= set(mandla)
    # A customer search is as it was: the customer, not its accounts.
    customers = await within(queries.search("mandla", ("customer",)))
    assert [label.split(" · ")[0] for _, label in customers] == ["Mandla Shabalala"]
    assert all(i.startswith("bcus_") for i, _ in customers)


async def test_the_matches_keep_the_limit_and_the_accounts_views_order(queries: Queries) -> None:
    every = await within(queries.account_ids(queries.filter(text="Electricity"), None))
    assert len(every) > 3
    found = await within(queries.search("Electricity", ("account",), limit=3))
    assert [i for i, _ in found] == every[:3]  # by customer name, as the Accounts view
    assert len(await within(queries.search("UAR", ("account",)))) == 8  # the default limit


MASK = Privacy(masked=True)
