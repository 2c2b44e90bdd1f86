"""The `finplat` command. Settings are read once here and passed down."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn

from finplat import __version__
from finplat.app import Role, RoleNotSupported, build_platform, create_app, seed_demo
from finplat.platform.db import Database
from finplat.platform.db.migrate import current_revision, head_revision, upgrade
from finplat.platform.observability import configure_logging
from finplat.platform.settings import Settings, load_settings

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


def main() -> None:
    cli(prog_name="finplat")


if __name__ == "__main__":
    main()
