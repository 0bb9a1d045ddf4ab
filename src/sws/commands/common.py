"""What the `sws` commands share: the container on the configured database, use cases whose
SWS errors become a message and exit status 2, and times given as options."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from sws import bootstrap
from sws.billing import service as billing
from sws.clock import Clock, ensure_utc
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.errors import Invalid, SWSError

console = Console()
T = TypeVar("T")


def container(clock: Clock | None = None, *, contract: bool = False) -> bootstrap.Container:
    """The composition root from the settings, on a database upgraded to this release's schema:
    expanded only, so that a process started during a rolling upgrade neither contracts the
    schema under the previous release nor stumbles on one a newer release expanded; with
    `contract` (`sws up`, alone on its database), every migration.

    Settings that cannot be read or used stop the command with what is wrong, not a traceback.
    """
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError, a malformed JSON value or TOML file
        console.print(f"[red]error:[/] the settings are invalid: {_settings_problem(exc)}")
        raise typer.Exit(code=2) from exc
    built = run(lambda: bootstrap.build(settings, clock=clock))
    run(lambda: upgrade(built.db.engine, expand_only=not contract))
    run(built.serve_stored_regions)  # regions the admin added (docs/community.md)
    run(lambda: billing.save_account_defaults(db=built.db, values=billing_defaults(settings)))
    return built


def billing_defaults(settings: Settings) -> dict[str, str]:
    """The account defaults the settings choose; every process stores the same ones, so the
    farmer, the API and the console create accounts alike. Projects found in a real OpenStack
    are observed, not enforced, unless the operator says otherwise."""
    auto = "observe" if settings.driver == "openstack" else "enforce"
    chosen = {
        "payment_mode": settings.billing_payment_mode,
        "credit_limit": None if settings.billing_credit_limit is None
        else str(settings.billing_credit_limit),
        "currency": settings.billing_currency,
        "timezone": settings.billing_timezone,
        "enforcement": auto if settings.billing_enforcement == "auto"
        else settings.billing_enforcement,
    }
    return {name: value for name, value in chosen.items() if value is not None}


def _settings_problem(exc: ValueError) -> str:
    """What is wrong, without echoing the values given (a key or password may be among them)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
    return f"{exc}: {exc.__cause__}" if exc.__cause__ else str(exc)


def run(action: Callable[[], T]) -> T:
    """Run a use case; an SWS error becomes a clear message and exit status 2."""
    try:
        return action()
    except SWSError as exc:
        where = f" (field: {exc.field})" if exc.field else ""
        console.print(f"[red]error:[/] {exc.detail}{where}")
        raise typer.Exit(code=2) from exc


def moment(text: str, *, field: str, detail: Callable[[ValueError], str]) -> datetime:
    """An ISO-8601 time with a zone, in UTC; anything else is `Invalid` with `detail(error)`."""
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError as error:
        raise Invalid(detail(error), field=field) from error
