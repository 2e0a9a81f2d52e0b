"""``moment-tui import``: load a Moment bulk-upload CSV into Moment and the catalogue.

Writes are guarded: with ``read_only`` set nothing is sent (``--dry-run`` still
validates); with a LIVE key the command asks on a terminal ("Type yes") and needs
``--yes`` without one. Test mode and the sandbox never ask.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moment_tui.commands.base import (
    EXIT_FAILED,
    EXIT_OK,
    OPEN_ERRORS,
    PROG,
    CommandFailed,
    Io,
    UsageError,
    add_version,
    api_client,
    not_empty,
    open_failure,
    open_workspace,
)
from moment_tui.config import Settings
from moment_tui.money import MoneyError, check_currency

if TYPE_CHECKING:  # the client, sandbox and stores load when the command runs, not at start
    from moment_tui.api.client import MomentClient
    from moment_tui.sandbox.server import SandboxThread
    from moment_tui.store.bulk import BulkFile
    from moment_tui.store.bulk_import import ImportReport, RowResult
    from moment_tui.store.workspace import Workspace


def register(sub: Any) -> None:
    command = sub.add_parser(
        "import",
        help="import a Moment bulk-upload CSV (customers and bills)",
        description="Validate every row of a bulk-upload CSV, create the good rows' "
        "customers and bills through the API (on the sandbox when no key is set), and "
        "remember them in the catalogue. Exit 1 if any row had errors.",
    )
    add_version(command)
    command.add_argument("file", type=_file_path, metavar="FILE")
    command.add_argument("--currency", default="ZAR", help="currency of the amounts (ZAR)")
    command.add_argument(
        "--date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the file's as-of date (default: taken from the file name, as 2024-06-01 in "
        "za_acme_dailyfile_2024-06-01.csv; today if the name has no date)",
    )
    command.add_argument("--dry-run", action="store_true", help="validate only; send nothing")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--yes",
        action="store_true",
        help="with a LIVE key, write without asking (required when not on a terminal)",
    )
    command.set_defaults(handler=cmd_import)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, not {text!r}") from None


def cmd_import(args: argparse.Namespace, io: Io) -> int:
    from moment_tui.api.client import MomentClient
    from moment_tui.runtime import SANDBOX_KEY
    from moment_tui.sandbox.server import SandboxConfig, SandboxThread
    from moment_tui.store.bulk import load_bulk

    if not args.file.is_file():
        why = "is a directory, not a file" if args.file.is_dir() else "no such file"
        raise UsageError(f"import: {args.file}: {why}")
    try:
        currency = check_currency(args.currency)
    except MoneyError as exc:
        raise UsageError(f"import: --currency: {exc}") from None
    settings = io.settings()
    if settings.read_only and not args.dry_run:
        source = settings.sources.get("read_only", "config")
        raise CommandFailed(
            f"import: read-only is set ({source}): refusing to write; nothing was sent "
            "(--dry-run only validates)"
        )
    try:
        bulk = load_bulk(args.file, currency=currency, file_date=args.date)
    except OSError as exc:
        raise CommandFailed(f"import: {args.file}: {exc.strerror}") from None
    if bulk.file_errors:  # the file's contents, not the command line, are at fault
        problems = "; ".join(str(error) for error in bulk.file_errors)
        raise CommandFailed(f"import: {args.file}: file not imported: {problems}")
    if settings.is_live and not args.dry_run and bulk.rows:
        _confirm_live(len(bulk.rows), settings, args, io)
    workspace = open_workspace(settings)
    sandbox: SandboxThread | None = None
    client: MomentClient | None = None
    try:
        if not args.dry_run:
            client = api_client(settings)
            if client is None:  # sandbox mode: import into the console's own sandbox
                db = settings.data_dir / "sandbox.sqlite3"
                sandbox = SandboxThread(SandboxConfig(db_path=str(db)))
                try:
                    url = sandbox.start()
                except (*OPEN_ERRORS, TimeoutError) as exc:
                    raise open_failure("sandbox database", db, exc) from None
                client = MomentClient(SANDBOX_KEY, base_url=url)
                io.err(f"No API key: importing into the sandbox ({db})")
        try:
            report = asyncio.run(_run(bulk, client, workspace, dry_run=args.dry_run))
        except (sqlite3.Error, BaseExceptionGroup) as exc:
            failed = _database_error(exc)
            if failed is None:
                raise
            # A workspace that opened but fails under the writes (damaged pages, a
            # full disk): what was created is in Moment; a re-import skips it.
            raise CommandFailed(
                f"cannot write the workspace {workspace.path}: {failed}; "
                "what was created so far is kept, and importing again skips it"
            ) from None
    finally:
        if sandbox is not None:
            sandbox.stop()
        workspace.close()
    return _show(report, args, io)


def _file_path(text: str) -> Path:
    """A path that names something: Path("") would be ".", "a directory"."""
    return Path(not_empty(text))


def _database_error(exc: BaseException) -> sqlite3.Error | None:
    """The SQLite error in ``exc``, perhaps inside a task group's exception group."""
    if isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _database_error(inner)) is not None:
                return found
    return None


def _confirm_live(bills: int, settings: Settings, args: argparse.Namespace, io: Io) -> None:
    """Ask before writing to LIVE Moment; raise unless the answer is yes (or ``--yes``)."""
    if args.yes:
        return
    what = f"{bills} bill{'s' if bills != 1 else ''}"
    if not io.interactive():
        raise UsageError(
            f"import: this writes {what} to LIVE Moment at {settings.api_url}; "
            "without a terminal to ask on, pass --yes to confirm"
        )
    io.stderr.write(
        f"This writes {what} to LIVE Moment at {settings.api_url}. Type yes to continue: "
    )
    io.stderr.flush()
    if io.stdin.readline().strip() != "yes":
        raise CommandFailed("import: not confirmed; nothing was sent")


async def _run(
    bulk: BulkFile, client: MomentClient | None, workspace: Workspace, *, dry_run: bool
) -> ImportReport:
    from moment_tui.store.bulk_import import import_bulk

    try:
        return await import_bulk(bulk, client, workspace, dry_run=dry_run)
    finally:
        if client is not None:
            await client.aclose()


def _show(report: ImportReport, args: argparse.Namespace, io: Io) -> int:
    if args.json:
        io.out(json.dumps(_as_json(report), ensure_ascii=False))
    else:
        for error in report.errors:
            io.out(str(error))
        for result in report.results:
            if result.note:
                io.out(f"line {result.line_number}: {result.note}")
        io.out(report.summary())
    if report.errors or report.stopped:
        # The one line on stderr that every failing command gives (the rows are data),
        # unless the summary just went to the same screen: on a terminal, say it once.
        if args.json or not _one_screen(io):
            io.err(f"{PROG}: import: {report.summary()}")
        return EXIT_FAILED
    return EXIT_OK


def _one_screen(io: Io) -> bool:
    """Do stdout and stderr both show on a terminal (so a line on each shows twice)?"""
    return io.stdout.isatty() and io.stderr.isatty()


def _as_json(report: ImportReport) -> dict[str, Any]:
    return {
        "file": report.file_name,
        "file_date": report.file_date.isoformat(),
        "rows": report.rows_total,
        "created": report.created,
        "already_imported": report.already_imported,
        "customers_created": report.customers_created,
        "dry_run": report.dry_run,
        "stopped": report.stopped,
        "summary": report.summary(),
        "results": [_row(result) for result in report.results],
    }


def _row(result: RowResult) -> dict[str, Any]:
    return {
        "line": result.line_number,
        "status": result.status,
        "customer_reference": result.customer_reference,
        "bill_reference": result.bill_reference,
        "bill_id": result.bill.id if result.bill else None,
        "errors": [{"field": e.field, "message": e.message} for e in result.errors],
        "note": result.note,
        "customer_differences": [
            {"field": d.field, "file": d.file, "kept": d.kept} for d in result.customer_differences
        ],
    }
