"""The CDN's pure rules: TTL bounds, purge values, a job's state over its edges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.cdn.model import (
    MAX_TTL,
    METHODS,
    MIN_TTL,
    CacheSettings,
    EdgePurge,
    EdgeState,
    OriginSpec,
    PurgeSpec,
    auto_host,
    check_origin_methods,
    job_state,
    vcl_digest,
)
from sws.errors import Invalid
from tests.budget import examples


@settings(max_examples=examples(200))
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_a_ttl_is_accepted_exactly_within_its_bounds(ttl: int) -> None:
    if MIN_TTL <= ttl <= MAX_TTL:
        assert CacheSettings(default_ttl=ttl).default_ttl == ttl
    else:
        with pytest.raises(Invalid) as refused:
            CacheSettings(default_ttl=ttl)
        assert refused.value.field == "default_ttl"


def test_the_automatic_host_lives_under_cdn_of_the_zone() -> None:
    assert auto_host("a1b2c3d4e5f6", "example.com") == "a1b2c3d4e5f6.cdn.example.com"


@pytest.mark.parametrize(("kind", "value"), [
    ("url", "/img/logo.png"), ("url", "/search?q=a%20b"), ("prefix", "/"),
    ("key", "product-42"), ("key", "a.b:c_d"), ("all", ""),
])
def test_purges_of_paths_keys_and_everything(kind: str, value: str) -> None:
    assert PurgeSpec(kind, value).mode == "soft"


@pytest.mark.parametrize(("kind", "value"), [
    ("url", "img.png"), ("url", "/a b"), ("url", '/a"b'), ("prefix", "https://x/"),
    ("prefix", "/a#b"), ("url", "/" + "a" * 1024), ("key", ""), ("key", "a b"),
    ("key", "x" * 129), ("all", "/"), ("ban", "/"),
])
def test_anything_else_is_refused(kind: str, value: str) -> None:
    with pytest.raises(Invalid):
        PurgeSpec(kind, value)


@settings(max_examples=examples(200))
@given(st.text(max_size=40))
def test_an_accepted_path_never_holds_what_would_break_a_vcl_string_or_a_ban(text: str) -> None:
    try:
        PurgeSpec("prefix", text)
    except Invalid:
        return
    assert text.startswith("/")
    assert not any(c in text for c in ' "\\\n\r\t#') and text.isascii()


def test_an_origin_is_a_container_or_a_load_balancer() -> None:
    with pytest.raises(Invalid) as refused:
        OriginSpec("ftp", "x")
    assert refused.value.field == "origin.kind"


@pytest.mark.parametrize(("edges", "state"), [
    ([], "accepted"), (["pending", "pending"], "accepted"), (["done", "pending"], "propagating"),
    (["failed", "pending"], "propagating"), (["done", "done"], "done"),
    (["done", "failed"], "done"),
])
def test_a_job_is_done_once_every_edge_reported(edges: list[str], state: str) -> None:
    assert job_state(edges) == state


def test_an_edge_state_travels_as_json_and_its_digest_is_checked() -> None:
    purge = EdgePurge("p1", "d1", "key", "css", "soft", "d1.cdn.example.com")
    state = EdgeState("vcl 4.1;", (purge,))

    assert EdgeState.from_json(state.to_json()) == state
    assert state.digest == vcl_digest("vcl 4.1;")
    with pytest.raises(ValueError, match="digest"):
        EdgeState.from_json({**state.to_json(), "vcl": "vcl 4.0;"})


# ---- allowed methods ------------------------------------------------------------------------


def test_allowed_methods_are_upper_cased_deduplicated_and_in_a_fixed_order() -> None:
    chosen = CacheSettings(allowed_methods=("delete", "GET", "head", "GET", " options "))

    assert chosen.allowed_methods == ("GET", "HEAD", "OPTIONS", "DELETE")
    assert chosen.passed_methods == ("OPTIONS", "DELETE")
    assert CacheSettings().allowed_methods == ("GET", "HEAD")


@pytest.mark.parametrize(("methods", "reason"), [
    (("GET",), "must include GET and HEAD"),
    (("GET", "HEAD", "TRACE"), "unknown method 'TRACE'"),
    (("GET", "HEAD", "CONNECT"), "unknown method 'CONNECT'"),
])
def test_bad_method_lists_are_refused_naming_why(methods: tuple[str, ...], reason: str) -> None:
    with pytest.raises(Invalid, match=reason) as refused:
        CacheSettings(allowed_methods=methods)
    assert refused.value.field == "allowed_methods"


def test_a_container_origin_takes_reads_only_and_a_load_balancer_anything_known() -> None:
    check_origin_methods("container", ("GET", "HEAD", "OPTIONS"))
    check_origin_methods("loadbalancer", METHODS)
    with pytest.raises(Invalid, match="POST cannot be allowed"):
        check_origin_methods("container", ("GET", "HEAD", "POST"))
