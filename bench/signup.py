"""Sign-up benchmark: strangers signing up and confirming through the API, on PostgreSQL.

At each size N (default 20, 50 and 100 sign-ups): N visitors, each from an address of its own,
`POST /v1/signup` (validation, the limits, one Argon2 hash, the sign-up row and its mail in the
outbox) and then `POST /v1/signup/verify` with the code read from the mail (the tenant, its
owner, its billing account, in one transaction), through the FastAPI app in this process
(TestClient: server time, no network). Then the run checks that N tenants and N owners exist.
Each figure is wall time, this process's CPU and the CPU of the PostgreSQL backends it used.

The password hash is argon2id with argon2-cffi's recommended parameters (printed at the
start: time_cost 3, memory_cost 64 MiB, parallelism 4 with argon2-cffi 23) and dominates the
cost on purpose; `--cheap-hash` runs the same path with time_cost 1 and 1 MiB, to show what
the rest costs.

    .venv/bin/python bench/signup.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--sizes 20,50,100] [--cheap-hash] [--json]

Then the answer time of `POST /v1/signup` for an address with an account against new ones
(medians of --timing-runs each, interleaved): they must be within 25% of each other.

Goal: at most 300 ms of CPU (this process and PostgreSQL) per sign-up with the production
hash, which alone costs about 200 ms: the rest of the path must stay small beside it. Wall
time (and so sign-ups per second) is printed too, but moves with the machine's load.

A throwaway database (`sws_bench_<random>`) is created on the server and dropped at the end.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from _measure import Cost, Verdict, Watched, add_options, measured, per_unit_row, watch_backends
from payments import _drop, _throwaway  # the same throwaway PostgreSQL database
from sws import bootstrap
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.identity import auth
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws.web.app import create_app

GOAL_CPU_US = 300_000.0  # per sign-up, production hash
CODE = re.compile(r"token=([A-Za-z0-9_-]+)")
PLENTY = {name: 1_000_000 for name in ("signup-address", "signup-network", "signup-email",
                                       "verify-address")}


def _code(container: bootstrap.Container, email: str) -> str:
    query = (select(mail_outbox.c.payload).where(mail_outbox.c.recipient == email)
             .order_by(mail_outbox.c.id.desc()).limit(1))
    with container.db.read() as conn:
        payload = conn.execute(query).scalar_one()
    found = CODE.search(json.loads(payload)["text"])
    assert found, payload
    return found.group(1)


def _one(client: TestClient, container: bootstrap.Container, n: int, run: str) -> None:
    email = f"visitor{n}.{run}@example.com"
    body = {"email": email, "password": "correct horse battery", "tenant_name": f"t{run}{n}"}
    visitor = TestClient(client.app, client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                                             40000))
    assert visitor.post("/v1/signup", json=body).status_code == 202
    verified = visitor.post("/v1/signup/verify", json={"token": _code(container, email)})
    assert verified.status_code == 200 and verified.json()["state"] == "active", verified.text


@contextmanager
def _cloud(url: str) -> Iterator[tuple[TestClient, bootstrap.Container]]:
    """SWS with sign-up open on a throwaway PostgreSQL database, dropped at the end."""
    name, bench_url = _throwaway(url)
    try:
        home = Path(tempfile.mkdtemp(prefix="sws-bench-signup-"))
        settings = Settings(home=home, database_url=bench_url, demo_data=False, signup="open",
                            signup_limits=PLENTY)
        container = bootstrap.build(settings)
        upgrade(container.db.engine)
        container.db.engine.dispose()  # every connection from here on is watched
        with TestClient(create_app(container)) as client:
            yield client, container
        container.db.engine.dispose()
    finally:
        _drop(url, name)


def signups_at(url: str, size: int) -> Cost:
    with _cloud(url) as (client, container):
        backends = Watched("PostgreSQL")
        watch_backends(container.db.engine, backends)
        run = uuid.uuid4().hex[:6]
        _one(client, container, 0, "warm")  # connections, caches, first compile
        with measured(backends) as cost:
            for n in range(size):
                _one(client, container, n, run)
        with container.db.read() as conn:
            owners = conn.execute(select(func.count()).select_from(users)
                                  .where(users.c.role == "owner")).scalar_one()
    assert owners == size + 1, (owners, size)
    return cost


def answer_times(url: str, runs: int) -> tuple[float, float]:
    """Median wall seconds of `POST /v1/signup` for an address that has an account and for new
    ones: the answer must not tell them apart."""
    known: list[float] = []
    new: list[float] = []
    with _cloud(url) as (client, container):
        _one(client, container, 0, "known")
        for n in range(runs):  # interleaved, so load changes hit both alike
            for email, times in (("visitor0.known@example.com", known),
                                 (f"new{n}@example.com", new)):
                body = {"email": email, "password": "correct horse battery",
                        "tenant_name": f"x{n}-{len(known)}-{len(new)}"}
                start = time.perf_counter()
                assert client.post("/v1/signup", json=body).status_code == 202
                times.append(time.perf_counter() - start)
    return statistics.median(known), statistics.median(new)


def _hash_parameters(cheap: bool) -> str:
    if cheap:
        auth.PasswordHasher = functools.partial(  # type: ignore[misc]
            auth.PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1)
    hasher = auth.PasswordHasher()
    return (f"argon2id time_cost {hasher.time_cost}, memory_cost {hasher.memory_cost} KiB, "
            f"parallelism {hasher.parallelism}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cheap-hash", action="store_true",
                        help="argon2 at time_cost 1, 1 MiB: the path without the hash's cost")
    parser.add_argument("--timing-runs", type=int, default=15,
                        help="sign-ups of a known and of a new address, to compare answer times")
    add_options(parser, (20, 50, 100), "sign-ups")
    args = parser.parse_args()
    verdict = Verdict("signup")
    print(f"password hash: {_hash_parameters(args.cheap_hash)}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    rows = []
    for size in args.sizes:
        cost = signups_at(args.database_url, size)
        rate = size / cost.wall
        print(f"{size:>6,} sign-ups confirmed: {rate:,.1f} sign-ups/s; {cost.describe()}")
        verdict.add(f"sign-ups per second at {size}", rate, "/s")
        rows.append((size, cost))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("cost per sign-up (sign-up + confirmation) at each size:")
    for size, cost in rows:
        print(per_unit_row(size, "sign-ups", cost))
    goal = None if args.cheap_hash else GOAL_CPU_US
    verdict.add_sizes("sign-ups", "sign-up", rows, cpu_at_most_us=goal)
    known, new = answer_times(args.database_url, args.timing_runs)
    gap = abs(known - new) / new * 100
    print(f"POST /v1/signup, median of {args.timing_runs}: {known * 1e3:.1f} ms for an address "
          f"with an account, {new * 1e3:.1f} ms for a new one ({gap:.0f}% apart)")
    verdict.add("answer ms, address with an account", known * 1e3, "ms")
    verdict.add("answer ms, new address", new * 1e3, "ms")
    verdict.add("answer time gap", gap, "%", at_most=None if args.cheap_hash else 25.0)
    sys.stdout.flush()
    verdict.emit(args.json)


if __name__ == "__main__":
    main()
