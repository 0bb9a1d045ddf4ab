"""The edges' Varnish configuration (VCL 4.1), rendered from the distributions; pure.

One backend per distribution, routed by the Host header (its automatic name and its verified
custom domains); the cache key is the distribution and the URL (without the query string unless
the distribution keeps it). Every object is tagged for `xkey`: `d:<id>` (the whole distribution)
and `k:<id>:<key>` for each key the origin lists in `Surrogate-Key`, so a tenant's purge can
only reach its own objects. Purges arrive on the edge's private listener named `purge` (a Unix
socket only the agent writes to): a request carrying `X-SWS-Purge-Key` purges by key, any other
`PURGE` purges its URL. Soft purges mark objects stale: the next request is answered from the
stale copy while one background fetch revalidates it, so a large purge never stampedes the
origin. `GRACE` is how long a stale copy may stand in.

Each distribution lets through its allowed methods only (`sws_methods`): any other is 405 with
an `Allow` header. GET and HEAD are cached; the others (OPTIONS, POST...) are passed to the
origin uncached, with the visitor's cookies and credentials.

Signed distributions are served only to requests the edge's TLS terminator (HAProxy, on the
listener named `front`) has verified: it sets `x-sws-signed: <id>`, and the token is stripped
from the key. With shielding, a child edge sends its misses to its region's parent edge, whose
Varnish collapses them with its own misses, so the origin sees one fetch per object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sws.cdn.model import Backend, EdgeDistribution, ShieldEdge, Shielding

GRACE = "1h"
PURGE_SOCKET = "purge"
FRONT_SOCKET = "front"  # the listener the TLS terminator forwards to (a Unix socket)

HEADER = """vcl 4.1;
# Rendered by SWS (sws.cdn.renderer). sws-agent cdn replaces it; do not edit.
import std;
import purge;
import xkey;

backend default none;
"""

RECV = """
sub vcl_recv {
    if (local.socket == "%(socket)s") {
        call sws_purge;
    }
    unset req.http.x-sws-dist;
    unset req.http.x-sws-from-edge;
    unset req.http.x-sws-shielded;
    unset req.http.x-sws-allow;
    if (local.socket != "%(front)s") {
        unset req.http.x-sws-signed;
    }
    call sws_peer;
    set req.http.host = std.tolower(regsub(req.http.host, ":[0-9]+$", ""));
    call sws_route;
    if (!req.http.x-sws-dist) {
        return (synth(404, "Unknown distribution"));
    }
    call sws_methods;
    if (!req.http.x-sws-from-edge) {
        call sws_shield;
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);  # an allowed method beyond GET and HEAD: to the origin, never cached
    }
    unset req.http.Cookie;
    unset req.http.Authorization;
    return (hash);
}

sub sws_purge {
    if (req.method != "PURGE") {
        return (synth(405, "Only PURGE here"));
    }
    if (req.http.x-sws-purge-key) {
        if (req.http.x-sws-purge-mode == "hard") {
            set req.http.x-sws-purged = xkey.purge(req.http.x-sws-purge-key);
        } else {
            set req.http.x-sws-purged = xkey.softpurge(req.http.x-sws-purge-key);
        }
        return (synth(200, "Purged"));
    }
    unset req.http.x-sws-dist;
    set req.http.host = std.tolower(regsub(req.http.host, ":[0-9]+$", ""));
    call sws_route;
    if (!req.http.x-sws-dist) {
        return (synth(404, "Unknown distribution"));
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.http.x-sws-dist);
    hash_data(req.url);
    return (lookup);
}

sub vcl_hit {
    if (local.socket == "%(socket)s") {
        call sws_purge_object;
    }
}

sub vcl_miss {
    if (local.socket == "%(socket)s") {
        call sws_purge_object;
    }
}

sub sws_purge_object {
    if (req.http.x-sws-purge-mode == "hard") {
        set req.http.x-sws-purged = purge.hard();
    } else {
        set req.http.x-sws-purged = purge.soft(0s);
    }
    return (synth(200, "Purged"));
}

sub vcl_synth {
    if (req.http.x-sws-purged) {
        set resp.http.X-SWS-Purged = req.http.x-sws-purged;
    }
    if (resp.status == 405 && req.http.x-sws-allow) {
        set resp.http.Allow = req.http.x-sws-allow;
    }
}

sub vcl_backend_fetch {
    set bereq.http.x-sws-url = bereq.url;
    unset bereq.http.x-sws-signed;
    if (bereq.http.x-sws-shielded) {
        unset bereq.http.x-sws-shielded;
    } else {
        call sws_origin;
    }
}

sub vcl_backend_response {
    set beresp.http.x-sws-dist = bereq.http.x-sws-dist;
    set beresp.http.x-sws-url = bereq.http.x-sws-url;
    set beresp.http.xkey = "d:" + bereq.http.x-sws-dist;
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.xkey + " " + regsuball(
            beresp.http.Surrogate-Key, "([^\\s,]+)", "k:" + bereq.http.x-sws-dist + ":\\1");
    }
    call sws_ttl;
    set beresp.grace = %(grace)s;
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    if (!req.http.x-sws-from-edge) {
        std.log("sws-dist:" + req.http.x-sws-dist);  # metered: sws_agent.cdn._traffic
    }
    unset resp.http.xkey;
    unset resp.http.x-sws-dist;
    unset resp.http.x-sws-url;
    if (!req.http.x-sws-from-edge) {
        unset resp.http.Surrogate-Key;  # a child edge tags its copy with the origin's keys
    }
}
"""


def render(distributions: Sequence[EdgeDistribution], shielding: Shielding | None = None,
           origin_queries: Mapping[str, str] | None = None) -> str:
    """The whole VCL for `distributions` (in id order, so equal input gives equal text).

    Every edge runs the same text: an edge finds its part of `shielding` by its own name
    (`server.identity`, varnishd's `-i`, which the agent sets to the edge's name).
    `origin_queries` (by distribution id) is appended to that distribution's origin fetches:
    the signature of a private container origin (`sws.cdn.origin_access`)."""
    queries = origin_queries or {}
    ordered = sorted(distributions, key=lambda d: d.id)
    shielding = shielding or Shielding()
    parents = shielding.parents
    parts = [HEADER]
    parts += [_backend(f"d_{d.id}", d.backend) for d in ordered]
    parts += [_shield_backend(i, p) for i, p in enumerate(parents)]
    if parents:
        parts.append(_edges_acl(shielding.edges))
    parts.append(RECV % {"socket": PURGE_SOCKET, "grace": GRACE, "front": FRONT_SOCKET})
    parts.append(_sub("sws_peer", [_peer()] if parents else []))
    parts.append(_sub("sws_shield", (_shield(i, p, shielding) for i, p in enumerate(parents))))
    parts.append(_sub("sws_route", (_route(d) for d in ordered)))
    parts.append(_sub("sws_methods", (_methods(d) for d in ordered)))
    parts.append(_sub("sws_origin", (_origin(d, queries.get(d.id, "")) for d in ordered)))
    parts.append(_sub("sws_ttl", (_ttl(d) for d in ordered)))
    return "".join(parts)


def _backend(name: str, backend: Backend) -> str:
    return (
        f"\nbackend {name} {{\n"
        f"    .host = {_string(backend.host)};\n"
        f"    .port = \"{backend.port}\";\n"
        "    .connect_timeout = 2s;\n"
        "    .first_byte_timeout = 30s;\n"
        "}\n"
    )


def _shield_backend(index: int, parent: ShieldEdge) -> str:
    return _backend(f"shield_{index}", Backend(parent.address, parent.port, ""))


def _edges_acl(edges: Sequence[ShieldEdge]) -> str:
    lines = "".join(f"    {_string(e.address)};\n" for e in edges)
    return f"\nacl sws_edges {{\n{lines}}}\n"


def _peer() -> str:
    """A request from another edge (a child's miss) on the edge listener: served as is, never
    sent on to a parent, signature already checked by the child."""
    return _if(f'local.socket != "{FRONT_SOCKET}" && client.ip ~ sws_edges',
               ['set req.http.x-sws-from-edge = "1";'])


def _shield(index: int, parent: ShieldEdge, shielding: Shielding) -> str:
    names = " || ".join(f"server.identity == {_string(c.name)}"
                        for c in shielding.children(parent))
    return _if(names, [f"set req.backend_hint = shield_{index};",
                       'set req.http.x-sws-shielded = "1";'])


def _sub(name: str, blocks: Iterable[str]) -> str:
    return f"\nsub {name} {{\n{''.join(blocks)}}}\n"


def _route(d: EdgeDistribution) -> str:
    matches = " || ".join(f"req.http.host == {_string(h)}" for h in d.hosts)
    lines = [f'set req.http.x-sws-dist = "{d.id}";', f"set req.backend_hint = d_{d.id};"]
    if d.signed:
        lines += [
            f'if (local.socket != "{PURGE_SOCKET}" && !req.http.x-sws-from-edge'
            f' && req.http.x-sws-signed != "{d.id}") {{',
            '    return (synth(403, "Signed URL required"));',
            "}",
            # the token is not part of the object: strip it from the key and the origin's URL
            'set req.url = regsuball(req.url, "(?<=[?&])(expires|sig)=[^&]*(&|$)", "");',
            'set req.url = regsub(req.url, "[?&]$", "");',
        ]
    if not d.settings.query_in_key:
        lines.append('set req.url = regsub(req.url, "\\?.*$", "");')
    if not d.settings.enabled:
        lines.append('return (synth(403, "Distribution disabled"));')
    return _if(matches, lines)


def _methods(d: EdgeDistribution) -> str:
    """Any method the distribution does not allow: 405 with an `Allow` header listing those
    it does."""
    refused = " && ".join(f'req.method != "{m}"' for m in d.settings.allowed_methods)
    allow = ", ".join(d.settings.allowed_methods)
    return _if(f'req.http.x-sws-dist == "{d.id}"', [
        f"if ({refused}) {{",
        f'    set req.http.x-sws-allow = "{allow}";',
        '    return (synth(405, "Method not allowed"));',
        "}",
    ])


def _origin(d: EdgeDistribution, query: str = "") -> str:
    lines = [f"set bereq.http.host = {_string(d.backend.host_header)};"]
    if d.backend.path_prefix:
        lines.append(f"set bereq.url = {_string(d.backend.path_prefix)} + bereq.url;")
    if query:  # before the visitor's query, if it is kept: Swift takes a parameter's first value
        lines.append(f'set bereq.url = regsub(bereq.url, "^([^?]*)\\??", "\\1?" + {_string(query)}'
                     ' + "&");')
    return _if(f'bereq.http.x-sws-dist == "{d.id}"', lines)


def _ttl(d: EdgeDistribution) -> str:
    ttl = f"set beresp.ttl = {d.settings.default_ttl}s;"
    if d.settings.honour_origin:
        lines = [
            "if (!beresp.http.Cache-Control && !beresp.http.Expires) {",
            f"    {ttl}",
            "}",
        ]
    else:
        lines = [ttl]
    return _if(f'bereq.http.x-sws-dist == "{d.id}"', lines)


def _if(condition: str, lines: list[str]) -> str:
    body = "".join(f"        {line}\n" for line in lines)
    return f"    if ({condition}) {{\n{body}    }}\n"


def _string(text: str) -> str:
    """A VCL string literal; the service only passes host names, addresses and encoded paths,
    so a quote or a control character here is a bug, not input to escape."""
    if any(c == '"' or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"{text!r} cannot be a VCL string")
    return f'"{text}"'
