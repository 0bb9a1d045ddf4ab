"""Sign-up rules as worked examples: one person per address, passwords, networks, lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.errors import Invalid
from sws.signup.model import (
    PasswordPolicy,
    check_not_disposable,
    network_of,
    new_token,
    normalise_email,
    read_list,
    token_hash,
)
from tests.budget import examples


@pytest.mark.parametrize(
    ("given_address", "key"),
    [
        ("Ann@Example.com", "ann@example.com"),
        ("ann+cloud@example.com", "ann+cloud@example.com"),  # tags kept where they may matter
        ("a.n.n@example.com", "a.n.n@example.com"),
        ("A.Nn+x@Gmail.com", "ann@gmail.com"),
        ("ann@googlemail.com", "ann@gmail.com"),
        ("ann+work@outlook.com", "ann@outlook.com"),
        ("a.nn+x@outlook.com", "a.nn@outlook.com"),  # Outlook keeps dots
        ("  ann@example.com. ", "ann@example.com"),
    ],
)
def test_variants_of_one_address_share_a_key(given_address: str, key: str) -> None:
    assert normalise_email(given_address).key == key


def test_the_address_keeps_its_owner_s_spelling_with_a_lower_case_domain() -> None:
    assert normalise_email("Ann.Lee+x@GMAIL.com").address == "Ann.Lee+x@gmail.com"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@localhost",
        "ann@@example.com",
        "a nn@example.com",
        ".ann@example.com",
        "ann.@example.com",
        "a..nn@example.com",
        "ann@-example.com",
        "ann@exa_mple.com",
        "+x@gmail.com",
        "x" * 65 + "@example.com",
        "ann@" + "a" * 250 + ".com",
    ],
)
def test_what_is_not_an_address_is_refused_on_the_email_field(bad: str) -> None:
    with pytest.raises(Invalid) as refused:
        normalise_email(bad)
    assert refused.value.field == "email"


@given(st.emails())
def test_every_valid_address_normalises_to_a_stable_key(address: str) -> None:
    try:
        first = normalise_email(address)
    except Invalid:
        return  # hypothesis' grammar allows forms SWS refuses (quoted locals, IP literals)
    assert normalise_email(first.address).key == first.key
    assert first.key == first.key.lower()


def test_disposable_domains_and_their_subdomains_are_refused() -> None:
    blocked = frozenset({"mailinator.com"})
    for address in ("x@mailinator.com", "x@eu.mailinator.com"):
        with pytest.raises(Invalid):
            check_not_disposable(normalise_email(address), blocked)
    check_not_disposable(normalise_email("x@notmailinator.com"), blocked)


def test_passwords_need_length_and_must_not_be_common_or_the_address() -> None:
    policy = PasswordPolicy(min_length=10, common=frozenset({"password1234"}))
    email = normalise_email("ann.lee@example.com")
    for weak in ("short", "PASSWORD1234", "ann.lee@example.com", "ann.lee@exa"):
        with pytest.raises(Invalid) as refused:
            policy.check(weak, email)
        assert refused.value.field == "password"
    assert policy.check("correct horse battery", email) == "correct horse battery"


def test_the_shipped_lists_are_read_and_an_operator_file_replaces_them(tmp_path: Path) -> None:
    shipped = read_list(None, "disposable-domains.txt")
    assert "mailinator.com" in shipped and all(not d.startswith("#") for d in shipped)
    assert "password" in read_list(None, "common-passwords.txt")
    own = tmp_path / "blocked.txt"
    own.write_text("# ours\nSpam.Example  # trailing comment\n\n")
    assert read_list(own, "disposable-domains.txt") == frozenset({"spam.example"})


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("testclient", "testclient"),
    ],
)
def test_the_velocity_network_is_the_24_or_the_64(address: str, network: str) -> None:
    assert network_of(address) == network


@given(st.integers(min_value=0, max_value=examples(50)))
def test_codes_are_random_and_only_their_hash_is_kept(_: int) -> None:
    secret, hashed = new_token()
    assert len(secret) >= 43 and hashed == token_hash(secret) and secret not in hashed
