"""Schema upgrades through Alembic: the only way SWS creates or changes tables.

A rolling upgrade (docs/operations.md, "Rolling upgrades") runs a release's migrations in two
steps around the switch of its processes: `expand` before, while the previous release still
serves, then the rest after. A migration that removes or renames what the previous release's
code uses says so with a module-level `contract = True`; it and every migration after it on its
branch wait for the second step.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from sws.errors import Conflict

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
TABLE_MODULES = (
    "sws.identity.tables",
    "sws.events.tables",
    "sws.drivers.simulated.tables",
    "sws.drivers.simulated.objectstore_tables",
    "sws.drivers.simulated.volume_tables",
    "sws.volumes.tables",
    "sws.audit.tables",
    "sws.metering.tables",
    "sws.billing.tables",
    "sws.billing.payments.tables",
    "sws.billing.payments.cards_tables",
    "sws.billing.invoices.tables",
    "sws.netfilter.tables",
    "sws.loadbalancer.tables",
    "sws.cdn.tables",
    "sws.cdn.traffic_tables",
    "sws.mail.tables",
    "sws.signup.tables",
    "sws.leases.tables",
    "sws.quotas.tables",
    "sws.regions.tables",
    "sws.community.tables",
    "sws.tags.tables",
    "sws.activity.tables",
)


def load_all_tables() -> None:
    """Import every module that declares tables, so the shared metadata knows them all."""
    for name in TABLE_MODULES:
        importlib.import_module(name)


def alembic_config(engine: Engine, location: Path = MIGRATIONS) -> Config:
    from alembic.config import Config  # Alembic loads only when a schema changes, not at start

    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(
    engine: Engine, revision: str = "heads", *, expand_only: bool = False,
    location: Path = MIGRATIONS,
) -> list[str]:
    """Apply migrations up to `revision`; with `expand_only`, on a database that has a schema,
    none that contracts it nor any after one on its branch, and nothing at all on a schema a
    newer release expanded (the previous release, still running, may start a process then).
    The revisions aimed at."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config(engine, location)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        applied = MigrationContext.configure(connection).get_current_heads()
        script = ScriptDirectory.from_config(config)
        ahead = sorted(set(applied) - {rev.revision for rev in script.walk_revisions()})
        if ahead and expand_only:
            return []  # a newer release expanded it: this one runs on it as it stands
        if ahead:
            raise Conflict(f"the schema is newer than this release (it has {', '.join(ahead)}): "
                           "upgrade with the newer release's sws")
        # A new database serves nothing yet: nothing to keep working, everything applies.
        targets = _expand_targets(script, applied) if expand_only and applied else [revision]
        for target in targets:
            command.upgrade(config, target)
    return targets


def _expand_targets(script: ScriptDirectory, applied: tuple[str, ...]) -> list[str]:
    """The newest revisions reachable without a contracting one: every pending revision but
    those marked `contract` and their descendants, then the tips of what is left."""
    done = {rev.revision for rev in script.iterate_revisions(applied, "base")}
    pending = [rev for rev in script.walk_revisions() if rev.revision not in done]  # newest first
    held: set[str] = set()
    for rev in reversed(pending):  # oldest first: a parent is seen before its children
        if _contracts(rev) or any(parent in held for parent in _parents(rev)):
            held.add(rev.revision)
    kept = [rev for rev in pending if rev.revision not in held]
    parents = {parent for rev in kept for parent in _parents(rev)}
    return sorted(rev.revision for rev in kept if rev.revision not in parents)


def _contracts(rev: Script) -> bool:
    return bool(getattr(rev.module, "contract", False))


def _parents(rev: Script) -> tuple[str, ...]:
    down = rev.down_revision
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def make_revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision against `engine` (a developer's tool, not a runtime path)."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
