"""A custom domain works only after its TXT record is published in the test's PowerDNS (issue 19):
SWS asks DNS with its real resolver (`DnsTxtResolver`, dnspython), pointed at a real PowerDNS
that serves the tenant's own zone from a zone file (the bind backend), and a real Varnish edge
runs the configuration SWS renders. No record, or a record proving another project, is a 422
and the edge does not know the name; once the tenant publishes its proof (the zone file
rewritten, PowerDNS reloaded), the domain is accepted and the edge serves it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.exception
import dns.resolver
import pytest

from sws.cdn.model import EdgeState
from sws.clock import SimulatedClock
from sws.config import LBNodeConfig, Settings
from sws.loadbalancer.ownership import DnsTxtResolver
from tests.api.conftest import Cloud, open_cloud
from tests.integration.cdn.conftest import Rig
from tests.integration.cdn.test_steering_isp_views import _need_pdns
from tests.integration.netns import wait_for

D = "/v1/cdn/distributions"
ZONE = "acme.test"
DOMAIN = f"static.{ZONE}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TenantZone:
    """The tenant's zone `acme.test` in a real PowerDNS on 127.0.0.1 (bind backend)."""

    root: Path
    port: int
    serial: int = 1

    def write(self, *records: str) -> None:
        """The zone file with its SOA, NS and `records`; PowerDNS reloads it."""
        zone = "\n".join([
            f"$ORIGIN {ZONE}.",
            f"@ 60 IN SOA ns1.{ZONE}. hostmaster.{ZONE}. {self.serial} 3600 600 86400 0",
            f"@ 60 IN NS ns1.{ZONE}.",
            "ns1 60 IN A 127.0.0.1",
            *records,
            "",
        ])
        (self.root / f"{ZONE}.zone").write_text(zone)
        self.serial += 1

    def publish(self, *records: str) -> None:
        self.write(*records)
        subprocess.run(["pdns_control", f"--config-dir={self.root}", "bind-reload-now", ZONE],
                       check=True, capture_output=True, timeout=30)

    def txt(self, name: str) -> list[str]:
        """What a resolver pointed at this PowerDNS finds (dnspython, as SWS asks)."""
        return DnsTxtResolver().txt(name)


@pytest.fixture
def tenant_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TenantZone]:
    pdns = _need_pdns()
    root = tmp_path / "pdns"
    root.mkdir()
    zone = TenantZone(root, _free_port())
    zone.write()
    (root / "named.conf").write_text(
        f'zone "{ZONE}" {{ type master; file "{root / (ZONE + ".zone")}"; }};\n'
    )
    (root / "pdns.conf").write_text("\n".join([
        "launch=bind",
        f"bind-config={root / 'named.conf'}",
        "local-address=127.0.0.1",
        f"local-port={zone.port}",
        f"socket-dir={root}",
        "cache-ttl=0",
        "query-cache-ttl=0",
        "negquery-cache-ttl=0",
        "zone-cache-refresh-interval=0",
        "security-poll-suffix=",
        "",
    ]))
    log = (tmp_path / "pdns.log").open("w")
    server = subprocess.Popen(
        [pdns, f"--config-dir={root}", "--daemon=no", "--guardian=no", "--write-pid=no",
         "--disable-syslog"], stdout=log, stderr=subprocess.STDOUT)
    # SWS's resolver (dnspython's default one) asks this PowerDNS, as /etc/resolv.conf would
    # make it ask the cloud's resolvers.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = zone.port
    resolver.cache = None
    monkeypatch.setattr(dns.resolver, "default_resolver", resolver)
    try:
        wait_for(_answers, 30, "PowerDNS serving acme.test")
        yield zone
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        print((tmp_path / "pdns.log").read_text())


def _answers() -> bool:
    try:
        return bool(dns.resolver.resolve(f"ns1.{ZONE}", "A", lifetime=2))
    except dns.exception.DNSException:  # not up yet
        return False


@pytest.fixture
def cloud(rig: Rig, tmp_path: Path) -> Iterator[Cloud]:
    """SWS with the rig's origin as its LB node and the rig's first edge; TXT lookups by the
    real resolver (open_cloud gives a fake one)."""
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}", demo_data=False,
        lb_nodes=[LBNodeConfig(name="lb-1", address="10.77.1.1")], lb_http_port=8080,
        cdn_edges=[LBNodeConfig(name="edge-1", address="10.77.1.2")],
    )
    with open_cloud(settings, SimulatedClock(datetime(2026, 12, 7, 5, 0, tzinfo=UTC))) as found:
        found.container.txt_resolver = DnsTxtResolver()
        yield found


def _apply_desired_state(cloud: Cloud, rig: Rig) -> None:
    data = cloud.client.get("/v1/admin/cdn-edges/edge-1/desired-state", headers=cloud.admin)
    assert data.status_code == 200, data.text
    rig.edges[0].agent.apply(EdgeState(vcl=data.json()["vcl"]))


def _add(cloud: Cloud, distribution: dict[str, Any]) -> Any:
    return cloud.client.post(f"{D}/{distribution['id']}/domains", json={"domain": DOMAIN},
                             headers=cloud.acme.headers)


def test_a_custom_domain_is_served_only_once_its_txt_record_is_published(
    rig: Rig, tenant_zone: TenantZone, cloud: Cloud
) -> None:
    lb = cloud.client.post("/v1/loadbalancers", json={"name": "web", "type": "http"},
                           headers=cloud.acme.headers).json()
    made = cloud.client.post(D, json={"name": "site", "origin": {"kind": "loadbalancer",
                                                                 "ref": lb["id"]}},
                             headers=cloud.acme.headers).json()
    edge, challenge = rig.edges[0], f"_sws-challenge.{DOMAIN}"
    _apply_desired_state(cloud, rig)
    assert rig.get(edge, "/", host=made["host"]).body == "home"

    # 1. Nothing published: refused, naming the record to publish; the edge knows no such host.
    refused = _add(cloud, made)
    assert refused.status_code == 422 and challenge in refused.json()["detail"]
    assert rig.get(edge, "/", host=DOMAIN).status == 404

    # 2. A record that proves another project: still refused.
    tenant_zone.publish(f'_sws-challenge.static 60 IN TXT "sws-project={cloud.globex.id}"')
    assert tenant_zone.txt(challenge) == [f"sws-project={cloud.globex.id}"]
    assert _add(cloud, made).status_code == 422

    # 3. The tenant's own proof: accepted, and the edge serves the domain from then on.
    tenant_zone.publish(f'_sws-challenge.static 60 IN TXT "sws-project={cloud.acme.id}"',
                        f"static 60 IN CNAME {made['host']}.")
    assert tenant_zone.txt(challenge) == [f"sws-project={cloud.acme.id}"]
    added = _add(cloud, made)
    assert added.status_code == 201, added.text
    _apply_desired_state(cloud, rig)
    served = rig.get(edge, "/", host=DOMAIN)
    assert (served.status, served.body) == (200, "home")
    assert rig.get(edge, "/", host=DOMAIN).hit  # one object with the distribution's name
