"""The commands a deployment doc gives, read out of its markdown, so its test runs what it says;
and what those tests share (the cloud with the doc's settings, a unit started in a namespace).

A block is a fenced code block right after an HTML comment `<!-- doc-test: NAME -->`. A block
named `unit deploy/systemd/X.service` prints that unit file, which must be the same as the file
in the tree. `Substitutions` turn the doc's paths and example names into the test's; each one
must be used, so a doc that stops mentioning a value fails its test instead of being skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sws.clock import SimulatedClock
from sws.config import Settings
from sws.drivers.base import Server, ServerCreate
from sws.identity import service as identity
from tests.api.conftest import TASK_SECONDS, Cloud, open_cloud
from tests.integration.netns import Hub

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(
    r"<!-- doc-test: (?P<name>[^>]+?) -->[ \t]*\n[ \t]*```[\w-]*\n(?P<body>.*?)\n[ \t]*```",
    re.S,
)


def blocks(doc: str) -> dict[str, str]:
    """NAME -> the block's text (dedented), for every marked block of `docs/<doc>`."""
    text = (ROOT / "docs" / doc).read_text()
    found = {m["name"]: textwrap.dedent(m["body"]) + "\n" for m in BLOCK.finditer(text)}
    assert found, f"docs/{doc} has no doc-test blocks"
    return found


def unit_blocks(found: dict[str, str]) -> dict[str, str]:
    """Unit file name -> its text, checked against the file shipped in deploy/systemd."""
    units = {}
    for name, text in found.items():
        if name.startswith("unit "):
            path = ROOT / name.removeprefix("unit ")
            assert path.read_text() == text, f"the doc's copy of {path.name} differs from the file"
            units[path.name] = text
    return units


def lines(text: str) -> list[str]:
    """The commands of a shell block: its lines without blanks and comments."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= and `set -a; . FILE` read them."""
    env = {}
    for line in lines(text):
        key, _, value = line.partition("=")
        (env[key],) = shlex.split(value) or [""]
    return env


@dataclass(frozen=True)
class Unit:
    """What the tests need of a systemd unit: the command and its environment files."""

    exec_start: list[str]
    environment_files: list[str]


def unit(text: str) -> Unit:
    settings = {}
    files = []
    for line in lines(text):
        key, _, value = line.partition("=")
        if key == "EnvironmentFile":
            files.append(value.removeprefix("-"))
        settings.setdefault(key, value)
    return Unit(shlex.split(settings["ExecStart"]), files)


@dataclass
class Substitutions:
    """The doc's values -> the test's; `apply` counts which ones were used."""

    values: dict[str, str]
    used: set[str] = field(default_factory=set)

    def apply(self, text: str) -> str:
        for old, new in self.values.items():
            if old in text:
                self.used.add(old)
                text = text.replace(old, new)
        return text

    def all_used(self) -> None:
        unused = set(self.values) - self.used
        assert not unused, f"the doc no longer mentions {sorted(unused)}: update its test"


def run_unit(
    net: Hub,
    role: str,
    found: Unit,
    subs: Substitutions,
    env_files: dict[str, dict[str, str]],
    log: Path,
) -> None:
    """Start a unit's ExecStart in `role`'s namespace, with its EnvironmentFile= values."""
    env: dict[str, str] = {}
    for path in found.environment_files:
        env.update(env_files[path])
        subs.apply(path)
    net.start(role, [subs.apply(arg) for arg in found.exec_start], env, log)


class RunningClock(SimulatedClock):
    """Real time, plus what `advance` added: the API's clock then agrees with processes on the
    system clock (`sws dns serve` judging heartbeats), and `settle` still moves it on."""

    def __init__(self) -> None:
        super().__init__(datetime.now(UTC))
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock never goes backwards")
        self._offset += delta
        return self.now()


@contextmanager
def cloud_with(settings_env: dict[str, str], home: Path) -> Iterator[Cloud]:
    """The test cloud on SQLite in `home`, with a doc's settings applied as the API reads
    them (environment variables), on a clock that runs with the real one."""
    saved = {key: os.environ.get(key) for key in settings_env}
    os.environ.update(settings_env)
    try:
        settings = Settings(
            home=home,
            database_url=f"sqlite:///{home / 'sws.db'}",
            sim_task_seconds=TASK_SECONDS,
            demo_data=False,
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    with open_cloud(settings, RunningClock()) as cloud:
        yield cloud


def boot(cloud: Cloud, name: str = "web-0") -> Server:
    """One ACTIVE instance of acme's in the simulated region, as the driver sees it."""
    driver = cloud.container.driver("RegionOne")
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(cloud.acme.id) if i.status == "active")
    (server,) = driver.create_servers(
        cloud.acme.id, "u", ServerCreate(name=name, flavor_id=flavor.id, image_id=image.id)
    )
    cloud.settle()
    return driver.get_server(cloud.acme.id, server.id)


def agent_user(cloud: Cloud, env: dict[str, str]) -> dict[str, str]:
    """Create the agents' admin user a doc's `agent-env` block names, as the doc says to (an
    admin of the operator tenant), and return that block's environment."""
    db, clock = cloud.container.db, cloud.container.clock
    operator = next(
        t for t in identity.list_tenants(db=db, limit=100, marker=None) if t.name == "operator"
    )
    identity.create_user(
        db=db,
        clock=clock,
        tenant_id=operator.id,
        name=env["SWS_AGENT_USER"],
        password=env["SWS_AGENT_PASSWORD"],
        role="admin",
    )
    return env
