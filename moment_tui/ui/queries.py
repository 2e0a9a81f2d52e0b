"""What screens ask for, asynchronously: catalogue reads in threads, and API lookups
that fill the catalogue. No Textual here, and no screen touches SQLite: a screen
awaits these from a worker and draws what comes back.

Every read waits until the runtime has opened the workspace (the console paints
first and starts its workspace, sandbox and listener behind the first screen); if it
never opens, the read raises :class:`Unavailable` with the reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from moment_tui.api.kinds import ID_PATTERNS
from moment_tui.store import browse
from moment_tui.store.browse import (
    AccountRow,
    BillRow,
    CustomerRow,
    Filter,
    Glance,
    Order,
    Related,
)
from moment_tui.ui.privacy import NO_MASK, Privacy

if TYPE_CHECKING:
    import sqlite3

    from moment_tui.api.models import BillingObject, ObjectKind
    from moment_tui.runtime import Runtime
    from moment_tui.store.applications import Application
    from moment_tui.store.catalogue import Entry
    from moment_tui.store.eventlog import BooksSnapshot, Delivery
    from moment_tui.store.workspace import Workspace

T = TypeVar("T")
# How a fetched copy is kept: looked up, or made inside a request this console sent.
FetchedAs = Literal["looked_up", "created"]
KINDS: Final[tuple[ObjectKind, ...]] = ("customer", "account", "bill")
PREFIXES: Final[dict[str, ObjectKind]] = {"bcus_": "customer", "bacc_": "account", "bill_": "bill"}
REFERENCE: Final = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class Unavailable(Exception):
    """The workspace did not open (or the API cannot answer): the reason, one line."""


class NotFoundAnywhere(Exception):
    """Neither the catalogue nor the API knows the id or reference."""


@dataclass(frozen=True)
class Found:
    """What Go to found, and where."""

    entry: Entry[Any]
    fetched: bool  # True: the catalogue lacked it and the API was asked
    other_case: bool = False  # found as the one reference that differs only in case


class Queries:
    """The async query layer over one runtime's workspace (and client, for lookups)."""

    def __init__(self, runtime: Runtime, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.runtime = runtime
        self.today = today
        self._opened = asyncio.Event()
        self._failure: str | None = None

    # --- readiness ------------------------------------------------------------------

    def opened(self) -> None:
        """The runtime has started (its workspace is open, or ``failed`` says why not)."""
        self._opened.set()

    def failed(self, reason: str) -> None:
        self._failure = reason
        self._opened.set()

    @property
    def is_open(self) -> bool:
        return self._opened.is_set() and self.runtime.workspace is not None

    async def _workspace(self) -> Workspace:
        await self._opened.wait()
        workspace = self.runtime.workspace
        if workspace is None:
            raise Unavailable(self._failure or "the workspace is not open")
        return workspace

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        workspace = await self._workspace()
        return await workspace.read(fn)

    async def _trigram(self) -> bool:
        return (await self._workspace()).search_available

    def filter(self, **values: Any) -> Filter:
        """A :class:`Filter` as of today (the console's clock, fixed in tests)."""
        return Filter(today=self.today(), **values)

    # --- lists ----------------------------------------------------------------------

    async def bill_ids(self, f: Filter, order: Order | None) -> list[str]:
        trigram = await self._trigram()
        return await self.read(lambda c: browse.bill_ids(c, f, order, trigram=trigram))

    async def snapshot(
        self, kind: ObjectKind, f: Filter, order: Order | None, first: int
    ) -> tuple[list[str], dict[str, Any]]:
        """A list's ids in order, and the rows of the first ``first`` of them, in one
        read: what a view needs to draw a new filter or order, with one trip to a thread."""
        trigram = await self._trigram()
        ids_of, rows_of = _LISTS[kind]

        def read(conn: sqlite3.Connection) -> tuple[list[str], dict[str, Any]]:
            ids = ids_of(conn, f, order, trigram=trigram)
            return ids, rows_of(conn, ids[:first])

        return await self.read(read)

    async def bill_rows(self, ids: Collection[str]) -> dict[str, BillRow]:
        return await self.read(lambda c: browse.bill_rows(c, ids))

    async def customer_ids(self, f: Filter, order: Order | None) -> list[str]:
        trigram = await self._trigram()
        return await self.read(lambda c: browse.customer_ids(c, f, order, trigram=trigram))

    async def customer_rows(self, ids: Collection[str]) -> dict[str, CustomerRow]:
        return await self.read(lambda c: browse.customer_rows(c, ids))

    async def account_ids(self, f: Filter, order: Order | None) -> list[str]:
        trigram = await self._trigram()
        return await self.read(lambda c: browse.account_ids(c, f, order, trigram=trigram))

    async def account_rows(self, ids: Collection[str]) -> dict[str, AccountRow]:
        return await self.read(lambda c: browse.account_rows(c, ids))

    async def glance(self) -> Glance:
        today = self.today()
        return await self.read(lambda c: browse.glance(c, today))

    async def counts(self) -> dict[str, int]:
        from moment_tui.store import catalogue

        return await self.read(catalogue.counts)

    # --- the event log ------------------------------------------------------------------

    async def history(self, limit: int) -> list[Delivery]:
        """The newest ``limit`` deliveries stored before now, oldest first."""
        from moment_tui.store import eventlog

        return await self.read(lambda c: eventlog.latest(c, limit=limit)[::-1])

    async def books(self) -> BooksSnapshot:
        from moment_tui.store.eventlog import read_books

        return await self.read(read_books)

    async def application(self, seq: int) -> Application | None:
        from moment_tui.store import applications

        return await self.read(lambda c: applications.for_delivery(c, seq))

    # --- objects ------------------------------------------------------------------------

    async def entry(self, kind: ObjectKind, ref: str) -> Entry[Any] | None:
        """The catalogue's copy, by id or external reference (None: not known here)."""
        from moment_tui.store import catalogue

        return await self.read(lambda c: catalogue.get(c, kind, ref))

    async def owing(self, kind: ObjectKind, ids: Collection[str]) -> set[str]:
        """Which of these accounts or customers have something to pay (the catalogue's
        copy: a positive balance or unpaid bills)."""
        return await self.read(lambda c: browse.owing(c, kind, ids))

    async def related(self, kind: ObjectKind, object_id: str) -> Related:
        return await self.read(lambda c: browse.related(c, kind, object_id))

    async def fetch(
        self, kind: ObjectKind, ref: str, source: FetchedAs = "looked_up"
    ) -> Entry[Any]:
        """Ask the API for the object and keep its copy in the catalogue (``created``:
        made inside a request this console sent, as a bill's new customer is).

        Raises :class:`~moment_tui.api.errors.MomentError` (``NotFound`` among them)
        or :class:`Unavailable` when there is no API to ask."""
        workspace = await self._workspace()
        client = self.runtime.client
        if client is None:
            raise Unavailable("there is no API to ask (no key, and the sandbox is not running)")
        from moment_tui.store.catalogue import now_iso

        asked = now_iso()
        obj: BillingObject = await client.get(kind, ref)
        # A payment applied while the answer was on its way keeps its newer copy.
        await workspace.remember([obj], source, unless_changed_since=asked)
        found = await self.entry(kind, obj.id)
        if found is None:  # pragma: no cover - it was just written
            raise Unavailable(f"{obj.id} was fetched but could not be kept")
        return found

    async def ensure(
        self,
        kind: ObjectKind,
        object_id: str,
        source: FetchedAs = "looked_up",
    ) -> Entry[Any] | None:
        """The catalogue's copy, fetched from the API when the catalogue lacks it
        (None when neither has it, or the API cannot be asked)."""
        from moment_tui.api.errors import MomentError

        known = await self.entry(kind, object_id)
        if known is not None:
            return known
        try:
            return await self.fetch(kind, object_id, source)
        except (MomentError, Unavailable):
            return None

    async def resolve(self, text: str) -> Found:
        """Go to: an id (``bcus_``, ``bacc_``, ``bill_``) or an external reference, from
        the catalogue if it knows it, else from the API (then kept in the catalogue).

        An external reference may name a customer, an account or a bill: the
        catalogue is asked for each kind first, then the API, customer first.
        Raises :class:`NotFoundAnywhere`, :class:`Unavailable`, or the API's error.
        """
        from moment_tui.api.errors import MomentError, NotFound

        ref = text.strip()
        if not REFERENCE.fullmatch(ref):
            raise NotFoundAnywhere(
                f"{ref[:40]!r} is not an id or external reference "
                "(letters, digits, '_' and '-' only)"
            )
        # An id is tried as its kind first; an external reference may look like one
        # ("bill_to-ACME"), so every kind is tried after it.
        prefix = PREFIXES.get(ref[:5])
        looks_like_id = prefix is not None and ID_PATTERNS[prefix].fullmatch(ref) is not None
        kinds: Sequence[ObjectKind] = KINDS
        if prefix is not None and looks_like_id:
            kinds = (prefix, *(k for k in KINDS if k != prefix))
        for kind in kinds:
            known = await self.entry(kind, ref)
            if known is not None:
                return Found(known, fetched=False)
        failure: MomentError | None = None
        for kind in kinds:
            try:
                return Found(await self.fetch(kind, ref), fetched=True)
            except NotFound:
                continue
            except MomentError as exc:  # the API could not answer: say so, not "not found"
                failure = exc
                break
        if failure is not None:
            raise failure
        # References are matched exactly (as the API does); typed in another case
        # ("inv-0042"), the one the catalogue has that differs only in case is meant.
        from moment_tui.store import catalogue

        alike: list[Entry[Any]] = []
        for kind in kinds:
            alike += await self.read(partial(catalogue.by_reference_any_case, kind=kind, ref=ref))
        if len(alike) == 1:
            return Found(alike[0], fetched=False, other_case=True)
        if looks_like_id:
            raise NotFoundAnywhere(
                f"no {prefix} with the id {ref!r} (nor anything with that external reference)"
                " in the catalogue or the API"
            )
        raise NotFoundAnywhere(
            f"no customer, account or bill with the external reference {ref!r} in the"
            " catalogue or the API"
        )

    async def refetch(self, objects: Collection[tuple[ObjectKind, str]]) -> int:
        """Ask the API again for each object (at most 8 at once); returns how many
        answered. The first failure is raised after the others have finished."""
        from moment_tui.api.errors import MomentError

        gate = asyncio.Semaphore(8)
        failures: list[MomentError] = []

        async def one(kind: ObjectKind, object_id: str) -> bool:
            async with gate:
                try:
                    await self.fetch(kind, object_id)
                except MomentError as exc:
                    failures.append(exc)
                    return False
                return True

        done = await asyncio.gather(*(one(kind, i) for kind, i in objects))
        if failures and not any(done):
            raise failures[0]
        return sum(done)

    async def search(
        self,
        text: str,
        kinds: Collection[ObjectKind],
        limit: int = 8,
        *,
        privacy: Privacy = NO_MASK,
    ) -> list[tuple[str, str]]:
        """``(id, label)`` of customers or accounts whose name, email, phone, id or
        reference contain ``text``: what a form's "choose an existing …" offers.

        Customers first, then accounts, at most ``limit`` in all. An account matches
        through its customer too (``johan`` finds Johan Botha's accounts), as the
        Accounts view's filter does, and in that view's order (by customer name); its
        label names the customer. The labels are drawn through ``privacy`` (a
        customer's name masked while the mask is on)."""
        from moment_tui.store import catalogue

        trigram = await self._trigram()
        f = self.filter(text=text)

        def read(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            others = [kind for kind in kinds if kind != "account"]
            if others:
                hits = catalogue.search(conn, text, limit=limit * 4, trigram=trigram)
                found += [
                    (entry.obj.id, pick_label(entry.obj, privacy))
                    for entry in hits
                    if entry.obj.KIND in others
                ][:limit]
            room = limit - len(found)
            if "account" in kinds and room > 0 and f.text.strip():
                ids = browse.account_ids(conn, f, None, trigram=trigram)[:room]
                accounts = catalogue.get_many(conn, "account", ids)
                holders = {entry.obj.customer_id for entry in accounts.values()}
                owners = catalogue.get_many(conn, "customer", holders)
                for object_id in ids:
                    if (account := accounts.get(object_id)) is None:
                        continue
                    owner = owners.get(account.obj.customer_id)
                    name = getattr(owner.obj, "name", None) if owner is not None else None
                    found.append((object_id, pick_label(account.obj, privacy, customer_name=name)))
            return found

        return await self.read(read)

    async def names(self, ids: Collection[str]) -> dict[str, str]:
        """A label for each id the catalogue knows: a customer's or account's name (else
        its reference), a bill's external reference."""
        from moment_tui.store import catalogue

        def read(conn: sqlite3.Connection) -> dict[str, str]:
            labels: dict[str, str] = {}
            for kind in KINDS:
                wanted = [i for i in ids if i.startswith(_PREFIX_OF[kind])]
                if not wanted:
                    continue
                for object_id, entry in catalogue.get_many(conn, kind, wanted).items():
                    name = getattr(entry.obj, "name", None)
                    labels[object_id] = name or entry.obj.external_reference
            return labels

        return await self.read(read)


def pick_label(obj: Any, privacy: Privacy = NO_MASK, *, customer_name: str | None = None) -> str:
    """``Thabo Mokoena · UCR0042 · thabo@…``: what tells one object from another (a
    customer's name and email masked when ``privacy`` says so). An account's label
    names its customer second (``customer_name``, masked likewise): accounts are
    often named alike (``Electricity prepaid · Johan Botha · UAR100030 · ZAR``)."""
    name = getattr(obj, "name", None) or ""
    parts = [privacy.label(obj.id, name) if name else ""]
    customer_id = getattr(obj, "customer_id", None)
    if customer_name and isinstance(customer_id, str):
        parts.append(privacy.label(customer_id, customer_name))
    parts.append(obj.external_reference)
    email = privacy.email(getattr(obj, "email", None))
    if email:
        parts.append(email)
    currency = getattr(obj, "currency", None)
    if currency:
        parts.append(currency)
    return " · ".join(p for p in parts if p)


_LISTS: Final[dict[str, tuple[Callable[..., list[str]], Callable[..., dict[str, Any]]]]] = {
    "bill": (browse.bill_ids, browse.bill_rows),
    "customer": (browse.customer_ids, browse.customer_rows),
    "account": (browse.account_ids, browse.account_rows),
}
_PREFIX_OF: Final[dict[ObjectKind, str]] = {kind: prefix for prefix, kind in PREFIXES.items()}
