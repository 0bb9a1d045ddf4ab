"""Tag rules as worked examples: the grammar of `key` and `key=value`, a resource's tag set,
adding, removing and filtering; and a property that the grammar round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.errors import Invalid, NotFound
from sws.tags.model import (
    MAX_KEY,
    MAX_TAGS,
    MAX_VALUE,
    Tag,
    check_kind,
    parse_tag,
    parse_tags,
    with_tag,
    without_tag,
)
from tests.budget import examples


def test_a_bare_key_and_a_key_with_a_value() -> None:
    assert parse_tag("web") == Tag("web")
    assert parse_tag("env=prod") == Tag("env", "prod")
    assert str(Tag("env", "prod")) == "env=prod" and str(Tag("web")) == "web"


def test_the_key_is_lower_cased_the_value_keeps_its_case_and_blanks_go() -> None:
    assert parse_tag("  Env=Prod-EU ") == Tag("env", "Prod-EU")
    assert parse_tag("TEAM.Billing_x-1") == Tag("team.billing_x-1")


def test_a_value_may_hold_colons_at_signs_and_plus_signs() -> None:
    assert parse_tag("owner=ops@acme.example") == Tag("owner", "ops@acme.example")
    assert parse_tag("build=v1.2+3:rc") == Tag("build", "v1.2+3:rc")


@pytest.mark.parametrize("text", [
    "", "=prod", "env=", "-web", ".web", "_web", "my tag", "env=a b", "env=a=b", "环境=生产",
    "env=/srv", "\u212a8s", "a" * (MAX_KEY + 1), "env=" + "v" * (MAX_VALUE + 1), "web!", "k=v;rm",
])
def test_refused_tags(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_tag(text)
    assert refused.value.field == "tag"


def test_the_longest_key_and_value_are_allowed() -> None:
    longest = "k" * MAX_KEY + "=" + "v" * MAX_VALUE
    assert str(parse_tag(longest)) == longest


def test_a_set_is_sorted_by_key_and_a_repeat_counts_once() -> None:
    assert parse_tags(["web", "env=prod", "WEB", "app=shop"]) == (
        Tag("app", "shop"), Tag("env", "prod"), Tag("web"))


def test_a_key_holds_one_value() -> None:
    with pytest.raises(Invalid, match="'env' has two values") as refused:
        parse_tags(["env=prod", "env=dev"])
    assert refused.value.field == "tags"
    with pytest.raises(Invalid):
        parse_tags(["env", "env=prod"])  # a bare key and a value of it are two values too


def test_at_most_fifty_tags() -> None:
    assert len(parse_tags([f"t{n}" for n in range(MAX_TAGS)])) == MAX_TAGS
    with pytest.raises(Invalid, match="at most 50"):
        parse_tags([f"t{n}" for n in range(MAX_TAGS + 1)])


def test_adding_a_key_already_there_replaces_its_value() -> None:
    current = (Tag("env", "dev"), Tag("web"))
    assert with_tag(current, Tag("env", "prod")) == (Tag("env", "prod"), Tag("web"))
    assert with_tag(current, Tag("db")) == (Tag("db"), Tag("env", "dev"), Tag("web"))


def test_adding_the_fifty_first_tag_is_refused_but_replacing_one_is_not() -> None:
    full = tuple(Tag(f"t{n:02d}") for n in range(MAX_TAGS))
    with pytest.raises(Invalid):
        with_tag(full, Tag("one-more"))
    assert len(with_tag(full, Tag("t00", "x"))) == MAX_TAGS


def test_removing_a_key_removes_any_value_a_value_only_that_one() -> None:
    current = (Tag("env", "prod"), Tag("web"))
    assert without_tag(current, Tag("env")) == (Tag("web"),)
    assert without_tag(current, Tag("env", "prod")) == (Tag("web"),)
    assert without_tag(current, Tag("env", "dev")) is None  # nothing matched
    assert without_tag(current, Tag("db")) is None


def test_a_filter_by_key_matches_every_value_a_filter_by_value_one() -> None:
    assert Tag("env", "prod").matches(Tag("env"))
    assert Tag("env", "prod").matches(Tag("env", "prod"))
    assert not Tag("env", "prod").matches(Tag("env", "Prod"))  # values are case-sensitive
    assert not Tag("web").matches(Tag("env"))


def test_the_kinds_that_take_tags() -> None:
    assert check_kind("servers") == "servers" and check_kind("floating-ips") == "floating-ips"
    with pytest.raises(NotFound):
        check_kind("users")  # names no resource, as an unknown path does


KEYS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}", fullmatch=True)
VALUES = st.from_regex(r"[A-Za-z0-9._:@+-]{1,63}", fullmatch=True)
TAGS = st.builds(Tag, KEYS, st.one_of(st.just(""), VALUES))


@given(TAGS)
@settings(max_examples=examples(200))
def test_every_tag_of_the_grammar_round_trips(tag: Tag) -> None:
    assert parse_tag(str(tag)) == tag
    assert parse_tag(f" {Tag(tag.key.upper(), tag.value)} ") == tag  # keys are case-blind


@given(st.text(max_size=140))
@settings(max_examples=examples(300))
def test_any_text_is_a_tag_that_round_trips_or_an_invalid_naming_the_field(text: str) -> None:
    try:
        tag = parse_tag(text)
    except Invalid as refused:
        assert refused.field == "tag"
        return
    assert parse_tag(str(tag)) == tag
    assert 1 <= len(tag.key) <= MAX_KEY and len(tag.value) <= MAX_VALUE
    assert " " not in str(tag) and str(tag).count("=") <= 1
