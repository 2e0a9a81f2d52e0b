"""The console's runtime without its screens: sandbox, listener and reconciler wired."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from moment_tui.config import Settings
from moment_tui.runtime import Runtime, RuntimeOptions
from moment_tui.secrets import Secret
from moment_tui.store.applications import Application
from moment_tui.store.eventlog import Delivery
from moment_tui.webhooks.outbound import amount_applied_event, send
from moment_tui.webhooks.signing import new_message_id, new_webhook_secret
from tests.integration.conftest import eventually


def options(tmp_path: Path) -> RuntimeOptions:
    return RuntimeOptions(
        listener_port=0,
        seed_today=dt.date(2026, 11, 1),
        sandbox_db=tmp_path / "sandbox.sqlite3",
        workspace=tmp_path / "workspace.sqlite3",
    )


async def test_a_configured_secret_lets_trigger_reach_the_sandbox_console(tmp_path: Path) -> None:
    secret = new_webhook_secret()
    settings = Settings(webhook_secrets=(Secret(secret),), config_dir=tmp_path, data_dir=tmp_path)
    runtime = Runtime(settings, options(tmp_path))
    deliveries: list[Delivery] = []
    applications: list[Application] = []
    started = await runtime.start(deliveries.append, applications.append)
    try:
        assert started.problems == []
        assert started.listener_url is not None
        assert runtime.client is not None
        assert await runtime.sync_catalogue() > 0
        page = await runtime.client.list_page("bill", limit=1, filters={"status": "unpaid"})
        bill = page.items[0]
        body = amount_applied_event(100, "ZAR", bill_id=bill.id, customer_id="bcus_x")
        async with httpx.AsyncClient() as http:
            result = await send(http, started.listener_url, body, [secret], new_message_id())
        assert result.status == 200
        await eventually(lambda: len(deliveries) == 1)
        assert (deliveries[0].verdict, deliveries[0].bill_id) == ("verified", bill.id)
        # The sandbox never saw this payment, so the check finds drift (after its grace).
        await eventually(lambda: any(a.state == "drift" for a in applications), within=10)
    finally:
        await runtime.close()


async def test_without_a_secret_the_run_has_a_private_one(tmp_path: Path) -> None:
    runtime = Runtime(Settings(config_dir=tmp_path, data_dir=tmp_path), options(tmp_path))
    deliveries: list[Delivery] = []
    started = await runtime.start(deliveries.append, lambda _: None)
    try:
        assert started.listener_url is not None
        body = amount_applied_event(100, "ZAR", bill_id="bill_x")
        async with httpx.AsyncClient() as http:
            result = await send(
                http, started.listener_url, body, [new_webhook_secret()], new_message_id()
            )
        assert result.status == 401  # no outsider can guess the run's secret
        payment = await runtime.simulate_payment()
        assert payment is not None
        await eventually(lambda: any(d.verdict == "verified" for d in deliveries))
    finally:
        await runtime.close()
