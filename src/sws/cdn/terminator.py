"""The edges' TLS terminator (HAProxy 2.6) in front of Varnish, rendered from the distributions;
pure.

Varnish speaks no TLS, so on each edge HAProxy listens for clients on HTTP and HTTPS and
forwards every request to Varnish's `front` listener (a Unix socket) with the PROXY protocol,
so Varnish, and the traffic meter's ISP view, see the client's own address. HTTPS picks the
certificate by SNI from a crt-list: the operator's wildcard for `*.cdn.<zone>` and the tenants'
certificates for their verified custom domains. For a distribution in signed-URL mode HAProxy
checks the link's token (`?expires=<unix>&sig=<hex HMAC-SHA256(key, "<path>:<expires>")>`,
`sws.cdn.model.url_signature`) with its `hmac` converter and tells Varnish with
`x-sws-signed: <id>`; Varnish answers 403 to anything else for that distribution.

Every edge runs the same text: its own addresses and run directory come from the environment
the agent starts HAProxy with (`SWS_EDGE_HTTP`, `SWS_EDGE_HTTPS`, `SWS_EDGE_RUN`: its run
directory, `SWS_EDGE_FRONT`: Varnish's `front` socket).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from sws.cdn.model import EdgeCertificate, EdgeDistribution

CERT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
CRT_LIST = "tls/crt-list"

HEADER = """# Rendered by SWS (sws.cdn.terminator). sws-agent cdn replaces it; do not edit.
global
    stats socket "${SWS_EDGE_RUN}/admin.sock" mode 600 level admin expose-fd listeners
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s

frontend edge
    bind "${SWS_EDGE_HTTP}"
"""

TOKEN = """    http-request del-header x-sws-signed
    http-request set-var(txn.host) req.hdr(host),field(1,:),lower
    http-request set-var(txn.expires) urlp_val(expires)
    http-request set-var(txn.sig) urlp(sig),lower
    http-request set-var(txn.left) date,neg,add(txn.expires)
    http-request set-var(txn.msg) path,concat(:,txn.expires)
"""

FOOTER = """    default_backend varnish

backend varnish
    server varnish "unix@${SWS_EDGE_FRONT}" send-proxy-v2
"""


def render(distributions: Sequence[EdgeDistribution],
           certificates: Sequence[EdgeCertificate]) -> str:
    """The HAProxy configuration of every edge (equal input gives equal text)."""
    for certificate in certificates:
        _check_certificate(certificate)
    parts = [HEADER]
    if certificates:
        parts.append(f'    bind "${{SWS_EDGE_HTTPS}}" ssl crt-list "${{SWS_EDGE_RUN}}/{CRT_LIST}"'
                     " alpn http/1.1\n")
    parts.append(TOKEN)
    parts += [_verify(d) for d in sorted(distributions, key=lambda d: d.id) if d.signed]
    parts.append(FOOTER)
    return "".join(parts)


def crt_list(run_dir: str, certificates: Sequence[EdgeCertificate]) -> str:
    """One line per certificate: its file, then the SNI names it answers (the first line is
    also the certificate for clients that send no SNI)."""
    return "".join(f"{run_dir}/tls/{c.name}.pem [alpn http/1.1] {' '.join(c.hosts)}\n"
                   for c in certificates)


def _verify(d: EdgeDistribution) -> str:
    hosts = " ".join(_host(h) for h in d.hosts)
    lines = [f"    acl d_{d.id} var(txn.host) -m str {hosts}\n"]
    for key in d.signing_keys:
        secret = base64.b64encode(bytes.fromhex(key)).decode()
        lines.append(
            f"    http-request set-header x-sws-signed {d.id} if d_{d.id}"
            " { var(txn.expires) -m found } { var(txn.left) -m int ge 0 }"
            f" {{ var(txn.msg),hmac(sha256,{secret}),hex,lower,strcmp(txn.sig) -m int eq 0 }}\n"
        )
    return "".join(lines)


def _host(host: str) -> str:
    if not HOST.match(host):
        raise ValueError(f"{host!r} cannot be a host name in the terminator's configuration")
    return host


def _check_certificate(certificate: EdgeCertificate) -> None:
    if not CERT_NAME.match(certificate.name):
        raise ValueError(f"{certificate.name!r} cannot be a certificate file name")
    for host in certificate.hosts:
        _host(host)
