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
            name=f"u{label}-{suffix}", password=PASSWORD, domain_id="default",
            default_project_id=project.id,
        )
        admin.identity.assign_project_role_to_user(project, user, member)
        made[label] = Project(project.id, project.name, user.name)
    return made


def keystone_token(user: str, password: str = PASSWORD) -> str:
    import requests

    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}}
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

    listener = NotificationListener(db=None, clock=None, region="", transport_url=url,  # type: ignore[arg-type]
                                    queue=queue)
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
        return subprocess.run(self.args, env=self.env, timeout=timeout,
                              capture_output=True).returncode


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
