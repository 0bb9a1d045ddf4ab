"""A rolling upgrade of the three deployed nodes, twice, under traffic (issue 20 §5).

The checkout is deployed (release A) with docs/operations.md's commands. Two later releases
are made from it, as a developer following the migration rule would write them:
- B adds a column to `tenants` (an expanding migration) and its code reads and writes it:
  B's code fails on A's schema, so B running before its expansion would show as errors;
- C stops using the column and drops it (a migration marked `contract = True`): B's code fails
  without it, so the drop happening before every node runs C would show as errors.
Each is applied with the same playbook (`-e sws_source=<its tree>`): the schema expanded while
the old release serves, the nodes switched one at a time, the contraction last. Meanwhile
readers and a writer go through HAProxy, and not one request may fail. After each upgrade
every SWS process runs the new release, and the column is there (B) or gone (C).

In `make test`'s `nodes` stage, last (`make nodes-test` alone; SWS_TEST_NODES=1, as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import inspect

from sws.db.engine import make_engine
from tests.migrations import write_revision
from tests.nodes.deployment import ADMIN, DB_URL, FRONT, OPT_IN, ROOT, login, node

pytestmark = OPT_IN

TABLES = Path("src/sws/identity/tables.py")
MIGRATIONS = Path("src/sws/db/migrations/versions")
PROBE = '    Column("upgrade_probe", String(64), nullable=True),\n'
NEWEST = "x1_mail_outbox"  # any revision: the release's migration starts a branch on it
UNITS = ("sws-api@8001", "sws-ticker", "sws-events@1")


def _tree(base: Path, into: Path) -> Path:
    """A copy of the checkout's files (tracked, and new ones not ignored), as a release's tree."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=base,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (base / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / name, into / name)
    return into


def release_b(tmp: Path) -> Path:
    """A, plus tenants.upgrade_probe: the migration expands; the code selects the column."""
    tree = _tree(ROOT, tmp / "b")
    tables = (tree / TABLES).read_text()
    anchor = '    "tenants",\n    metadata,\n'
    assert anchor in tables, "sws.identity.tables changed shape: update this test's anchor"
    (tree / TABLES).write_text(tables.replace(anchor, anchor + PROBE, 1))
    add = 'op.add_column("tenants", sa.Column("upgrade_probe", sa.String(64), nullable=True))'
    write_revision(tree / MIGRATIONS, "zz1_upgrade_probe", NEWEST, add, contract=False)
    return tree


def release_c(tmp: Path, b: Path) -> Path:
    """B, with the code no longer using the column, and the migration that drops it."""
    tree = shutil.copytree(b, tmp / "c")
    (tree / TABLES).write_text((ROOT / TABLES).read_text())
    drop = 'op.drop_column("tenants", "upgrade_probe")'
    write_revision(tree / MIGRATIONS, "zz2_upgrade_probe_gone", "zz1_upgrade_probe", drop,
                   contract=True)
    return tree


def upgrade_to(tree: Path) -> str:
    """The playbook, as an operator runs it for a new release; its output."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "site.yml",
         "-e", f"sws_source={tree}", "-e", f"sws_wheelhouse={ROOT / 'build' / 'wheelhouse'}",
         "-e", f"sws_price_catalog={ROOT / 'src' / 'sws' / 'billing' / 'prices.yaml'}"],
        cwd=ROOT / "deploy" / "ansible", capture_output=True, text=True, timeout=1200,
        check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def running_releases() -> set[str]:
    """The release each SWS process on sws-n1 and sws-n2 runs (its interpreter's venv)."""
    found = set()
    for name in ("sws-n1", "sws-n2"):
        for unit in UNITS:
            pid = node(name, "systemctl", "show", "-P", "MainPID", unit).stdout.strip()
            command = node(name, "cat", f"/proc/{pid}/cmdline").stdout.split("\0")[0]
            found.add(command.removesuffix("/bin/python").removesuffix("/bin/python3"))
    return found


def kept_releases() -> set[str]:
    """The release venvs left on sws-n1 (the playbook keeps two)."""
    listed = node("sws-n1", "ls", "-1", "/opt/sws-releases").stdout.split()
    return {f"/opt/sws-releases/{name}" for name in listed}


def probe_column() -> bool:
    engine = make_engine(DB_URL)
    try:
        return "upgrade_probe" in {c["name"] for c in inspect(engine).get_columns("tenants")}
    finally:
        engine.dispose()


class Traffic:
    """Readers of the tenant list and a writer of new tenants through HAProxy, tallied."""

    def __init__(self, admin: dict[str, str]) -> None:
        self.admin, self.stop = admin, threading.Event()
        self.answers: Counter[str] = Counter()
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._read, daemon=True) for _ in range(2)]
        self.threads.append(threading.Thread(target=self._write, daemon=True))

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _read(self) -> None:
        with httpx.Client(base_url=FRONT, timeout=30) as client:
            while not self.stop.is_set():
                self._tally(client, "GET", {}, wanted=200)

    def _write(self) -> None:
        with httpx.Client(base_url=FRONT, timeout=30) as client:
            while not self.stop.is_set():
                self._tally(client, "POST", {"name": f"upgrade-{uuid.uuid4().hex[:10]}"},
                            wanted=201)
                time.sleep(0.1)

    def _tally(self, client: httpx.Client, method: str, body: dict[str, str], *,
               wanted: int) -> None:
        try:
            answer = client.request(method, "/v1/admin/tenants", headers=self.admin,
                                    json=body or None)
        except httpx.HTTPError as error:
            self.failures.append(f"{time.strftime('%X')} {method} {type(error).__name__}")
            return
        self.answers[f"{method} {answer.status_code}"] += 1
        if answer.status_code != wanted:
            self.failures.append(f"{time.strftime('%X')} {method} {answer.status_code} "
                                 f"{answer.text[:200]}")


def test_two_rolling_upgrades_under_traffic_fail_no_request(
    front: httpx.Client, tmp_path: Path
) -> None:
    admin = login(front, ADMIN["name"], ADMIN["password"])
    before = running_releases()
    assert not probe_column()
    for tree, column in ((release_b(tmp_path), True), (release_c(tmp_path, tmp_path / "b"), False)):
        started = time.monotonic()
        with Traffic(admin) as traffic:
            output = upgrade_to(tree)
        now = running_releases()
        print(f"\n{tree.name}: {time.monotonic() - started:.0f} s, answers "
              f"{dict(traffic.answers)}, failures {len(traffic.failures)}, releases {now}")
        assert not traffic.failures, traffic.failures[:10]
        assert sum(traffic.answers.values()) > 100
        assert len(now) == 1 and now != before, (before, now)
        assert probe_column() is column
        assert "Switch to this release and restart" in output
        assert kept_releases() == {*before, *now}, "the running release and the one before"
        before = now
