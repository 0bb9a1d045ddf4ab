"""A Keystone user has no row in SWS's users: its one tenant is its token's project."""

from __future__ import annotations

from datetime import timedelta

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.identity import service as identity
from sws.identity import team_tenants
from sws.identity.model import Principal
from sws.identity.team_tenants import Place


def test_a_keystone_user_is_in_its_tokens_project_and_only_there(
    database: Database, clock: SimulatedClock
) -> None:
    project = identity.create_tenant(db=database, clock=clock, name="anncorp")
    caller = Principal(
        user_id="keystone-user-1", user_name="ann@example.org", tenant_id=project.id,
        role="owner", token_id="t", expires_at=clock.now() + timedelta(hours=1),
    )
    assert team_tenants.places(db=database, caller=caller) == [
        Place(project.id, "anncorp", "owner", own=True, current=True)
    ]
