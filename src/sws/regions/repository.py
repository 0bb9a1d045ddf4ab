"""Sponsor region persistence: rows in, SponsorRegion values out; the last event per region."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from sws.errors import Unavailable
from sws.events.tables import resource_events
from sws.regions.model import Sponsor, SponsorRegion, check_driver
from sws.regions.tables import sponsor_regions as t


def _sponsor(row: RowMapping) -> Sponsor | None:
    if row["sponsor_name"] is None:
        return None
    return Sponsor(name=row["sponsor_name"], logo_text=row["logo_text"], contact=row["contact"])


def _region(row: RowMapping) -> SponsorRegion:
    return SponsorRegion(
        name=row["name"],
        sponsor=_sponsor(row),
        driver=check_driver(row["driver"]),
        enabled=bool(row["enabled"]),
        stored=True,
        cloud=row["cloud"],
        catalog_region=row["catalog_region"],
    )


def _values(region: SponsorRegion) -> dict[str, Any]:
    sponsor = region.sponsor
    return {
        "sponsor_name": sponsor.name if sponsor else None,
        "logo_text": sponsor.logo_text if sponsor else "",
        "contact": sponsor.contact if sponsor else "",
        "driver": region.driver,
        "cloud": region.cloud,
        "catalog_region": region.catalog_region,
        "enabled": region.enabled,
    }


def stored(conn: Connection) -> dict[str, SponsorRegion]:
    rows = conn.execute(select(t).order_by(t.c.name)).mappings()
    return {row["name"]: _region(row) for row in rows}


def get(conn: Connection, name: str, *, lock: bool = False) -> SponsorRegion | None:
    query = select(t).where(t.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return _region(row) if row else None


def get_or_unavailable(conn: Connection, name: str) -> SponsorRegion | None:
    """`get`, where a database without the table yet (before `sws db upgrade`) is Unavailable."""
    try:
        return get(conn, name)
    except SQLAlchemyError as exc:
        raise Unavailable("the sponsor regions table cannot be read") from exc


def insert(conn: Connection, region: SponsorRegion, now: datetime) -> None:
    """A new row; a region stored already is a `Duplicate` (the database's primary key)."""
    conn.execute(
        t.insert().values(name=region.name, created_at=now, updated_at=now, **_values(region))
    )


def save(conn: Connection, region: SponsorRegion, now: datetime) -> None:
    """Write `region` over its row, or as a new row (a configured region's first edit)."""
    done = conn.execute(
        update(t).where(t.c.name == region.name).values(updated_at=now, **_values(region))
    )
    if done.rowcount == 0:
        insert(conn, region, now)


def last_events(conn: Connection) -> dict[str, datetime]:
    """When SWS last received a notification from each region."""
    query = (
        select(resource_events.c.region, func.max(resource_events.c.received_at))
        .where(resource_events.c.region.is_not(None))
        .group_by(resource_events.c.region)
    )
    return {str(region): at for region, at in conn.execute(query)}
