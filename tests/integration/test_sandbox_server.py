"""The sandbox as a whole: ``--latency`` on every endpoint, secrets kept out of
reprs, and a schema that holds only the tables in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from moment_tui.sandbox.db import Database
from moment_tui.sandbox.delivery import DeliveryConfig
from moment_tui.sandbox.server import SandboxConfig
from tests.integration.conftest import API_KEY, Receiver, StartSandbox, new_key, ref

# --- --latency ----------------------------------------------------------------------------


async def test_latency_slows_every_answer_once(start_sandbox: StartSandbox) -> None:
    """Every answer — every endpoint, errors, redirects, replays — waits the configured
    latency, once. The wait is recorded instead of slept, so no time is measured."""
    sandbox = await start_sandbox(latency_ms=250)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    sandbox.state.sleep = record
    auth = {"Authorization": f"Bearer {API_KEY}"}

    def key() -> dict[str, str]:
        return {**auth, "Idempotency-Key": new_key()}

    async with httpx.AsyncClient(base_url=sandbox.url, follow_redirects=False) as http:

        async def waited(method: str, path: str, status: int, **kwargs: object) -> None:
            waits.clear()
            response = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
            assert response.status_code == status, (method, path, response.text)
            assert waits == [0.25], (method, path)

        created = await http.post(
            "/billing/customers", json={"external_reference": ref("slow")}, headers=key()
        )
        customer = created.json()["id"]
        bill_body = {"external_reference": ref("INV"), "currency": "ZAR", "amount_due": 900}
        bill = (
            await http.post(
                "/billing/bills", json={**bill_body, "customer": customer}, headers=key()
            )
        ).json()["id"]
        other = (
            await http.post(
                "/billing/bills",
                json={**bill_body, "external_reference": ref("INV"), "customer": customer},
                headers=key(),
            )
        ).json()["id"]

        await waited(
            "POST", "/billing/customers", 201, json={"external_reference": ref("s")}, headers=key()
        )
        await waited("GET", f"/billing/customers/{customer}", 200, headers=auth)
        await waited("GET", "/billing/customers/nobody", 404, headers=auth)
        await waited(
            "PATCH", f"/billing/customers/{customer}", 200, json={"name": "S"}, headers=auth
        )
        await waited("PATCH", f"/billing/customers/{customer}", 400, json={"x": 1}, headers=auth)
        await waited("GET", "/billing/bills", 200, headers=auth)
        await waited(
            "POST", "/sandbox/payments", 201, json={"bill": bill, "amount": 100}, headers=key()
        )
        await waited("POST", f"/billing/bills/{other}/void", 200, headers=key())
        await waited("GET", "/sandbox/deliveries", 200, headers=auth)
        await waited("GET", "/sandbox/events", 200, headers=auth)
        await waited("GET", f"/pay/{bill}", 200)

        async def token() -> str:  # the bill page's one-time form token
            page = (await http.get(f"/pay/{bill}")).text
            return page.split('name="token" value="', 1)[1].split('"', 1)[0]

        once = await token()
        await waited("POST", f"/pay/{bill}", 303, data={"amount": "1.00", "token": once})
        await waited("POST", f"/pay/{bill}", 303, data={"amount": "1.00", "token": once})
        await waited("POST", f"/pay/{bill}", 400, data={"amount": "1.00"})
        await waited("POST", f"/pay/{bill}", 422, data={"amount": "abc", "token": await token()})
        await waited("GET", "/pay/nobill", 404)

        # Answers that never reach an endpoint's own code wait too.
        await waited("GET", "/billing/customers", 401)
        await waited("GET", "/billing/customers", 403, headers={"Authorization": "Bearer sk_x1"})
        await waited("GET", "/billing/invoices", 404, headers=auth)
        await waited("DELETE", f"/billing/customers/{customer}", 405, headers=auth)
        await waited("POST", "/billing/customers", 400, json={}, headers=auth)  # no key
        replayed = key()
        await waited("POST", "/sandbox/payments", 201, json={"bill": bill}, headers=replayed)
        await waited("POST", "/sandbox/payments", 201, json={"bill": bill}, headers=replayed)
        await waited("POST", "/sandbox/payments", 422, json={"bill": other}, headers=replayed)


async def test_no_latency_no_wait(start_sandbox: StartSandbox) -> None:
    sandbox = await start_sandbox()
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    sandbox.state.sleep = record
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        response = await http.get("/sandbox/events", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200
    assert waits == []


# --- secrets stay out of reprs ----------------------------------------------------------------


async def test_reprs_never_show_webhook_secrets(
    start_sandbox: StartSandbox, receiver: Receiver, secret: str
) -> None:
    """Tracebacks (pytest's, Textual's) print reprs: the configs must not carry the
    whsec_ secret, nor its base64 body, into them."""
    config = SandboxConfig(webhook_url=receiver.url, webhook_secrets=(secret,), latency_ms=7)
    body = secret.removeprefix("whsec_")
    assert repr(config).startswith("SandboxConfig(")
    assert receiver.url in repr(config)  # the rest of the config is still shown
    assert "latency_ms=7" in repr(config)
    assert secret not in repr(config)
    assert body not in repr(config)
    assert "webhook_secrets" not in repr(config)

    delivery = DeliveryConfig(url=receiver.url, secrets=(secret, "whsec_c2Vjb25k"))
    assert receiver.url in repr(delivery)
    assert body not in repr(delivery)
    assert "c2Vjb25k" not in repr(delivery)

    sandbox = await start_sandbox(webhook_url=receiver.url, webhook_secrets=(secret,))
    for shown in (sandbox.config, sandbox.sender.config, sandbox.state):
        assert body not in repr(shown), type(shown).__name__
    # Hidden from repr, still used: the sandbox signs with it.
    assert sandbox.sender.config.secrets == (secret,)


# --- the schema -------------------------------------------------------------------------------

TABLES = {
    "customers",
    "accounts",
    "bills",
    "payments",
    "events",
    "deliveries",
    "idempotency",
    "pay_key",
    "pay_tokens",
}


def _tables(db: Database) -> set[str]:
    rows = db.all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row["name"]) for row in rows}


def test_schema_holds_only_the_tables_in_use() -> None:
    db = Database(":memory:")
    try:
        assert _tables(db) == TABLES
        assert not hasattr(db, "setting")
        assert not hasattr(db, "set_setting")
    finally:
        db.close()


def test_an_older_databases_settings_table_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        old.execute("INSERT INTO settings VALUES ('seeded', '1')")
    old.close()
    db = Database(path)
    try:
        assert _tables(db) == TABLES
    finally:
        db.close()
