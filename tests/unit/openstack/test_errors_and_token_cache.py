"""Error mapping of the OpenStack driver and the Keystone backend's cache, with fakes (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from keystoneauth1 import exceptions as ks
from openstack import exceptions as sdk

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.drivers.openstack.errors import from_exception, from_status, translating
from sws.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    Unauthorized,
    Unavailable,
)
from sws.identity import service as identity
from sws.identity.keystone import (
    KeystoneAuth,
    KeystoneUnreachable,
    TokenCache,
    TokenInfo,
    TokenRejected,
)

QUOTA = "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"


@pytest.mark.parametrize(("status", "details", "kind"), [
    (404, "Instance x could not be found.", NotFound),
    (409, "Cannot 'stop' instance x while it is in vm_state stopped", Conflict),
    (403, QUOTA, QuotaExceeded),
    (413, "Maximum number of ports exceeded", QuotaExceeded),
    (403, "Policy doesn't allow os_compute_api:servers:create to be performed.", Forbidden),
    (400, "Invalid flavorRef provided.", Invalid),
    (401, "", Unavailable),
    (500, "Unexpected API Error.", Unavailable),
    (503, "", Unavailable),
])
def test_status_maps_to_sws_error_with_novas_message(status: int, details: str,
                                                     kind: type) -> None:
    error = from_status(status, details, what="server x")
    assert isinstance(error, kind)
    if details and status < 500 and status != 401:
        assert error.detail == details
    assert error.status < 500 or isinstance(error, Unavailable)


def test_sdk_http_exception_keeps_details() -> None:
    exc = sdk.ForbiddenException("Forbidden", http_status=403, details=QUOTA)
    error = from_exception(exc, what="a server")
    assert isinstance(error, QuotaExceeded) and error.detail == QUOTA and error.status == 403


def test_connection_failure_is_unavailable_naming_what() -> None:
    error = from_exception(ks.ConnectFailure("refused"), what="flavors")
    assert isinstance(error, Unavailable) and "flavors" in error.detail


def test_translating_never_lets_a_raw_exception_out() -> None:
    with pytest.raises(Unavailable), translating("images"):
        raise RuntimeError("boom")
    with pytest.raises(NotFound), translating("image y"):
        raise sdk.NotFoundException("nope", http_status=404)


# ---- the Keystone backend with a fake Keystone ------------------------------------------


class FakeKeystone:
    url = "http://keystone.invalid/v3"

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.tokens: dict[str, TokenInfo] = {}
        self.down = False
        self.calls = 0

    def grant(self, secret: str, *, project: str = "p1", roles: tuple[str, ...] = ("member",),
              hours: int = 1) -> None:
        self.tokens[secret] = TokenInfo("u1", "alice", project, f"proj {project}", roles,
                                        self.clock.now() + timedelta(hours=hours))

    def validate(self, secret: str) -> TokenInfo:
        self.calls += 1
        if self.down:
            raise KeystoneUnreachable("connection refused")
        if secret not in self.tokens:
            raise TokenRejected("404")
        return self.tokens[secret]

    def password_login(self, name: str, password: str) -> tuple[str, TokenInfo]:
        if self.down:
            raise KeystoneUnreachable("connection refused")
        if password != "right":
            raise TokenRejected("401")
        self.grant("issued")
        return "issued", self.tokens["issued"]

    def revoke(self, secret: str) -> None:
        self.tokens.pop(secret, None)


@pytest.fixture
def keystone(clock: SimulatedClock) -> FakeKeystone:
    return FakeKeystone(clock)


@pytest.fixture
def auth(database: Database, clock: SimulatedClock, keystone: FakeKeystone) -> KeystoneAuth:
    cache = TokenCache(ttl=timedelta(seconds=30), size=2)
    return KeystoneAuth(db=database, clock=clock, keystone=keystone, cache=cache,
                        operator_tenant="proj-p-ops")


def test_first_sight_creates_the_tenant_and_maps_roles(
    auth: KeystoneAuth, keystone: FakeKeystone, database: Database
) -> None:
    keystone.grant("t-admin", project="p-ops", roles=("reader", "admin"))
    keystone.grant("t-member", project="p-acme")
    assert auth.validate(secret="t-admin").role == "admin"
    member = auth.validate(secret="t-member")
    assert member.role == "member" and member.tenant_id == "p-acme"
    assert identity.get_tenant(db=database, tenant_id="p-acme").name == "proj-p-acme"


def test_an_admin_role_on_any_other_project_makes_a_member(
    auth: KeystoneAuth, keystone: FakeKeystone
) -> None:
    keystone.grant("t-acme-admin", project="p-acme", roles=("admin",))
    assert auth.validate(secret="t-acme-admin").role == "member"


def test_a_tenant_disabled_in_sws_refuses_tokens_it_has_seen(
    auth: KeystoneAuth, keystone: FakeKeystone, database: Database, clock: SimulatedClock
) -> None:
    keystone.grant("t-acme", project="p-acme")
    auth.validate(secret="t-acme")
    identity.update_tenant(db=database, tenant_id="p-acme",
                           changes=identity.TenantChanges(enabled=False))
    clock.advance(timedelta(seconds=31))  # past the cache period: checked again
    with pytest.raises(Unauthorized):
        auth.validate(secret="t-acme")


def test_results_are_cached_for_the_ttl_then_revalidated(
    auth: KeystoneAuth, keystone: FakeKeystone, clock: SimulatedClock
) -> None:
    keystone.grant("t")
    auth.validate(secret="t")
    auth.validate(secret="t")
    assert keystone.calls == 1
    keystone.revoke("t")  # revoked in Keystone: refused after the cache period
    clock.advance(timedelta(seconds=31))
    with pytest.raises(Unauthorized):
        auth.validate(secret="t")


def test_cache_is_bounded(auth: KeystoneAuth, keystone: FakeKeystone) -> None:
    for secret in ("a", "b", "c"):
        keystone.grant(secret)
        auth.validate(secret=secret)
    calls = keystone.calls
    auth.validate(secret="a")  # evicted (size 2): asked again
    assert keystone.calls == calls + 1


def test_keystone_down_cached_tokens_work_until_expiry_others_get_503(
    auth: KeystoneAuth, keystone: FakeKeystone, clock: SimulatedClock
) -> None:
    keystone.grant("known", hours=1)
    auth.validate(secret="known")
    keystone.down = True
    clock.advance(timedelta(minutes=10))  # past the cache period: Keystone is asked, fails
    assert auth.validate(secret="known").user_name == "alice"
    keystone.grant("new")
    with pytest.raises(Unavailable, match=r"Keystone at http://keystone\.invalid/v3"):
        auth.validate(secret="new")
    clock.advance(timedelta(hours=1))  # the cached token has expired by now
    with pytest.raises(Unavailable):
        auth.validate(secret="known")


def test_revoke_through_sws_is_immediate(auth: KeystoneAuth, keystone: FakeKeystone) -> None:
    issued = auth.issue_token(name="alice", password="right")
    auth.revoke(principal=issued.principal)
    with pytest.raises(Unauthorized):
        auth.validate(secret=issued.secret)
    with pytest.raises(Unauthorized):
        auth.issue_token(name="alice", password="wrong")


def test_token_cache_expiry_is_by_token_time() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cache = TokenCache(ttl=timedelta(seconds=30), size=10)
    assert cache.fresh("k", now) is None and len(cache) == 0
