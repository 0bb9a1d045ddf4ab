"""The role policy in worked examples: which action a request is, and who may take it."""

from __future__ import annotations

import pytest

from sws.errors import Forbidden
from sws.identity.roles import Action, action_of, allows, authorize


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("GET", "/v1/servers", Action("resources", "read")),
        ("POST", "/v1/servers", Action("resources", "write")),
        ("POST", "/v1/payments/checkouts", Action("billing", "write")),
        ("PATCH", "/v1/users/u1", Action("team", "write")),
        ("DELETE", "/v1/invitations/i1", Action("team", "write")),
        ("POST", "/v1/quota-requests", Action("quotas", "write")),
        ("DELETE", "/v1/auth/tokens", Action("session", "write")),
        ("PATCH", "/v1/account", Action("session", "write")),
        ("POST", "/v1/admin/quota-requests/r1/approve", Action("admin", "write")),
        ("POST", "/console/instances/launch", Action("resources", "write")),
        ("POST", "/console/billing/recharge", Action("billing", "write")),
        ("POST", "/console/settings/password", Action("session", "write")),
        ("POST", "/console/usersX", Action("resources", "write")),  # a prefix is a whole segment
    ],
)
def test_a_request_is_an_area_and_a_verb(method: str, path: str, action: Action) -> None:
    assert action_of(method, path) == action


def test_a_billing_user_pays_but_launches_nothing() -> None:
    assert allows("billing", action_of("POST", "/v1/payments/checkouts"))
    assert not allows("billing", action_of("POST", "/v1/servers"))
    assert allows("billing", action_of("GET", "/v1/servers"))


def test_a_viewer_reads_everything_and_changes_only_its_own_account() -> None:
    for path in ("/v1/servers", "/v1/billing/account", "/v1/users", "/v1/quota-requests"):
        assert allows("viewer", action_of("GET", path))
        assert not allows("viewer", action_of("POST", path))
    assert allows("viewer", action_of("DELETE", "/v1/auth/tokens"))


def test_only_owners_manage_the_team_and_only_admins_administer() -> None:
    team = action_of("POST", "/v1/invitations")
    assert [r for r in ("owner", "member", "billing", "viewer", "admin") if allows(r, team)] == [
        "owner", "admin"]
    assert not allows("owner", action_of("GET", "/v1/admin/tenants"))
    with pytest.raises(Forbidden, match="may not change the tenant's team"):
        authorize("member", team)
    assert not allows("stranger", action_of("GET", "/v1/servers"))
