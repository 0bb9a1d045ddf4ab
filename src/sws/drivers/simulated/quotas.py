"""The simulated region's per-project quotas: what an admin set (its quota table), else the
region's default, as Nova and Neutron keep a project's own quota over their defaults."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select, update

from sws.drivers.base import Quota
from sws.drivers.simulated.repository import Txn
from sws.drivers.simulated.tables import sim_quotas


def project_quota(txn: Txn, project_id: str, default: Quota) -> Quota:
    query = select(sim_quotas).where(
        sim_quotas.c.region == txn.region, sim_quotas.c.project_id == project_id
    )
    row = txn.conn.execute(query).mappings().first()
    if row is None:
        return default
    return Quota(**{name: int(row[name]) for name in asdict(default)})


def set_project_quota(txn: Txn, project_id: str, quota: Quota) -> None:
    """Insert or replace the project's quota in this region."""
    values = asdict(quota)
    where = (sim_quotas.c.region == txn.region, sim_quotas.c.project_id == project_id)
    changed = txn.conn.execute(update(sim_quotas).where(*where).values(**values)).rowcount
    if not changed:
        txn.conn.execute(
            sim_quotas.insert().values(region=txn.region, project_id=project_id, **values)
        )
