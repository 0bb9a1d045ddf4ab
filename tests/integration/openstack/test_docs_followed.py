"""docs/openstack.md followed literally, against the cloud `scripts/openstack-dev` runs.

The walk-through's shell blocks are marked `<!-- doc-test: NAME -->` in the markdown (read by
`tests/integration/docblocks.py`, as the deployment docs' are); this test runs them in order in
one operator's shell (the exported variables of a step reach the next, as in a terminal). Only
the first block, the operator's choices, is the test's own: the same variables, with this
machine's values (a fresh PostgreSQL database, the test cloud's broker and vhost, a free port).
The console step is a `text` block: the test follows it in Chromium (the e2e suite's browser),
with the name and flavor it gives. Between steps the test checks what the step promised, as an
operator would look; it ends with alice's two servers billed their first hours, and acme's
account observed: in grace, nothing stopped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.e2e.conftest import browser  # noqa: F401 (the e2e suite's Chromium)
from tests.integration.docblocks import blocks

from .conftest import ROOT, TRANSPORT, wait_for
from .console import launch, log_in

DOC = ROOT / "docs" / "openstack.md"
ORDER = [
    "choices",
    "account",
    "clouds-yaml",
    "settings",
    "tenant",
    "rabbitmq",
    "catalog",
    "defaults",
    "run",
    "launch",
    "console",
    "bill",
]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SMALL_PER_STARTED_HOUR = Decimal("0.42")  # m1.small in the sample catalog, CNY
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"  # Debian's libfaketime


@dataclass(frozen=True)
class Step:
    name: str
    body: str
    background: bool  # a block named "NAME background": its `command &` lines keep running


def doc_steps() -> dict[str, Step]:
    """The walk-through's `<!-- doc-test: NAME -->` blocks, in the doc's order."""
    found = []
    for label, body in blocks(DOC.name).items():
        name, _, flag = label.partition(" ")
        found.append(Step(name, body, flag == "background"))
    assert [s.name for s in found] == ORDER, "docs/openstack.md's steps changed: update ORDER"
    return {s.name: s for s in found}


def _exported(body: str) -> set[str]:
    names: set[str] = set()
    for line in re.findall(r"^export (.*)$", body, re.M):
        names |= set(re.findall(r"(?:^|\s)(\w+)=", line.split("#")[0]))
    return names


def test_the_walk_through_has_its_steps_in_order_and_the_choices_the_test_sets() -> None:
    steps = doc_steps()
    assert _exported(steps["choices"].body) == set(_choices("x", Path("/x"), "u", 1))
    assert steps["run"].background and not steps["bill"].background


def _choices(suffix: str, home: Path, database_url: str, port: int) -> dict[str, str]:
    """This machine's answers to step 0 (the doc's own are an example operator's)."""
    return {
        "OS_CLOUD": "admin",
        "SWS_OS_USER": f"sws-doc-{suffix}",
        "SWS_OS_PASSWORD": f"doc-{uuid.uuid4().hex}",
        "SWS_HOME": str(home),
        "SWS_DATABASE_URL": database_url,
        "SWS_TRANSPORT_URL": TRANSPORT,
        "NOVA_VHOST": "sws-openstack",
        "SWS_PORT": str(port),
        "ALICE_PASSWORD": f"alice-{uuid.uuid4().hex[:12]}",
    }


class Shell:
    """One operator's bash: each step runs with what the steps before exported."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.state = home / "shell.env"
        self.state.write_text("".join(f"export {k}='{v}'\n" for k, v in env.items()))
        self.cwd = home
        self.base = {
            **os.environ,
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "COLUMNS": "200",
        }
        self.background: list[subprocess.Popen[bytes]] = []

    def run(self, step: Step, timeout: float = 300, *, later: str = "") -> str:
        """Run `step`; `later` ("+1h") runs it that much later, on libfaketime's clock."""
        script = f"set -euo pipefail\nsource {self.state}\n{step.body}\nexport -p > {self.state}\n"
        env = {**self.base, **({"FAKETIME": later, "LD_PRELOAD": FAKETIME_LIB} if later else {})}
        done = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=self.cwd,
            text=True,
            capture_output=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"step {step.name} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, step: Step) -> None:
        """A background step: each `command &` line runs as a process of its own."""
        for index, line in enumerate(step.body.splitlines()):
            command = line.strip().removesuffix("&").strip()
            if not command or command.startswith("#"):
                continue
            log = (self.cwd / f"{step.name}-{index}.log").open("ab")
            self.background.append(
                subprocess.Popen(
                    ["bash", "-c", f"source {self.state}\nexec {command}"],
                    env=self.base,
                    cwd=self.cwd,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for proc in self.background:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty PostgreSQL database: the doc's `sws db upgrade` makes the schema."""
    name = f"sws_doc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({type(exc).__name__})")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _forget(admin: Any, sws_user: str) -> None:
    """What the walk-through makes in Keystone and Nova, gone (before and after a run)."""
    project = admin.identity.find_project("acme", domain_id="default")
    if project is not None:
        for server in admin.compute.servers(all_projects=True, project_id=project.id):
            admin.compute.delete_server(server)
            admin.compute.wait_for_delete(server, interval=0.5)
        admin.identity.delete_project(project)
    for name in ("alice", sws_user):
        user = admin.identity.find_user(name, domain_id="default")
        if user is not None:
            admin.identity.delete_user(user)


@pytest.fixture
def operator(admin: Any, fresh_database: str, tmp_path: Path) -> Iterator[Shell]:
    suffix = uuid.uuid4().hex[:6]
    env = _choices(suffix, tmp_path, fresh_database, _free_port())
    env["OS_CLIENT_CONFIG_FILE"] = os.environ["OS_CLIENT_CONFIG_FILE"]  # the admin's clouds.yaml
    env["SWS_EVENTS_QUEUE"] = f"sws-events-doc-{suffix}"  # a queue of this run's own
    _forget(admin, env["SWS_OS_USER"])
    shell = Shell(tmp_path, env)
    yield shell
    shell.stop()
    _forget(admin, env["SWS_OS_USER"])
    _delete_queue(env["SWS_EVENTS_QUEUE"])


def _delete_queue(queue: str) -> None:
    import kombu

    from sws.events.listener import _kombu_url

    with kombu.Connection(_kombu_url(TRANSPORT)) as conn:
        conn.default_channel.queue_delete(queue)


def _queue_exists(queue: str) -> bool:
    import kombu
    from amqp.exceptions import NotFound as QueueMissing

    from sws.events.listener import _kombu_url

    with kombu.Connection(_kombu_url(TRANSPORT)) as conn:
        try:
            conn.default_channel.queue_declare(queue, passive=True)
        except QueueMissing:
            return False
    return True


def _env(shell: Shell, name: str) -> str:
    found = re.search(rf"^declare -x {name}=\"(.*)\"$", shell.state.read_text(), re.M)
    assert found, name
    return found.group(1)


def test_an_operator_follows_docs_openstack_md_to_a_tenants_first_bill(
    operator: Shell,
    admin: Any,
    browser: Any,  # noqa: F811 (the e2e fixture)
) -> None:
    steps = doc_steps()
    shell = operator

    shell.run(steps["account"])
    sws_user = admin.identity.find_user(_env(shell, "SWS_OS_USER"), domain_id="default")
    service = admin.identity.find_project("service", domain_id="default")
    roles = admin.identity.role_assignments(user_id=sws_user.id, scope_project_id=service.id)
    assert admin.identity.find_role("admin").id in [r.role["id"] for r in roles]
    shell.run(steps["clouds-yaml"])
    shell.run(steps["settings"])
    with create_engine(_env(shell, "SWS_DATABASE_URL")).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM resource_events")).scalar() == 0

    shell.run(steps["tenant"])
    _nova_notifies_as_the_doc_says()
    shell.run(steps["rabbitmq"])
    queues = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", "sws-openstack", "name", "policy"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    policies = dict(line.split("\t")[:2] for line in queues.splitlines()[1:])
    assert policies["versioned_notifications.info"] == "notifications-cap"

    assert "new price(s)" in shell.run(steps["catalog"])
    assert "would be suspended next" in shell.run(steps["defaults"])
    assert _stored_default_enforcement(shell) == "observe"  # what acme's account will get

    shell.start(steps["run"])
    base = f"http://127.0.0.1:{_env(shell, 'SWS_PORT')}"
    wait_for(lambda: _ready(base), timeout=60, what="sws api answering /readyz")
    wait_for(
        lambda: _queue_exists(_env(shell, "SWS_EVENTS_QUEUE")),
        timeout=60,
        what="sws worker events declaring its queue",
    )

    server_id, _status = shell.run(steps["launch"]).split()
    token = requests.post(
        f"{base}/v1/auth/tokens",
        timeout=30,
        json={"name": "alice", "password": _env(shell, "ALICE_PASSWORD")},
    ).json()["token"]
    server = wait_for(lambda: _active(base, token, server_id), timeout=90, what="ACTIVE")
    _seen_by_sws(shell, server_id)

    console_id = _launch_on_the_console(browser, base, shell, steps["console"], token)
    console_server = wait_for(lambda: _active(base, token, console_id), timeout=90, what="ACTIVE")
    _seen_by_sws(shell, console_id)
    launches = [datetime.fromisoformat(s["launched_at"]) for s in (server, console_server)]

    # Hourly prices charge an hour once it has ended, and settle never charges the future: the
    # operator settles an hour after the launch (libfaketime moves the step's clock, not Nova's).
    if not Path(FAKETIME_LIB).exists():
        pytest.fail(f"{FAKETIME_LIB} is missing: scripts/openstack-dev install adds faketime")
    before = datetime.now(UTC)
    printed = shell.run(steps["bill"], later="+1h")
    total = Decimal(printed.strip().splitlines()[-1])
    after = datetime.now(UTC)
    first, second = ({_started_hours(at, moment) for moment in (before, after)} for at in launches)
    totals = {SMALL_PER_STARTED_HOUR * (a + b) for a in first for b in second}
    assert total in totals, (printed, first, second)
    assert total >= 2 * SMALL_PER_STARTED_HOUR

    # Observe-only: acme owes (grace), and nothing was stopped.
    assert _account(shell, server["project_id"]) == ("observe", "grace")
    for sid in (server_id, console_id):
        assert _active(base, token, sid) is not None, sid


def _seen_by_sws(shell: Shell, server_id: str) -> None:
    """The server's instance.create.end reached SWS's journal through the listener."""
    query = text(
        "SELECT count(*) FROM resource_events WHERE resource_id = :id AND action = 'create'"
    )
    with create_engine(_env(shell, "SWS_DATABASE_URL")).connect() as conn:
        wait_for(
            lambda: conn.execute(query, {"id": server_id}).scalar() == 1,
            timeout=60,
            what="instance.create.end in SWS",
        )


def _stored_default_enforcement(shell: Shell) -> str:
    with create_engine(_env(shell, "SWS_DATABASE_URL")).connect() as conn:
        return str(
            conn.execute(
                text("SELECT value FROM billing_settings WHERE name = 'default_enforcement'")
            ).scalar()
        )


def _account(shell: Shell, project_id: str) -> tuple[str, str]:
    with create_engine(_env(shell, "SWS_DATABASE_URL")).connect() as conn:
        row = conn.execute(
            text("SELECT enforcement, status FROM billing_accounts WHERE id = :id"),
            {"id": project_id},
        ).one()
    return row.enforcement, row.status


def _launch_on_the_console(chromium: Any, base: str, shell: Shell, step: Step, token: str) -> str:
    """Step 9 in Chromium: alice logs in, Instances, Launch Instance, with the name and flavor
    the step gives and the first public image; the server is listed Active and Running.
    Returns its id."""
    said = re.search(r"launch:\s+name (\S+), flavor (\S+), the first public image", step.body)
    assert said, "docs/openstack.md's console step no longer says what to launch"
    assert "/console/login, as alice" in step.body and "Launch Instance" in step.body
    name, flavor = said.groups()
    images = requests.get(f"{base}/v1/images", headers={"X-Auth-Token": token}, timeout=30)
    image = next(i for i in images.json()["items"] if i["visibility"] == "public")
    context = chromium.new_context(base_url=base, locale="en-US")
    context.set_default_timeout(30_000)  # a real cloud on two cores
    page = context.new_page()
    try:
        log_in(page, base, "alice", _env(shell, "ALICE_PASSWORD"))
        launch(page, name, flavor, {"value": image["id"]}, timeout_ms=90_000)
    finally:
        context.close()
    listed = requests.get(
        f"{base}/v1/servers", params={"name": name}, headers={"X-Auth-Token": token}, timeout=30
    ).json()["items"]
    assert [s["flavor"]["name"] for s in listed] == [flavor], listed
    return str(listed[0]["id"])


def _nova_notifies_as_the_doc_says() -> None:
    """The test cloud's nova.conf has the notification settings step 4 asks of Nova."""
    import configparser

    block = re.search(r"```ini\n(# nova\.conf.*?)\n\n", DOC.read_text(), re.S)
    assert block, "docs/openstack.md lost nova.conf's notification settings"
    wanted, have = (
        configparser.ConfigParser(),
        configparser.ConfigParser(strict=False, interpolation=None),
    )
    wanted.read_string(block.group(1))
    have.read(Path(os.environ["OS_CLIENT_CONFIG_FILE"]).parent / "etc" / "nova.conf")
    for section in wanted.sections():
        assert dict(wanted[section]).items() <= dict(have[section]).items(), section


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def _active(base: str, token: str, server_id: str) -> dict[str, Any] | None:
    found = requests.get(
        f"{base}/v1/servers/{server_id}", headers={"X-Auth-Token": token}, timeout=30
    ).json()
    assert found["status"] != "ERROR", found
    return dict(found) if found["status"] == "ACTIVE" and not found["task_state"] else None


def _started_hours(start: datetime, until: datetime) -> int:
    """Clock hours that have begun in `[start, until]`: what per-started-hour charges."""
    first = start.replace(minute=0, second=0, microsecond=0)
    return (until - first) // timedelta(hours=1) + 1


def test_started_hours_counts_the_hour_a_server_launched_in() -> None:
    at = datetime(2026, 12, 6, 9, 59, 59, tzinfo=UTC)
    assert _started_hours(at, at + timedelta(seconds=0.5)) == 1
    assert _started_hours(at, at + timedelta(seconds=1)) == 2
