"""The CDN's pure rules: TTL bounds, purge values, a job's state over its edges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.cdn.model import (
    MAX_TTL,
    MIN_TTL,
    CacheSettings,
    EdgePurge,
    EdgeState,
    OriginSpec,
    PurgeSpec,
    auto_host,
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
