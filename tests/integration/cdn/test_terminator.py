"""The edges' TLS terminator (HAProxy in front of Varnish): certificates by SNI from a CA made
in the test, reloads that drop no connection, and signed URLs that work until they expire."""

from __future__ import annotations

import http.client
import socket
import ssl
import stat
import threading
import time
from dataclasses import replace

from cryptography import x509

from sws.cdn import terminator
from sws.cdn.model import (
    EdgeCertificate,
    EdgeDistribution,
    EdgePurge,
    EdgeState,
    new_signing_key,
    signed_path,
)
from sws.cdn.renderer import render
from sws_agent.netfilter import _in_netns
from tests.integration.cdn.conftest import (
    EDGE_PORT,
    FRONT_HTTP_PORT,
    FRONT_HTTPS_PORT,
    HOST,
    Answer,
    Edge,
    Rig,
    distribution,
)
from tests.integration.cdn.tls import LocalCA

CUSTOM = "static.acme.test"


def edge_state(dists: list[EdgeDistribution], certificates: list[EdgeCertificate]) -> EdgeState:
    return EdgeState(render(dists), terminator=terminator.render(dists, certificates),
                     certificates=tuple(certificates))


def https_get(rig: Rig, edge: Edge, ca: LocalCA, path: str,
              host: str) -> tuple[Answer, x509.Certificate]:
    """A GET over HTTPS with SNI `host`, from a client that trusts only the test's CA (and
    checks the name); the answer and the certificate the edge presented."""
    def call() -> tuple[Answer, x509.Certificate]:
        context = ssl.create_default_context(cadata=ca.pem)
        raw = socket.create_connection((edge.address, FRONT_HTTPS_PORT), timeout=30)
        sock = context.wrap_socket(raw, server_hostname=host)
        der = sock.getpeercert(binary_form=True)
        assert der is not None
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.sock = sock
        try:
            connection.request("GET", path, headers={"Host": host})
            reply = connection.getresponse()
            answer = Answer(reply.status, reply.read().decode(),
                            {k.lower(): v for k, v in reply.getheaders()})
            return answer, x509.load_der_x509_certificate(der)
        finally:
            connection.close()

    return _in_netns(rig.hub.name("net"), call)  # type: ignore[no-any-return]


def names(certificate: x509.Certificate) -> list[str]:
    return certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def test_https_presents_the_wildcard_or_the_tenants_certificate_by_sni(rig: Rig) -> None:
    ca = LocalCA.create()
    rig.origin.put("/logo.png", "logo")
    certificates = [ca.edge_certificate("wildcard", "*.cdn.example.com"),
                    ca.edge_certificate("d-a1b2c3d4e5f6", CUSTOM)]
    rig.apply(edge_state([distribution()], certificates))

    for edge in rig.edges:
        answer, presented = https_get(rig, edge, ca, "/logo.png", HOST)
        assert (answer.status, answer.body) == (200, "logo")
        assert names(presented) == ["*.cdn.example.com"]
        answer, presented = https_get(rig, edge, ca, "/logo.png", CUSTOM)
        assert (answer.status, answer.body, answer.hit) == (200, "logo", True)
        assert names(presented) == [CUSTOM]
        tls = edge.terminator.options.run_dir / "tls"
        for pem in tls.glob("*.pem"):
            assert stat.S_IMODE(pem.stat().st_mode) == 0o600  # private keys: root only
        assert "PRIVATE KEY" in (tls / "wildcard.pem").read_text()


def test_a_new_certificate_is_loaded_without_dropping_a_request_in_flight(rig: Rig) -> None:
    ca = LocalCA.create()
    rig.origin.put("/slow", "slow", delay=2)
    rig.origin.put("/fast", "fast")
    edge = rig.edges[0]
    wildcard = ca.edge_certificate("wildcard", "*.cdn.example.com")
    rig.apply(edge_state([distribution()], [wildcard]))
    master = edge.terminator.haproxy.proc().master_pid
    answers: list[tuple[Answer, x509.Certificate]] = []
    slow = threading.Thread(target=lambda: answers.append(
        https_get(rig, edge, ca, "/slow", HOST)))
    slow.start()
    time.sleep(0.5)  # the request is in flight (the origin takes 2 s)

    custom = ca.edge_certificate("d-a1b2c3d4e5f6", CUSTOM)
    assert edge.terminator.apply(edge_state([distribution()], [wildcard, custom]))
    slow.join(30)

    assert [(a.status, a.body) for a, _ in answers] == [(200, "slow")]
    assert names(https_get(rig, edge, ca, "/fast", CUSTOM)[1]) == [CUSTOM]
    assert edge.terminator.haproxy.proc().master_pid == master  # reloaded, not restarted

    assert edge.terminator.apply(edge_state([distribution()], [wildcard]))  # removed again
    tls = edge.terminator.options.run_dir / "tls"
    assert sorted(p.name for p in tls.glob("*.pem")) == ["wildcard.pem"]  # no stale key


def test_a_signed_url_works_until_it_expires_then_403(rig: Rig) -> None:
    key = new_signing_key()
    rig.origin.put("/private/report.pdf", "report")
    signed = replace(distribution(), signing_keys=(key,))
    rig.apply(edge_state([signed], []))
    edge = rig.edges[0]

    def get(path: str) -> Answer:
        return rig.get(edge, path, port=FRONT_HTTP_PORT)

    soon = int(time.time()) + 4
    link = signed_path(key, "/private/report.pdf", soon)
    first = get(link)
    assert (first.status, first.body) == (200, "report")
    # another link to the same object: the token is not part of the cache key
    assert get(signed_path(key, "/private/report.pdf", soon + 60)).hit

    assert get("/private/report.pdf").status == 403  # unsigned
    assert get(link.replace("sig=", "sig=0")).status == 403  # tampered
    assert get(signed_path(key, "/private/other.pdf", soon).replace(
        "/private/other.pdf", "/private/report.pdf")).status == 403  # signed for another path
    assert get(signed_path(new_signing_key(), "/private/report.pdf", soon)).status == 403
    # straight to Varnish, around the terminator: refused even with a valid link
    assert rig.get(edge, link, port=EDGE_PORT).status == 403

    while time.time() < soon + 1.5:
        time.sleep(0.25)
    assert get(link).status == 403  # expired
    assert rig.origin.fetches("/private/report.pdf") == 1


def test_a_rotated_key_keeps_old_links_until_the_old_key_is_dropped(rig: Rig) -> None:
    old, new = new_signing_key(), new_signing_key()
    rig.origin.put("/a.js", "js")
    edge = rig.edges[0]
    later = int(time.time()) + 600
    old_link, new_link = signed_path(old, "/a.js", later), signed_path(new, "/a.js", later)

    rig.apply(edge_state([replace(distribution(), signing_keys=(new, old))], []))
    assert rig.get(edge, old_link, port=FRONT_HTTP_PORT).status == 200
    assert rig.get(edge, new_link, port=FRONT_HTTP_PORT).status == 200

    rig.apply(edge_state([replace(distribution(), signing_keys=(new,))], []))
    assert rig.get(edge, old_link, port=FRONT_HTTP_PORT).status == 403
    assert rig.get(edge, new_link, port=FRONT_HTTP_PORT).status == 200


def test_an_unsigned_distribution_is_served_through_the_terminator_as_before(rig: Rig) -> None:
    rig.origin.put("/open.css", "css")
    rig.apply(edge_state([distribution()], []))
    edge = rig.edges[1]

    assert rig.get(edge, "/open.css?expires=1&sig=x", port=FRONT_HTTP_PORT).body == "css"
    assert rig.get(edge, "/open.css", port=FRONT_HTTP_PORT).hit


def test_a_certificate_haproxy_refuses_leaves_the_running_one_and_purges_go_on(rig: Rig) -> None:
    ca = LocalCA.create()
    rig.origin.put("/logo.png", "v1")
    edge = rig.edges[0]
    wildcard = ca.edge_certificate("wildcard", "*.cdn.example.com")
    rig.apply(edge_state([distribution()], [wildcard]))
    https_get(rig, edge, ca, "/logo.png", HOST)
    rig.origin.put("/logo.png", "v2")

    broken = EdgeCertificate("d-a1b2c3d4e5f6", (CUSTOM,), "not a certificate")
    purge = EdgePurge("p1", "a1b2c3d4e5f6", "url", "/logo.png", "hard", HOST)
    state = replace(edge_state([distribution()], [wildcard, broken]), purges=(purge,))
    reloads = edge.terminator.haproxy.proc().reloads
    edge.agent.apply(state)

    assert edge.agent.take_finished() == {"p1": "done"}
    assert edge.terminator.haproxy.proc().reloads == reloads  # refused by haproxy -c
    answer, presented = https_get(rig, edge, ca, "/logo.png", HOST)
    assert (answer.body, names(presented)) == ("v2", ["*.cdn.example.com"])


def test_the_edge_checks_the_path_as_sent_encoded_and_without_the_query(rig: Rig) -> None:
    key = new_signing_key()
    paths = ["/dir/a%20b.pdf", "/v1/x;y=1/z.js", "/deep/one/two/three.css?v=2"]
    for path in paths:
        rig.origin.put(path.split("?")[0], path)
    rig.apply(edge_state([replace(distribution(query=True), signing_keys=(key,))], []))
    edge = rig.edges[1]
    later = int(time.time()) + 600

    for path in paths:
        answer = rig.get(edge, signed_path(key, path, later), port=FRONT_HTTP_PORT)
        assert (answer.status, answer.body) == (200, path)
    # with the query in the key, the token still is not: a second link is a hit
    again = rig.get(edge, signed_path(key, paths[2], later + 1), port=FRONT_HTTP_PORT)
    assert again.hit
    assert rig.origin.fetches("/deep/one/two/three.css?v=2") == 1  # the token never reached it
