"""The VCL renderer: routes by host, one backend per distribution, TTLs, keys; and every
rendering compiles in the real `varnishd -C` when Varnish is installed."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.cdn.model import (
    MAX_TTL,
    METHODS,
    MIN_TTL,
    Backend,
    CacheSettings,
    EdgeDistribution,
    ShieldEdge,
    Shielding,
)
from sws.cdn.renderer import render
from tests.budget import examples


def _dist(dist_id: str = "a1b2c3d4e5f6", **cache: object) -> EdgeDistribution:
    return EdgeDistribution(dist_id, (f"{dist_id}.cdn.example.com", "static.acme.test"),
                            Backend("10.0.0.5", 8080, "lb.example.com", "/v1/AUTH_p/photos"),
                            CacheSettings(**cache))  # type: ignore[arg-type]


def test_each_distribution_has_its_backend_its_hosts_and_its_origin_path() -> None:
    vcl = render([_dist()])

    assert 'backend d_a1b2c3d4e5f6 {\n    .host = "10.0.0.5";\n    .port = "8080";' in vcl
    assert 'req.http.host == "a1b2c3d4e5f6.cdn.example.com" || ' \
           'req.http.host == "static.acme.test"' in vcl
    assert 'set bereq.url = "/v1/AUTH_p/photos" + bereq.url;' in vcl
    assert 'set bereq.http.host = "lb.example.com";' in vcl


def test_the_ttl_is_a_default_when_honouring_the_origin_and_forced_otherwise() -> None:
    honour = render([_dist(default_ttl=120)])
    force = render([_dist(default_ttl=120, honour_origin=False)])

    assert "if (!beresp.http.Cache-Control && !beresp.http.Expires) {" in honour
    assert "set beresp.ttl = 120s;" in honour
    assert "Cache-Control && " not in force
    assert "set beresp.ttl = 120s;" in force


def test_the_query_string_is_stripped_unless_it_is_part_of_the_key() -> None:
    assert 'regsub(req.url, "\\?.*$", "")' in render([_dist()])
    assert 'regsub(req.url, "\\?.*$", "")' not in render([_dist(query_in_key=True)])


def test_a_disabled_distribution_answers_403() -> None:
    assert 'return (synth(403, "Distribution disabled"));' in render([_dist(enabled=False)])


def test_a_method_not_allowed_is_a_405_naming_the_allowed_ones_and_others_pass() -> None:
    vcl = render([_dist(allowed_methods=("HEAD", "post", "GET"))])

    block = vcl[vcl.index("sub sws_methods"):]
    assert ('if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {'
            in block)
    assert 'set req.http.x-sws-allow = "GET, HEAD, POST";' in block
    assert "set resp.http.Allow = req.http.x-sws-allow;" in vcl
    recv = vcl[vcl.index("sub vcl_recv"):vcl.index("sub sws_purge")]
    assert recv.index("call sws_methods;") < recv.index("return (pass);") < recv.index(
        "unset req.http.Cookie;")


def test_the_order_of_distributions_does_not_change_the_text() -> None:
    a, b = _dist("aaaaaaaaaaaa"), _dist("bbbbbbbbbbbb")
    assert render([a, b]) == render([b, a])


def test_a_quote_in_a_host_is_a_bug_not_vcl() -> None:
    bad = EdgeDistribution("a1b2c3d4e5f6", ('x"; }',), Backend("h", 80, "h"), CacheSettings())
    with pytest.raises(ValueError):
        render([bad])


@settings(max_examples=examples(20), deadline=None)
@given(
    ttl=st.integers(min_value=MIN_TTL, max_value=MAX_TTL),
    honour=st.booleans(), query=st.booleans(), enabled=st.booleans(),
    count=st.integers(min_value=0, max_value=3), signed=st.booleans(), shielded=st.booleans(),
    methods=st.sets(st.sampled_from(METHODS)),
)
def test_every_rendering_within_bounds_compiles(
    ttl: int, honour: bool, query: bool, enabled: bool, count: int, signed: bool,
    shielded: bool, methods: set[str], tmp_path_factory: pytest.TempPathFactory,
) -> None:
    varnishd = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin")
    if varnishd is None:
        pytest.skip("varnishd is not installed (scripts/install-system-packages)")
    dists = [_dist(f"{n:012x}", default_ttl=ttl, honour_origin=honour, query_in_key=query,
                   enabled=enabled, allowed_methods=("GET", "HEAD", *methods))
             for n in range(count)]
    dists = [replace(d, signing_keys=("ab" * 32,) if signed else ()) for d in dists]
    shielding = Shielding((ShieldEdge("edge-1", "10.0.1.2", 6081, "r", parent=True),
                           ShieldEdge("edge-2", "10.0.2.2", 6081, "r"))) if shielded else None
    work = tmp_path_factory.mktemp("vcc")
    path = Path(work) / "edge.vcl"
    path.write_text(render(dists, shielding))
    # -j none: the compiler runs as this user, who can read the pytest directory
    done = subprocess.run([varnishd, "-C", "-j", "none", "-f", str(path), "-n", str(work / "n")],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_signed_distribution_is_served_only_to_verified_requests_without_its_token() -> None:
    vcl = render([_dist()]), render([replace(_dist(), signing_keys=("ab" * 32,))])

    assert 'req.http.x-sws-signed != "a1b2c3d4e5f6"' not in vcl[0]
    assert 'req.http.x-sws-signed != "a1b2c3d4e5f6"' in vcl[1]
    assert "(expires|sig)=" in vcl[1]


def test_children_send_their_misses_to_their_regions_parent() -> None:
    shielding = Shielding((
        ShieldEdge("edge-1", "10.0.1.2", 6081, "east", parent=True),
        ShieldEdge("edge-2", "10.0.2.2", 6081, "east"),
        ShieldEdge("edge-3", "10.0.3.2", 6081, "west"),
    ))
    vcl = render([_dist()], shielding)

    assert 'backend shield_0 {\n    .host = "10.0.1.2";\n    .port = "6081";' in vcl
    assert 'if (server.identity == "edge-2") {\n        set req.backend_hint = shield_0;' in vcl
    assert 'server.identity == "edge-3"' not in vcl  # no parent in its region
    assert "shield_" not in render([_dist()])
