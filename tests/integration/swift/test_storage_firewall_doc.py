"""docs/storage-firewall.md, followed literally against a stock Swift proxy.

The commands and configuration come out of the markdown: the fenced blocks marked
`<!-- doc-test: NAME -->` (`tests.integration.docblocks`). When the doc changes, this test runs
what it says then.

1. `install-middleware`: the commands run from the checkout's root, with `python` and `pip` of
   a fresh venv (no system site-packages), which then holds the middleware and nothing of SWS's
   stack. The proxy's Swift is the rig's (`scripts/swift-dev`'s venv), reached through a `.pth`
   file: Swift installed beside the middleware, as on a proxy that has Swift already.
2. `proxy-pipeline`: the pipeline and filter sections of a new proxy on a free port, completed
   with what the doc leaves to Swift's own sample (`[DEFAULT]`, `[app:proxy-server]`, the cache
   and the stock filters) and served by `swift-proxy-server` on the rig's rings and memcache.
3. `sws-settings`: SWS's `[swift.RegionOne]`, as `sws.toml`, whose InternalClient config is
   `deploy/swift/internal-client.conf` as shipped.

The doc's example addresses become the rig's (`places`); each must still be in the blocks, so
a change there fails here instead of going untested. Then, through SWS's API, a tenant's new
account gets a container (the InternalClient's `account_autocreate`), a blacklisted address
gets the documented 403 and a request limit the documented 429 at N+1.
"""

from __future__ import annotations

import configparser
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sws.clock import SimulatedClock
from sws.config import Settings
from sws.drivers.openstack.objectstore import SwiftObjectStore
from tests.api.conftest import open_cloud
from tests.api.test_storage import fetch, make_container, put, set_firewall
from tests.integration.docblocks import Substitutions, blocks, lines
from tests.integration.sws_process import free_port, stop

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "storage-firewall.md"
SAMPLE = REPO / "deploy" / "swift" / "internal-client.conf"  # the shipped InternalClient config
PROXY_SAMPLE = REPO / "deploy" / "swift" / "proxy-server.conf"
SWS_HOST = "127.0.0.1"  # where the API runs in this test: the proxy must trust it
MEMCACHE_IN_SAMPLE = "memcache_servers = 10.0.0.11:11211,10.0.0.12:11211"
STACK = ("fastapi", "sqlalchemy", "openstacksdk", "uvicorn", "pydantic", "alembic")


def doc_block(name: str) -> str:
    found = blocks("storage-firewall.md")
    assert name in found, f"docs/storage-firewall.md has no block <!-- doc-test: {name} -->"
    return found[name]


def places(env: dict[str, str], proxy_url: str, internal_conf: Path) -> Substitutions:
    """The doc's example places -> the rig's."""
    return Substitutions(
        {
            "redis://10.0.0.5:6379/0": env["SWIFT_DEV_REDIS_URL"],
            "10.0.2.10/32": f"{SWS_HOST}/32",
            "https://swift.example.com": proxy_url,
            "/etc/sws/internal-client.conf": str(internal_conf),
        }
    )


@dataclass
class ProxyVenv:
    path: Path
    python: Path
    installed: set[str]


@pytest.fixture(scope="module")
def proxy_venv(swift_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> ProxyVenv:
    """A fresh venv where the doc's install commands ran; Swift reached through a .pth."""
    rig_python = Path(swift_env["SWIFT_DEV_VENV"]) / "bin" / "python"
    venv = tmp_path_factory.mktemp("proxy") / "venv"
    subprocess.run([str(rig_python), "-m", "venv", str(venv)], check=True, timeout=120)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    for line in lines(doc_block("install-middleware")):
        done = subprocess.run(
            line, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    python = venv / "bin" / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines() if "==" in line}
    rig_site = subprocess.run(
        [
            str(rig_python),
            "-c",
            "import swift, os; print(os.path.dirname(os.path.dirname(swift.__file__)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (Path(site.strip()) / "stock_swift.pth").write_text(rig_site + "\n")
    return ProxyVenv(venv, python, installed)


def test_the_middleware_installs_alone(proxy_venv: ProxyVenv) -> None:
    assert "sws-swift-middleware" in proxy_venv.installed
    assert not proxy_venv.installed & set(STACK), proxy_venv.installed
    assert proxy_venv.installed <= {"sws-swift-middleware", "pip", "setuptools", "wheel"}
    where = subprocess.run(
        [
            str(proxy_venv.python),
            "-c",
            "import sws_swift.middleware as m, sws_swift.usage; print(m.__file__)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr[-2000:]
    assert where.stdout.strip().startswith(str(proxy_venv.path)), where.stdout
    for module in ("sws", "fastapi", "sqlalchemy"):
        absent = subprocess.run(
            [str(proxy_venv.python), "-c", f"import {module}"], capture_output=True, timeout=60
        )
        assert absent.returncode != 0, module


def sections(text: str) -> dict[str, dict[str, str]]:
    """An ini text's sections as paste.deploy reads them (no interpolation, no DEFAULT merge)."""
    parser = configparser.RawConfigParser(default_section="__none__")
    parser.read_string(text)
    return {name: dict(parser[name]) for name in parser.sections()}


def test_the_shipped_proxy_sample_has_the_docs_sections_and_loads(
    proxy_venv: ProxyVenv, swift_env: dict[str, str], tmp_path: Path
) -> None:
    """deploy/swift/proxy-server.conf: the doc's pipeline and filters, and a pipeline Swift
    builds (every filter it names is defined) in the venv the doc's commands made."""
    sample_text = PROXY_SAMPLE.read_text()
    sample, doc = sections(sample_text), sections(doc_block("proxy-pipeline"))
    assert sample["pipeline:main"]["pipeline"].split() == doc["pipeline:main"]["pipeline"].split()
    for name in ("filter:sws_firewall", "filter:sws_usage"):
        assert sample[name]["use"] == doc[name]["use"], name
    local = Substitutions(
        {
            "swift_dir = /etc/swift": f"swift_dir = {swift_env['SWIFT_DEV_DIR']}/etc",
            "user = swift\n": "",
            MEMCACHE_IN_SAMPLE: f"memcache_servers = {swift_env['SWIFT_DEV_MEMCACHED']}",
        }
    )
    conf = tmp_path / "proxy-server.conf"
    conf.write_text(local.apply(sample_text))
    local.all_used()
    loaded = subprocess.run(
        [
            str(proxy_venv.python),
            "-c",
            "import sys; from swift.common.utils import set_swift_dir; "
            "from swift.common.wsgi import loadapp; set_swift_dir(sys.argv[2]); "
            "print(type(loadapp(sys.argv[1])).__name__)",
            str(conf),
            f"{swift_env['SWIFT_DEV_DIR']}/etc",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]


def proxy_conf(env: dict[str, str], port: int, pipeline: str) -> str:
    """The doc's sections, plus what every proxy-server.conf has and the doc leaves to Swift."""
    names = re.search(r"^pipeline\s*=\s*(.*?)(?=^\[|\Z)", pipeline, re.M | re.S)
    assert names is not None, "the doc's block has no pipeline line"
    defined = set(re.findall(r"^\[filter:([\w-]+)\]", pipeline, re.M))
    stock = [
        n
        for n in dict.fromkeys(names.group(1).split())
        if n not in defined | {"proxy-server", "cache"}
    ]
    memcache = env["SWIFT_DEV_MEMCACHED"]
    parts = [
        f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nworkers = 0\n"
        f"swift_dir = {env['SWIFT_DEV_DIR']}/etc\nlog_name = proxy-doc\n"
        f"log_address = {env['SWIFT_DEV_DIR']}/no-syslog\n",
        pipeline,
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n",
        f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = {memcache}\n",
        *(f"[filter:{n}]\nuse = egg:swift#{n.replace('-', '_')}\n" for n in stock),
    ]
    return "\n".join(parts)


@pytest.fixture
def doc_proxy(
    proxy_venv: ProxyVenv, swift_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, Substitutions]]:
    """A proxy configured as the doc says, from the venv the doc's commands made: its URL, and
    the doc's places as this test has them."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    subs = places(swift_env, url, tmp_path / "internal-client.conf")
    conf = tmp_path / "proxy-server.conf"
    conf.write_text(proxy_conf(swift_env, port, subs.apply(doc_block("proxy-pipeline"))))
    server = Path(swift_env["SWIFT_DEV_VENV"]) / "bin" / "swift-proxy-server"
    log = (tmp_path / "proxy.log").open("wb")
    process = subprocess.Popen(
        [str(proxy_venv.python), str(server), str(conf), "-v"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(port, process, tmp_path / "proxy.log")
        yield url, subs
    finally:
        stop(process, grace=10)
        log.close()


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the doc's proxy exited:\n{log.read_text()[-3000:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the doc's proxy did not listen:\n{log.read_text()[-3000:]}")


@pytest.fixture
def doc_settings(
    doc_proxy: tuple[str, Substitutions],
    swift_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """SWS with the doc's `[swift.RegionOne]` in sws.toml; the shipped InternalClient sample."""
    sample = Substitutions(
        {
            "swift_dir = /etc/swift": f"swift_dir = {swift_env['SWIFT_DEV_DIR']}/etc",
            MEMCACHE_IN_SAMPLE: f"memcache_servers = {swift_env['SWIFT_DEV_MEMCACHED']}",
        }
    )
    (tmp_path / "internal-client.conf").write_text(sample.apply(SAMPLE.read_text()))
    sample.all_used()
    _, subs = doc_proxy
    toml = tmp_path / "sws.toml"
    toml.write_text(subs.apply(doc_block("sws-settings")))
    subs.all_used()
    monkeypatch.setenv("SWS_CONFIG", str(toml))
    monkeypatch.delenv("SWS_SWIFT", raising=False)
    return Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}", demo_data=False)


def test_a_blacklist_and_a_limit_behave_as_documented(doc_settings: Settings) -> None:
    doc = " ".join(DOC.read_text().split())
    refusal = "Refused by the storage firewall: the address matches blacklist entry 192.0.2.0/24."
    assert refusal in doc
    with open_cloud(doc_settings, SimulatedClock(datetime.now(UTC))) as cloud:
        assert isinstance(cloud.container.object_store(), SwiftObjectStore)
        make_container(cloud)  # a new account: the InternalClient creates it
        reader = "198.51.100.7"
        assert put(cloud.client, cloud, "a.txt", b"hello").status_code in (200, 201)
        rules = {
            "deny": ["192.0.2.0/24"],
            "limits": [{"kind": "requests", "window": 300, "amount": 3}],
        }
        assert set_firewall(cloud, rules).status_code == 200
        denied = fetch(cloud, "192.0.2.7", "photos/objects/a.txt")
        assert denied.status_code == 403, denied.text
        assert denied.json()["detail"] == refusal
        for _ in range(3):
            assert fetch(cloud, reader, "photos/objects/a.txt").status_code == 200
        limited = fetch(cloud, reader, "photos/objects/a.txt")
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["Retry-After"]) <= 300
        assert "requests limit 3 requests per 5 minutes" in limited.json()["detail"]
