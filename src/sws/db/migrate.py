"""Schema upgrades through Alembic: the only way SWS creates or changes tables."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

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


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic loads only when a schema changes, not at start

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision against `engine` (a developer's tool, not a runtime path)."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
