"""Demo data: a realistic, deterministic set of South African customers in ZAR.

The same ``today`` always gives the same customers, accounts, bills, ids and
amounts, so screenshots and snapshot tests are stable. About a third of the
customers follow each of Moment's three billing models (customer balance, account
balance, bills), and the bills span unpaid, part-paid, paid, voided and overdue.
"""

from __future__ import annotations

import datetime as dt
import random

from moment_tui.api.models import (
    AccountCreate,
    BillCreate,
    CustomerCreate,
)
from moment_tui.sandbox.db import Database
from moment_tui.sandbox.objects import Objects

SEED = 2718
PEOPLE = [
    ("Thabo", "Mokoena"), ("Naledi", "Dlamini"), ("Sipho", "Nkosi"), ("Zanele", "Khumalo"),
    ("Pieter", "van der Merwe"), ("Anele", "Ndlovu"), ("Lerato", "Molefe"), ("Johan", "Botha"),
    ("Ayesha", "Patel"), ("Kagiso", "Mahlangu"), ("Nomvula", "Zulu"), ("Riaan", "Pretorius"),
    ("Precious", "Mthembu"), ("Themba", "Sithole"), ("Lindiwe", "Ngcobo"), ("Sibusiso", "Cele"),
    ("Karabo", "Mabena"), ("Fatima", "Cassim"), ("Mandla", "Shabalala"), ("Refilwe", "Tau"),
    ("Bongani", "Mkhize"), ("Palesa", "Mofokeng"), ("Hendrik", "Venter"), ("Nokuthula", "Radebe"),
    ("Lwazi", "Buthelezi"), ("Kefilwe", "Modise"), ("Willem", "Steyn"), ("Priya", "Naidoo"),
    ("Siyabonga", "Zwane"), ("Tshepo", "Masilela"), ("Ntombi", "Hadebe"), ("Charlene", "Adams"),
]  # fmt: skip
BUSINESSES = [
    "Soweto Solar Co-op", "Karoo Kitchen Supplies", "Umhlanga Surf School",
    "Braamfontein Print Studio", "Stellenbosch Cellar Tours", "Durban Spice Traders",
]  # fmt: skip
ACCOUNT_NAMES = ["Fibre 50 Mbps", "Mobile contract", "Device plan", "Home insurance",
                 "Car insurance", "Electricity prepaid", "Water & rates"]  # fmt: skip
BILL_ITEMS = ["Monthly subscription", "Tuition term 1", "Service call-out", "Annual licence",
              "Membership fee", "Repairs", "Consulting hours"]  # fmt: skip


def seed_if_empty(
    db: Database, objects: Objects, *, today: dt.date | None = None, seed: int | None = None
) -> int:
    """Fill an empty sandbox; returns the number of customers created (0 if not empty).

    ``seed`` (default :data:`SEED`) seeds the random choices: the same ``today`` and
    seed give the same data, ids included (``moment-tui demo --seed N``)."""
    if db.one("SELECT 1 FROM customers LIMIT 1") is not None:
        return 0
    today = today or dt.date.today()
    rng = random.Random(SEED if seed is None else seed)
    seeded = Objects(db, today=lambda: today, rng=rng)
    names = [f"{first} {last}" for first, last in PEOPLE] + BUSINESSES
    with db.transaction():
        for number, name in enumerate(names, start=1):
            _customer(seeded, rng, number, name, today)
    return len(names)


def _customer(objects: Objects, rng: random.Random, number: int, name: str, today: dt.date) -> None:
    model = ("balance", "accounts", "bills")[number % 3]
    email = name.lower().replace(" ", ".").replace("&", "and") + "@example.com"
    phone = f"+2782{rng.randrange(10**6, 10**7)}"
    body = CustomerCreate(
        external_reference=f"UCR{100000 + number}",
        name=name,
        email=email,
        phone=phone,
        currency="ZAR" if model == "balance" else None,
        balance=_balance(rng) if model == "balance" else None,
        metadata={"segment": rng.choice(["retail", "business", "student"])},
    )
    customer = objects.create_customer(body)
    if model == "accounts":
        for index in range(rng.randint(1, 3)):
            objects.create_account(
                AccountCreate(
                    customer=customer["id"],
                    external_reference=f"UAR{100000 + number}{index}",
                    name=rng.choice(ACCOUNT_NAMES),
                    currency="ZAR",
                    balance=_balance(rng),
                ),
                customer["id"],
            )
    elif model == "bills":
        account_id = None
        if rng.random() < 0.6:
            account = objects.create_account(
                AccountCreate(
                    customer=customer["id"],
                    external_reference=f"UAR{100000 + number}0",
                    name=rng.choice(ACCOUNT_NAMES),
                ),
                customer["id"],
            )
            account_id = account["id"]
        for index in range(rng.randint(1, 4)):
            _bill(objects, rng, number, index, customer["id"], account_id, today)


def _balance(rng: random.Random) -> int:
    if rng.random() < 0.12:
        return -rng.randrange(5_000, 50_000)  # a credit held for the customer
    return rng.randrange(10_000, 2_500_000, 50)


def _bill(
    objects: Objects,
    rng: random.Random,
    number: int,
    index: int,
    customer_id: str,
    account_id: str | None,
    today: dt.date,
) -> None:
    bill_date = today - dt.timedelta(days=rng.randint(3, 75))
    due_date = bill_date + dt.timedelta(days=rng.choice([7, 14, 30]))
    body = BillCreate(
        external_reference=f"INV-{today.year}-{number:03d}{index}",
        currency="ZAR",
        amount_due=rng.randrange(15_000, 1_200_000, 100),
        account=account_id,
        customer=None if account_id else customer_id,
        bill_date=bill_date,
        due_date=due_date,
        metadata={"description": rng.choice(BILL_ITEMS)},
    )
    bill = objects.create_bill(body)
    fate = rng.random()
    if fate < 0.3:
        objects.db.conn.execute(
            "UPDATE bills SET amount_paid = amount_due, status = 'paid' WHERE id = ?",
            (bill["id"],),
        )
    elif fate < 0.45:
        part = (bill["amount_due"] * rng.choice([25, 40, 50])) // 100
        objects.db.conn.execute("UPDATE bills SET amount_paid = ? WHERE id = ?", (part, bill["id"]))
    elif fate < 0.55:
        objects.db.conn.execute("UPDATE bills SET status = 'voided' WHERE id = ?", (bill["id"],))
