"""The `finplat` command. Settings are read once here and passed down."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
import uvicorn

from finplat import __version__, identity, ledger, marketdata, onboarding, trading
from finplat.app import (
    ENCRYPTED_COLUMNS,
    Platform,
    Role,
    RoleNotSupported,
    build_platform,
    create_app,
    seed_demo,
)
from finplat.identity.accounts import create_user, user_id_for_email
from finplat.identity.apikeys import NewApiKey, create_key_for_email
from finplat.identity.audit import ChainReport
from finplat.kernel import Amount, Conflict, DomainError, new_id
from finplat.ledger.reconcile import (
    LedgerCheck,
    Reconciliation,
    check_ledger,
    format_check,
    format_report,
    reconcile_statement,
)
from finplat.platform.crypto import KeyFileCorrupt, KeyFileMissing, KeyRing
from finplat.platform.crypto.rotation import rewrap_all
from finplat.platform.db import Database
from finplat.platform.db.migrate import current_revision, head_revision, upgrade
from finplat.platform.observability import configure_logging
from finplat.platform.settings import Settings, load_settings

T = TypeVar("T")

cli = typer.Typer(
    name="finplat",
    help="finplat: a self-hostable financial services platform.",
    no_args_is_help=True,
)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)  # noqa: S101 - set by the callback below
    return settings


@cli.callback()
def main_callback(ctx: typer.Context) -> None:
    try:
        ctx.obj = load_settings()
    except ValueError as exc:
        typer.echo(f"finplat: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(ctx.obj.log_level, ctx.obj.log_format)


@cli.command()
def version() -> None:
    """Print the finplat version."""
    typer.echo(__version__)


@cli.command()
def migrate(ctx: typer.Context) -> None:
    """Apply database migrations (safe to run again)."""
    settings = _settings(ctx)

    async def run() -> None:
        database = Database(settings.resolved_database_url)
        try:
            before = await current_revision(database)
            await upgrade(database)
            after = await current_revision(database)
        finally:
            await database.dispose()
        typer.echo(f"database {database.url.render_as_string(hide_password=True)}")
        typer.echo(f"migrated {before or 'empty'} -> {after} (head {head_revision()})")

    asyncio.run(run())


@cli.command()
def demo(ctx: typer.Context) -> None:
    """Seed demo data (idempotent): each domain contributes its own seeder."""
    settings = _settings(ctx)

    async def run() -> list[str]:
        platform = build_platform(settings)
        try:
            await upgrade(platform.database)
            return await seed_demo(platform)
        finally:
            await platform.database.dispose()

    seeded = asyncio.run(run())
    if seeded:
        for line in seeded:
            typer.echo(line)
    else:
        typer.echo("demo: no domain with demo data is installed yet; nothing to seed")


@cli.command()
def serve(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="What this process runs.")] = Role.ALL,
    host: Annotated[str | None, typer.Option(help="Bind address [FINPLAT_HTTP_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [FINPLAT_HTTP_PORT].")] = None,
) -> None:
    """Serve finplat: the API, the matching engine and the workers, or one of them."""
    settings = _settings(ctx)
    try:
        app = create_app(settings, role)
    except RoleNotSupported as exc:
        typer.echo(f"finplat: {exc}", err=True)
        raise typer.Exit(2) from None
    config = uvicorn.Config(
        app,
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


users_cli = typer.Typer(help="Manage users.", no_args_is_help=True)
apikeys_cli = typer.Typer(help="Manage API keys.", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit log.", no_args_is_help=True)
keys_cli = typer.Typer(help="Encryption keys.", no_args_is_help=True)
screening_cli = typer.Typer(help="Sanctions and PEP screening lists.", no_args_is_help=True)
ledger_cli = typer.Typer(
    help="The ledger: integrity checks and bank reconciliation.", no_args_is_help=True
)
cli.add_typer(users_cli, name="users")
cli.add_typer(apikeys_cli, name="apikeys")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(screening_cli, name="screening")
cli.add_typer(ledger_cli, name="ledger")
instruments_cli = typer.Typer(help="The instrument master.", no_args_is_help=True)
marketdata_cli = typer.Typer(help="Market data history.", no_args_is_help=True)
cli.add_typer(instruments_cli, name="instruments")
cli.add_typer(marketdata_cli, name="marketdata")


def _run_with_platform(settings: Settings, work: Callable[[Platform], Awaitable[T]]) -> T:
    async def run() -> T:
        platform = build_platform(settings)
        try:
            await upgrade(platform.database)
            return await work(platform)
        finally:
            await platform.database.dispose()

    return asyncio.run(run())


def _fail(message: str) -> NoReturn:
    typer.echo(f"finplat: {message}", err=True)
    raise typer.Exit(1)


@users_cli.command("create")
def users_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The user's email address.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[list[identity.Role], typer.Option(help="Role; repeat for several.")] = [  # noqa: B006
        identity.Role.CUSTOMER
    ],
) -> None:
    """Create a verified user (bootstrap for the first staff members; audited as system)."""

    async def work(platform: Platform) -> str:
        async with platform.uows() as uow:
            created = await create_user(
                platform.identity,
                uow,
                email=email,
                password=password,
                roles=frozenset(role),
                verified=True,
                actor_type="system",
            )
        return str(created.user_id)

    try:
        user_id = _run_with_platform(_settings(ctx), work)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"created user {user_id} ({', '.join(sorted(role))})")


@apikeys_cli.command("create")
def apikeys_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Owner of the key.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read,trade,data,funding.")] = "read",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
    expires_in_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
) -> None:
    """Create an API key for a user and print its id and secret (shown only now)."""
    try:
        wanted = [identity.ApiKeyScope(s.strip()) for s in scopes.split(",") if s.strip()]
    except ValueError:
        _fail(f"unknown scope in {scopes!r}; use read, trade, data, funding")

    async def work(platform: Platform) -> NewApiKey:
        return await create_key_for_email(
            platform.identity,
            email,
            scopes=wanted,
            name=name,
            expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        )

    try:
        key = _run_with_platform(_settings(ctx), work)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"key id:  {key.key_id}")
    typer.echo(f"secret:  {key.secret}")
    typer.echo(f"scopes:  {', '.join(key.scopes)}")
    typer.echo("The secret is not stored in readable form; keep it now.")


@audit_cli.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Re-compute the audit log's hash chain; exit 1 at the first broken link."""

    async def work(platform: Platform) -> ChainReport:
        return await identity.verify_audit_log(platform.database)

    report = _run_with_platform(_settings(ctx), work)
    if report.ok:
        typer.echo(f"audit log intact: {report.checked} entries, last hash {report.last_hash}")
        return
    typer.echo(
        f"audit log BROKEN at seq {report.first_broken_seq}: {report.problem} "
        f"({report.checked} entries checked)",
        err=True,
    )
    raise typer.Exit(1)


@keys_cli.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Add a new active master key and re-wrap every stored data key under it."""
    settings = _settings(ctx)
    path = settings.resolved_master_key_file
    try:
        ring = KeyRing.load(path)
    except (KeyFileMissing, KeyFileCorrupt) as exc:
        _fail(str(exc))
    rotated = ring.rotated()
    rotated.save(path)  # first, so a crash part-way leaves every value readable

    async def work(platform: Platform) -> dict[str, int]:
        return await rewrap_all(platform.database, platform.cipher, ENCRYPTED_COLUMNS())

    counts = _run_with_platform(settings, work)
    typer.echo(f"active master key is now {rotated.active_id} (was {ring.active_id})")
    for column, count in counts.items():
        typer.echo(f"re-wrapped {count} values in {column}")


@screening_cli.command("load")
def screening_load(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="OFAC CSV directory, UN XML or OpenSanctions JSONL")],
    rescreen: Annotated[bool, typer.Option(help="Rescreen every customer afterwards.")] = True,
) -> None:
    """Load (or refresh) a list; changed and new entries are screened against every customer."""

    async def work(platform: Platform) -> str:
        summary = await onboarding.load_list(platform.onboarding, path)
        line = (
            f"{summary.source}: {summary.entries} entries ({summary.added} new, "
            f"{summary.changed} changed, {summary.removed} removed)"
        )
        if rescreen:
            line += "\n" + await _rescreen(platform)
        return line

    try:
        typer.echo(_run_with_platform(_settings(ctx), work))
    except DomainError as exc:
        _fail(exc.message)


async def _rescreen(platform: Platform) -> str:
    await onboarding.rebuild_index(platform.onboarding)
    total = await onboarding.count_screenable(platform.onboarding)
    with typer.progressbar(length=total, label="rescreening customers") as bar:
        screened, hits = await onboarding.rescreen_all(platform.onboarding, progress=bar.update)
    return f"rescreened {screened} customers: {hits} new hits"


@screening_cli.command("rescreen")
def screening_rescreen(ctx: typer.Context) -> None:
    """Screen every customer against the loaded lists (new hits open review tasks)."""
    typer.echo(_run_with_platform(_settings(ctx), _rescreen))


@ledger_cli.command("check")
def ledger_check(ctx: typer.Context) -> None:
    """Prove the trial balance is zero and every stored balance equals its postings."""

    async def work(platform: Platform) -> LedgerCheck:
        return await check_ledger(platform.database)

    result = _run_with_platform(_settings(ctx), work)
    typer.echo(format_check(result))
    if not result.ok:
        raise typer.Exit(1)


@ledger_cli.command("reconcile")
def ledger_reconcile(
    ctx: typer.Context,
    statement: Annotated[
        Path, typer.Argument(help="Bank statement CSV: date,amount,reference,description")
    ],
    currency: Annotated[
        str | None, typer.Option(help="Statement currency [FINPLAT_FUNDING_CURRENCY]")
    ] = None,
) -> None:
    """Match a bank statement against the omnibus account: matched, missing, unexpected."""
    settings = _settings(ctx)
    asset = ledger.currency(currency or settings.funding_currency)
    if not statement.is_file():
        _fail(f"{statement} is not a file")

    async def work(platform: Platform) -> Reconciliation:
        return await reconcile_statement(platform.database, statement, asset=asset)

    result = _run_with_platform(settings, work)
    typer.echo(format_report(result))
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    cli(prog_name="finplat")


if __name__ == "__main__":
    main()


@instruments_cli.command("import")
def instruments_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV with a header row (see data/instruments)")],
) -> None:
    """Create or update instruments from a CSV file; a file with any error changes nothing."""

    async def work(platform: Platform) -> str:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        summary = await marketdata.seed_instruments(platform.marketdata, text)
        return f"{summary.created} instruments created, {summary.updated} updated"

    try:
        typer.echo(_run_with_platform(_settings(ctx), work))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    except DomainError as exc:
        _fail(exc.message)


@instruments_cli.command("list")
def instruments_list(ctx: typer.Context) -> None:
    """Print the instrument master."""

    async def work(platform: Platform) -> list[marketdata.Instrument]:
        async with platform.uows(read_only=True) as uow:
            return await marketdata.list_instruments(uow)

    for item in _run_with_platform(_settings(ctx), work):
        typer.echo(
            f"{item.symbol:<10} {item.asset_class.value:<10} {item.exchange:<6} "
            f"{item.venue.value:<10} {item.status.value:<8} {item.name}"
        )


@marketdata_cli.command("backfill")
def marketdata_backfill(ctx: typer.Context) -> None:
    """Fill bar history for every active instrument from the configured provider, resuming
    after the newest stored bar."""

    async def work(platform: Platform) -> str:
        return str(await marketdata.backfill_active(platform.marketdata))

    try:
        typer.echo(_run_with_platform(_settings(ctx), work))
    except (DomainError, marketdata.ProviderNotConfigured) as exc:
        _fail(str(exc))


paper_cli = typer.Typer(help="Paper trading accounts (sandbox money).", no_args_is_help=True)
cli.add_typer(paper_cli, name="paper-account")


@paper_cli.command("create")
def paper_account_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The paper customer's email address.")],
    cash: Annotated[str, typer.Option(help="Paper cash to add, a decimal amount.")] = "100000",
) -> None:
    """Create (or top up) a paper customer: an approved paper KYC case, paper cash, and a new
    API key (read, trade, data) printed once. Paper and real money never mix."""
    try:
        amount = Amount.of(cash, ledger.currency(_settings(ctx).funding_currency))
    except DomainError as exc:
        _fail(exc.message)
    if amount.is_negative() or amount.is_zero():
        _fail("--cash must be positive")

    async def work(platform: Platform) -> tuple[str | None, NewApiKey, str]:
        password = None
        async with platform.uows() as uow:
            user_id = await user_id_for_email(platform.identity, uow, email)
            if user_id is None:
                password = secrets.token_urlsafe(18)
                created = await create_user(
                    platform.identity,
                    uow,
                    email=email,
                    password=password,
                    roles=frozenset({identity.Role.CUSTOMER}),
                    verified=True,
                    actor_type="system",
                )
                user_id = created.user_id
            await onboarding.approve_paper_case(uow, user_id)
            account = await trading.open_trading_account(uow, user_id, paper=True)
            if not account.paper:
                raise Conflict("this customer trades real money", code="not_a_paper_customer")
            await ledger.fund_paper(
                uow,
                user_id=user_id,
                asset=amount.asset,
                amount=amount.to_decimal(),
                key=f"paper-topup:{new_id()}",
            )
        key = await create_key_for_email(
            platform.identity,
            email,
            scopes=[
                identity.ApiKeyScope.READ,
                identity.ApiKeyScope.TRADE,
                identity.ApiKeyScope.DATA,
            ],
            name="paper",
            expires_in=None,
        )
        return password, key, account.account_number

    try:
        password, key, number = _run_with_platform(_settings(ctx), work)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"paper account {number} for {email}: added {amount} paper cash")
    if password:
        typer.echo(f"password: {password}  (sign in to the web app; shown only now)")
    typer.echo(f"key id:   {key.key_id}")
    typer.echo(f"secret:   {key.secret}")
    typer.echo("Point Alpaca's SDK at this server with these (url_override); keep the secret now.")
