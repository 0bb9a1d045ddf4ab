"""The `sws` command: run the embedded cloud, migrate, import events, demo and administer."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sws import bootstrap, distribution
from sws.clock import SimulatedClock
from sws.commands import backup as backup_commands
from sws.commands import billing as billing_commands
from sws.commands import cdn as cdn_commands
from sws.commands import common
from sws.commands import community as community_commands
from sws.commands import dns as dns_commands
from sws.commands import loadbalancer as lb_commands
from sws.commands import metering as metering_commands
from sws.commands import volumes as volume_commands
from sws.commands import workers as worker_commands
from sws.config import Settings
from sws.db.engine import make_engine
from sws.db.migrate import upgrade
from sws.errors import Contended
from sws.events import service as events
from sws.identity import service as identity
from sws.seed import Credential, seed_first_start

app = typer.Typer(help="SWS: the public-cloud layer for OpenStack.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
events_app = typer.Typer(help="Resource events.", no_args_is_help=True)
admin_app = typer.Typer(help="Tenants and users.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)
app.add_typer(events_app, name="events")
app.add_typer(admin_app, name="admin")
app.add_typer(metering_commands.app, name="metrics")
app.add_typer(billing_commands.app, name="billing")
app.add_typer(lb_commands.app, name="lb")
app.add_typer(cdn_commands.app, name="cdn")
app.add_typer(dns_commands.app, name="dns")
app.add_typer(worker_commands.app, name="worker")
app.add_typer(community_commands.app, name="community")
app.add_typer(billing_commands.catalog_app, name="catalog")
app.add_typer(volume_commands.app, name="volume")
admin_app.add_typer(tenant_app, name="tenant")
admin_app.add_typer(user_app, name="user")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        name, version = distribution()
        console.print(f"{name} {version}")
        raise typer.Exit()


@app.callback()
def _sws(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the distribution name and version, then exit.")] = False,
) -> None:
    """SWS: the public-cloud layer for OpenStack."""


def _container(*, contract: bool = False) -> bootstrap.Container:
    container = common.container(contract=contract)
    identity.ensure_regions(db=container.db, names=container.settings.regions)
    return container


@db_app.command("upgrade")
def db_upgrade(
    expand_only: Annotated[bool, typer.Option(
        "--expand-only",
        help="A rolling upgrade's first step: stop before any migration marked contract.",
    )] = False,
) -> None:
    """Create or upgrade the schema to the newest migration."""
    settings = Settings()
    aimed = upgrade(make_engine(settings.db_url), expand_only=expand_only)
    where = settings.db_url.split("@")[-1]
    if expand_only:
        console.print(f"schema expanded on {where} (to {', '.join(aimed) or 'where it was'})")
    else:
        console.print(f"schema is up to date on {where}")


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 0,
) -> None:
    """Run SWS in one process: the API, the console and a ticker.

    The ticker runs the billing farmer, metering's rollups and alarms and the Swift size
    sampler, each second (SWS_TICK_SECONDS).

    Embedded (the default, SWS_DRIVER=simulated): the ticker also runs the simulated region,
    on SQLite under $SWS_HOME unless SWS_DATABASE_URL is set. With SWS_DEMO_DATA=true (the
    default), the first start seeds demo tenants, users, the sample price catalog and
    balances, and writes the users' login bodies to $SWS_HOME/credentials/.

    On a real OpenStack (SWS_DRIVER=openstack, SWS_DEMO_DATA=false): the API and console act
    on the regions of your cloud; nothing is seeded (load a price catalog and create or sync
    tenants yourself); notifications reach billing only through `sws worker events`.
    """
    from sws.web.app import create_app
    from sws.web.serving import serve

    container = _container(contract=True)  # alone on its database: every migration
    credentials = seed_first_start(container) if container.settings.demo_data else None
    container.tick()
    host = host or container.settings.host
    port = port or container.settings.port
    _print_welcome(f"http://{host}:{port}", container.settings, credentials)
    billing_commands.warn_billing(container)  # an empty catalog bills nothing: say so loudly
    _start_ticker(container)
    serve(create_app(container), host=host, port=port,
          log_format=container.settings.log_format)


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 0,
) -> None:
    """Run the API alone (no ticker, no demo data): the distributed / real-OpenStack mode."""
    from sws.web.app import create_app
    from sws.web.serving import serve

    container = _container()
    serve(create_app(container), host=host or container.settings.host,
          port=port or container.settings.port, log_format=container.settings.log_format,
          drain_seconds=container.settings.api_drain_seconds)


def _start_ticker(container: bootstrap.Container) -> None:
    def loop() -> None:
        while True:
            time.sleep(container.settings.tick_seconds)
            try:
                container.tick()
            except Contended as busy:  # SQLite, beside the API's writes: no fault of the code
                console.print(f"ticker: {busy}; the next tick tries again")
            except Exception:  # keep ticking; the error is logged, the next tick retries
                console.print_exception()

    threading.Thread(target=loop, name="sws-ticker", daemon=True).start()


def _print_welcome(url: str, settings: Settings, credentials: list[Credential] | None) -> None:
    console.print(f"[bold green]SWS is up[/] at {url}  (API docs: {url}/v1/docs)")
    home = settings.home
    if not settings.smtp_host:
        console.print(f"Mail is not sent (no SWS_SMTP_HOST): it is written to {home / 'outbox'}/")
    if credentials is None:
        _print_where_users_are(settings)
        return
    table = Table("user", "password", "tenant", "role", title="First-start credentials")
    for cred in credentials:
        table.add_row(cred.name, cred.password, cred.tenant, cred.role)
    console.print(table)
    console.print(f"Saved as login bodies in {home / 'credentials'}/<user>.json")


def _print_where_users_are(settings: Settings) -> None:
    """Point at the first start's credentials only where they were written."""
    saved = settings.home / "credentials"
    if saved.is_dir():
        console.print(f"Credentials from the first start are in {saved}/")
        return
    why = "tenants existed already" if settings.demo_data else "SWS_DEMO_DATA is off"
    how = ("log in as your Keystone users" if settings.auth_backend == "keystone" else
           "create them with `sws admin tenant create` and `sws admin user create`")
    console.print(f"No demo tenants or users were created ({why}): {how}.")


@events_app.command("import")
def events_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    region: Annotated[str, typer.Option(help="Region the notifications came from.")] = "",
) -> None:
    """Import oslo envelopes (one JSON per line, as captured from RabbitMQ)."""
    container = _container()
    with path.open(encoding="utf-8", errors="replace") as lines:
        counts = events.import_jsonl(
            db=container.db, lines=lines, clock=container.clock,
            region=region or container.default_region,
        )
    console.print(
        f"accepted {counts.accepted}, duplicate {counts.duplicate}, "
        f"ignored {counts.ignored}, dead-lettered {counts.dead_lettered}"
    )


@app.command()
def demo(
    tenants: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    days: Annotated[int, typer.Option(min=1, max=366)] = 7,
    seed: Annotated[int, typer.Option()] = 1,
    start: Annotated[str, typer.Option(help="Simulated start, ISO-8601 UTC.")] = "2026-01-01",
) -> None:
    """Fast-forward a busy simulated region on its own database and print a summary."""
    from sws.drivers.simulated.demo import run_demo

    started = datetime.fromisoformat(start).replace(tzinfo=UTC)
    configured = Settings()
    settings = configured.model_copy(update={
        "database_url": None, "home": configured.home / f"demo-{seed}", "demo_data": False,
        "sim_hypervisors": max(4, tenants // 6),  # room for ~6 busy tenants per hypervisor
        "driver": "simulated", "swift": {},  # the demo is the simulated region alone
    })
    _fresh_sqlite(settings)
    container = bootstrap.build(settings, clock=SimulatedClock(started))
    upgrade(container.db.engine)
    clock = container.clock
    assert isinstance(clock, SimulatedClock)
    projects = [
        identity.create_tenant(db=container.db, clock=clock, name=f"demo-{n:03d}").id
        for n in range(tenants)
    ]
    runtime = container.regions[container.default_region]
    wall = time.monotonic()
    with Progress(console=console) as progress:
        task = progress.add_task(f"{tenants} tenants x {days} days", total=days * 24)

        def on_hour(_hours_done: int, _now: datetime) -> None:
            runtime.bus.flush()
            progress.advance(task)

        summary = run_demo(
            region=runtime.driver, clock=clock, project_ids=projects,
            user_id_for=lambda p: f"user-{p[:8]}", days=days, rng=random.Random(seed),
            on_hour=on_hour,
        )
        runtime.bus.flush()
    counts = {**asdict(summary), **events.totals(db=container.db)}
    _print_summary(counts, time.monotonic() - wall, settings.db_url)


def _fresh_sqlite(settings: Settings) -> None:
    path = settings.home / "sws.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _print_summary(counts: dict[str, Any], seconds: float, url: str) -> None:
    table = Table("what", "count", title=f"Demo finished in {seconds:.1f} s")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    console.print(f"The demo region's database: {url}")


@tenant_app.command("create")
def tenant_create(
    name: str,
    timezone: Annotated[str, typer.Option(help="Billing time zone (IANA).")] = "UTC",
    currency: Annotated[str, typer.Option(help="ISO-4217 currency.")] = "CNY",
) -> None:
    """Create a tenant."""
    container = _container()
    tenant = common.run(lambda: identity.create_tenant(
        db=container.db, clock=container.clock, name=name,
        billing_timezone=timezone, currency=currency,
    ))
    console.print(json.dumps({"id": tenant.id, "name": tenant.name}))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    container = _container()
    table = Table("id", "name", "time zone", "currency", "enabled")
    for t in identity.list_tenants(db=container.db, limit=1000, marker=None):
        table.add_row(t.id, t.name, t.billing_timezone, t.currency, str(t.enabled))
    console.print(table)


@user_app.command("create")
def user_create(
    name: str,
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(
        help="member, owner (manages the tenant's users) or admin (operator tenant only)."
    )] = "member",
) -> None:
    """Create a user in a tenant."""
    container = _container()
    user = common.run(lambda: identity.create_user(
        db=container.db, clock=container.clock, tenant_id=tenant,
        name=name, password=password, role=role,
        operator_tenant=container.settings.operator_tenant,
    ))
    console.print(json.dumps({"id": user.id, "name": user.name, "role": user.role}))


@user_app.command("list")
def user_list(tenant: Annotated[str | None, typer.Option(help="Tenant id.")] = None) -> None:
    """List users."""
    container = _container()
    table = Table("id", "name", "tenant", "role", "enabled")
    for u in identity.list_users(db=container.db, tenant_id=tenant, limit=1000, marker=None):
        table.add_row(u.id, u.name, u.tenant_id, u.role, str(u.enabled))
    console.print(table)


@user_app.command("disable")
def user_disable(user_id: str) -> None:
    """Disable a user and revoke their tokens."""
    container = _container()
    common.run(lambda: identity.set_user_enabled(
        db=container.db, clock=container.clock, user_id=user_id, enabled=False,
        operator_tenant=container.settings.operator_tenant,
    ))
    console.print(f"user {user_id} disabled")


@admin_app.command("recover")
def admin_recover(
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)],
    name: Annotated[str, typer.Option(help="The admin's user name.")] = "admin",
) -> None:
    """Give the cloud an admin again: create or re-enable NAME in the operator tenant (which
    is created or re-enabled too) with a new password, revoking its old tokens."""
    container = _container()
    user = common.run(lambda: identity.recover_admin(
        db=container.db, clock=container.clock, name=name, password=password,
        operator_tenant=container.settings.operator_tenant,
    ))
    console.print(json.dumps({"id": user.id, "name": user.name, "role": user.role}))


@user_app.command("reset-password")
def user_reset_password(
    user_id: str, password: Annotated[str, typer.Option(prompt=True, hide_input=True)]
) -> None:
    """Set a new password and revoke the user's tokens."""
    container = _container()
    common.run(lambda: identity.reset_password(
        db=container.db, clock=container.clock, user_id=user_id, password=password
    ))
    console.print(f"password of {user_id} reset")


def main() -> None:
    app()
