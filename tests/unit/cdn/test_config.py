"""The CDN settings as the edges get them: the operator's wildcard and each region's parent."""

from __future__ import annotations

from pathlib import Path

from sws.cdn.model import ShieldEdge
from sws.cdn.service import WILDCARD, CDNConfig
from sws.config import LBNodeConfig, Settings
from sws.loadbalancer import ownership
from sws.loadbalancer.service import LBConfig


def test_the_wildcard_file_and_the_parents_become_the_edges_configuration(tmp_path: Path) -> None:
    pem = tmp_path / "wildcard.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n...")
    settings = Settings(
        home=tmp_path, cdn_zone="example.net", cdn_tls_certificate=pem,
        cdn_shield_parents=["edge-1"], cdn_edge_varnish_port=6082,
        cdn_edges=[LBNodeConfig(name="edge-1", address="203.0.113.20", region="east"),
                   LBNodeConfig(name="edge-2", address="198.51.100.20", region="east"),
                   LBNodeConfig(name="edge-3", address="192.0.2.20")],
    )

    config = CDNConfig.from_settings(settings, lb=LBConfig(), txt=ownership.DnsTxtResolver())

    assert config.wildcard is not None
    assert (config.wildcard.name, config.wildcard.hosts) == (WILDCARD, ("*.cdn.example.net",))
    parent, child, alone = config.shielding.edges
    assert parent == ShieldEdge("edge-1", "203.0.113.20", 6082, "east", parent=True)
    assert config.shielding.parent_of(child) == parent
    assert config.shielding.parent_of(alone) is None
    assert config.shielding.parents == (parent,)


def test_without_settings_there_is_no_certificate_and_no_parent(tmp_path: Path) -> None:
    config = CDNConfig.from_settings(Settings(home=tmp_path), lb=LBConfig(),
                                     txt=ownership.DnsTxtResolver())

    assert config.wildcard is None
    assert config.shielding.parents == ()
