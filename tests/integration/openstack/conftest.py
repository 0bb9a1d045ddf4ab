"""Real Keystone, Nova, Neutron, Glance and Placement, started by `scripts/openstack-dev up`.

The session fixture brings the cloud up (installing it the first time: a few minutes) and,
if this session started it, stops it by PID at the end. Outside CI a machine where it cannot
be installed (not root, no apt) skips these tests with the reason; in CI they are required.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
HOME = Path(os.environ.get("SWS_OPENSTACK_HOME", "/var/tmp/sws-openstack"))
SCRIPT = ROOT / "scripts" / "openstack-dev"
TRANSPORT = "rabbit://guest:guest@127.0.0.1:5672/sws-openstack"
KEYSTONE = "http://127.0.0.1:25000/v3"
PASSWORD = "sws-test-password"


def _running() -> bool:
    return subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode == 0


@pytest.fixture(scope="package")
def openstack_cloud() -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("the OpenStack test cloud needs root and apt-get (scripts/openstack-dev)")
    was_running = _running()
    started = time.monotonic()
    result = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"scripts/openstack-dev up failed:\n{result.stderr[-4000:]}")
    print(f"openstack-dev up took {time.monotonic() - started:.0f} s", file=sys.stderr)
    yield HOME / "clouds.yaml"
    if not was_running and os.environ.get("SWS_OPENSTACK_KEEP") != "1":
        subprocess.run([str(SCRIPT), "down"], capture_output=True)


@pytest.fixture(scope="package")
def admin(openstack_cloud: Path) -> Any:
    import openstack

    os.environ["OS_CLIENT_CONFIG_FILE"] = str(openstack_cloud)
    return openstack.connect(cloud="admin", api_timeout=90)  # a hung service fails a test, not CI


@dataclass
class Project:
    id: str
    name: str
    user: str


@pytest.fixture(scope="package")
def projects(admin: Any) -> dict[str, Project]:
    """Two fresh Keystone projects, each with one member user (password PASSWORD)."""
    suffix = uuid.uuid4().hex[:6]
    member = admin.identity.find_role("member")
    made = {}
    for label in ("a", "b"):
        project = admin.identity.create_project(name=f"t{label}-{suffix}", domain_id="default")
        user = admin.identity.create_user(
            name=f"u{label}-{suffix}",
            password=PASSWORD,
            domain_id="default",
            default_project_id=project.id,
        )
        admin.identity.assign_project_role_to_user(project, user, member)
        made[label] = Project(project.id, project.name, user.name)
    return made


def keystone_token(user: str, password: str = PASSWORD) -> str:
    import requests

    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"name": "Default"}, "password": password}
                },
            }
        }
    }
    response = requests.post(f"{KEYSTONE}/auth/tokens?nocatalog", json=body, timeout=10)
    response.raise_for_status()
    return str(response.headers["X-Subject-Token"])


@pytest.fixture(scope="package")
def sws_env(openstack_cloud: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("sws-openstack")
    return {
        "SWS_HOME": str(home),
        "SWS_DATABASE_URL": f"sqlite:///{home / 'sws.db'}",
        "SWS_AUTH_BACKEND": "keystone",
        "SWS_DRIVER": "openstack",
        "SWS_OPENSTACK_CLOUD": "sws",
        "SWS_CLOUDS_YAML": str(openstack_cloud),
        "SWS_TRANSPORT_URL": TRANSPORT,
        "SWS_EVENTS_QUEUE": f"sws-events-test-{uuid.uuid4().hex[:6]}",
        "SWS_KEYSTONE_CACHE_SECONDS": "1",
        "SWS_DEMO_DATA": "false",
    }


@pytest.fixture(scope="package")
def container(sws_env: dict[str, str]) -> Iterator[Any]:
    from sws import bootstrap
    from sws.config import Settings
    from sws.db.migrate import upgrade

    old = {k: os.environ.get(k) for k in sws_env}
    os.environ.update(sws_env)
    try:
        built = bootstrap.build(Settings())
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    upgrade(built.db.engine)
    _declare_queue(built.settings.transport_url, built.settings.events_queue)
    yield built
    _delete_queue(built.settings.transport_url, built.settings.events_queue)
    built.db.engine.dispose()


def _delete_queue(url: str, queue: str) -> None:
    import kombu

    from sws.events.listener import _kombu_url

    with kombu.Connection(_kombu_url(url)) as conn:
        conn.default_channel.queue_delete(queue)


def _declare_queue(url: str, queue: str) -> None:
    """Bind the durable queue before any notification is sent, so none is missed."""
    import kombu

    from sws.events.listener import NotificationListener, _kombu_url

    listener = NotificationListener(
        db=None,
        clock=None,
        region="",
        transport_url=url,  # type: ignore[arg-type]
        queue=queue,
    )
    with kombu.Connection(_kombu_url(url)) as conn:
        listener.declare(conn)


@pytest.fixture(scope="package")
def client(container: Any) -> Any:
    from fastapi.testclient import TestClient

    from sws.web.app import create_app

    return TestClient(create_app(container))


class Worker:
    """`sws worker ...` as a subprocess, stopped by its PID."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.args = [str(ROOT / ".venv" / "bin" / "sws"), "worker", *args]
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        log = Path(self.env["SWS_HOME"]) / f"worker-{self.args[2]}.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None

    def run(self, timeout: float = 120) -> int:
        return subprocess.run(
            self.args, env=self.env, timeout=timeout, capture_output=True
        ).returncode


@pytest.fixture
def listener(sws_env: dict[str, str], container: Any) -> Iterator[Worker]:
    worker = Worker(sws_env, "events").start()
    yield worker
    worker.stop()


def wait_for(check: Callable[[], Any], *, timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def items_of(body: Any) -> list[Any]:
    """A list answer's items, whether the API sends a bare list or `{"items": [...], ...}`."""
    if isinstance(body, dict):
        return list(body["items"])
    assert isinstance(body, list), body
    return body


# ---- the contract suite: the same API tests over the simulated region and real OpenStack ---


@dataclass
class Contract:
    """An SWS API wired to one driver, with two tenants signed in.

    `kind` is "simulated" or "openstack". On the simulated region time moves only when a test
    moves it: `wait` advances the clock between looks, as Nova's own tasks take real seconds.
    """

    kind: str
    client: Any
    mine: dict[str, str]  # the headers of tenant A (the one that acts)
    theirs: dict[str, str]  # tenant B's: another project, which must see none of A's things
    tenant_id: str
    image_id: str
    settle: Callable[[], None]
    login: tuple[str, str]  # tenant A's user name and password
    admin: dict[str, str]  # an SWS admin's headers (admin role on the operator's project)
    wire: Callable[[str], None] = lambda _server_id: None  # give a server a port, as Nova does

    @property
    def real(self) -> bool:
        return self.kind == "openstack"

    def flavor_id(self, name: str) -> str:
        flavors = items_of(self.client.get("/v1/flavors", headers=self.mine).json())
        return str(next(f["id"] for f in flavors if f["name"] == name))

    def server(self, server_id: str, headers: dict[str, str] | None = None) -> Any:
        answer = self.client.get(f"/v1/servers/{server_id}", headers=headers or self.mine)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait(self, server_id: str, status: str, timeout: float = 90) -> Any:
        """The server once it shows `status` with no task running (ERROR fails at once)."""

        def check() -> Any:
            self.settle()
            found = self.server(server_id)
            assert found["status"] != "ERROR", found
            return found if found["status"] == status and not found["task_state"] else None

        return wait_for(check, timeout=timeout, what=f"server {server_id} {status}")

    def boot(self, name: str, flavor: str) -> Any:
        body = {"name": name, "flavor_id": self.flavor_id(flavor), "image_id": self.image_id}
        made = self.client.post("/v1/servers", json=body, headers=self.mine)
        assert made.status_code == 202, made.text
        return self.wait(made.json()[0]["id"], "ACTIVE")

    def act(self, server_id: str, **body: str) -> Any:
        answer = self.client.post(f"/v1/servers/{server_id}/action", json=body, headers=self.mine)
        assert answer.status_code == 202, answer.text
        return answer.json()

    def gone(self, path: str) -> None:
        """`path` answers 404 (a deleted server may take Nova a moment)."""
        wait_for(
            lambda: (self.settle(), self.client.get(path, headers=self.mine))[1].status_code == 404,
            what=f"{path} gone",
        )


@pytest.fixture(scope="module", params=["simulated", "openstack"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Contract]:
    if request.param == "simulated":
        yield from _simulated(tmp_path_factory.mktemp("contract-sim"))
    else:
        yield _openstack(request)
        _unwire(request.getfixturevalue("admin"), request.getfixturevalue("projects")["a"])


def _simulated(home: Path) -> Iterator[Contract]:
    from datetime import UTC, datetime

    from sws.clock import SimulatedClock
    from sws.config import Settings
    from tests.api.conftest import PASSWORD as API_PASSWORD
    from tests.api.conftest import open_cloud

    settings = Settings(
        home=home, database_url=f"sqlite:///{home / 'sws.db'}", sim_task_seconds=3, demo_data=False
    )
    with open_cloud(settings, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as sim:
        images = items_of(sim.client.get("/v1/images", headers=sim.acme.headers).json())
        yield Contract(
            kind="simulated",
            client=sim.client,
            mine=sim.acme.headers,
            theirs=sim.globex.headers,
            tenant_id=sim.acme.id,
            image_id=next(i["id"] for i in images if i["visibility"] == "public"),
            settle=lambda: sim.settle(3),
            login=("alice", API_PASSWORD),
            admin=sim.admin,
        )


def _openstack(request: pytest.FixtureRequest) -> Contract:
    admin = request.getfixturevalue("admin")
    made: dict[str, Project] = request.getfixturevalue("projects")
    client = request.getfixturevalue("client")
    return Contract(
        kind="openstack",
        client=client,
        mine={"X-Auth-Token": keystone_token(made["a"].user)},
        theirs={"X-Auth-Token": keystone_token(made["b"].user)},
        tenant_id=made["a"].id,
        image_id=str(admin.image.find_image("cirros-fake").id),
        settle=lambda: time.sleep(0.3),
        login=(made["a"].user, PASSWORD),
        admin={"X-Auth-Token": keystone_token(_operator_admin(admin))},
        wire=lambda server_id: _port(admin, made["a"], server_id),
    )


def _unwire(admin: Any, project: Project) -> None:
    """Take down what `_port` built: ports, the router and the network."""
    net, name = admin.network, f"contract-{project.name}"
    router = net.find_router(name, project_id=project.id)
    network = net.find_network(name, project_id=project.id)
    if network is None:
        return
    for port in net.ports(network_id=network.id, device_owner="compute:nova"):
        net.delete_port(port)
    if router is not None:
        for subnet in net.subnets(network_id=network.id):
            net.remove_interface_from_router(router, subnet_id=subnet.id)
        net.delete_router(router)
    net.delete_network(network)


def _operator_admin(admin: Any) -> str:
    """A user with Keystone's admin role on the project SWS_OPERATOR_TENANT names; its name."""
    identity = admin.identity
    project = identity.find_project("operator", domain_id="default") or identity.create_project(
        name="operator", domain_id="default"
    )
    name = "sws-operator-admin"
    user = identity.find_user(name, domain_id="default") or identity.create_user(
        name=name, password=PASSWORD, domain_id="default", default_project_id=project.id
    )
    identity.assign_project_role_to_user(project, user, identity.find_role("admin"))
    return name


def _port(admin: Any, project: Project, server_id: str) -> None:
    """A port on a routed tenant network, bound to `server_id` as Nova binds one.

    The test cloud's Neutron runs without agents, so it cannot bind a port Nova asks for and
    SWS boots servers there with no network (`SWS_OPENSTACK_SERVER_NETWORK=none`). A floating
    IP needs a port behind a router on the external network: this is the wiring Nova and the
    L2 agent would have made, built through Neutron's own API.
    """
    net = admin.network
    name = f"contract-{project.name}"
    network = net.find_network(name, project_id=project.id) or net.create_network(
        name=name,
        project_id=project.id,
        provider_network_type="flat",
        provider_physical_network=name,
    )  # the test cloud has no tenant network types
    subnet = net.find_subnet(name, network_id=network.id) or net.create_subnet(
        name=name,
        network_id=network.id,
        project_id=project.id,
        ip_version=4,
        cidr="10.20.0.0/24",
        gateway_ip="10.20.0.1",
    )
    if net.find_router(name, project_id=project.id) is None:
        public = net.find_network("public", ignore_missing=False)
        router = net.create_router(
            name=name, project_id=project.id, external_gateway_info={"network_id": public.id}
        )
        net.add_interface_to_router(router, subnet_id=subnet.id)
    net.create_port(
        network_id=network.id,
        project_id=project.id,
        device_id=server_id,
        device_owner="compute:nova",
        fixed_ips=[{"subnet_id": subnet.id}],
    )


@contextmanager
def fresh_project(admin: Any, prefix: str, role: str | None = "member") -> Iterator[Project]:
    """A new project with one user (password PASSWORD) holding `role` on it, if any; both
    deleted afterwards, with any other user made for the project meanwhile."""
    suffix = uuid.uuid4().hex[:6]
    identity = admin.identity
    project = identity.create_project(name=f"{prefix}-{suffix}", domain_id="default")
    user = identity.create_user(
        name=f"{prefix}-u-{suffix}", password=PASSWORD, domain_id="default",
        default_project_id=project.id,
    )
    if role is not None:
        identity.assign_project_role_to_user(project, user, identity.find_role(role))
    try:
        yield Project(project.id, project.name, user.name)
    finally:
        for found in identity.users(default_project_id=project.id):
            identity.delete_user(found)
        identity.delete_project(project)
