"""Runs inside CloudKitty's own venv: rate N compute points with HashMap.process().

Set up as CloudKitty's unit tests do (in-memory SQLite, migrated, flat mappings on the flavor
field), time `HashMap.process()` over one DataFrame of N points (wall and CPU), print JSON on
stdout.
Started by bench/billing.py with the venv made by bench/setup-cloudkitty.sh.
"""

from __future__ import annotations

import datetime
import json
import sys
import time

from oslo_config import cfg

FLAVORS = {
    "m1.tiny": "0.17",
    "m1.small": "0.42",
    "m1.medium": "1.67",
    "m1.large": "3.33",
    "m1.xlarge": "0.55",
    "ssd.tiny": "0.30",
    "ssd.small": "0.90",
}


def main(count: int) -> None:
    from cloudkitty import (
        dataframe,
        db,
    )
    from cloudkitty.db import api as ck_db_api
    from cloudkitty.rating import hash as hashmap

    cfg.CONF([], project="cloudkitty")
    cfg.CONF.set_override("connection", "sqlite:///", "database")
    ck_db_api.get_instance().get_migration().upgrade("head")
    api = hashmap.HashMap.db_api
    api.get_migration().upgrade("head")
    service = api.create_service("compute")
    field = api.create_field(service.service_id, "flavor")
    for flavor, cost in FLAVORS.items():
        api.create_mapping(
            name=f"map-{flavor}",
            created_by="bench",
            value=flavor,
            cost=cost,
            map_type="flat",
            field_id=field.field_id,
        )
    rating = hashmap.HashMap("tenant")
    rating.reload_config()
    names = list(FLAVORS)
    frame = dataframe.DataFrame(
        start=datetime.datetime(2026, 3, 1),  # noqa: DTZ001 - CloudKitty's tests use naive times
        end=datetime.datetime(2026, 3, 1, 1),  # noqa: DTZ001
    )
    for n in range(count):
        point = dataframe.DataPoint(
            unit="instance",
            qty=1,
            price=0,
            groupby={"project_id": f"p{n % 10000}", "id": f"vm-{n}"},
            metadata={"flavor": names[n % len(names)]},
        )
        frame.add_point(point, "compute")
    started, cpu = time.perf_counter(), time.process_time()
    rated = rating.process(frame)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    total = sum(p.price for _, p in rated.iterpoints())
    print(json.dumps(
        {"points": count, "seconds": seconds, "cpu_seconds": cpu_seconds, "total": str(total)}
    ))
    del db


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
