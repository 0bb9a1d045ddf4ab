"""SWS's tenant roles as Keystone role assignments, kept in step with the team in Keystone mode.

Each SWS role is a set of Keystone roles on the tenant's project:

| SWS role | Keystone roles on the project |
|---|---|
| `owner` | `member` (`SWS_OPENSTACK_MEMBER_ROLE`) and `sws_owner` |
| `member` | `member` |
| `billing` | `reader` and `sws_billing` |
| `viewer` | `reader` |

A token's roles are read back the other way, the strongest first (`sws_owner`, then `member`,
`sws_billing`, `reader`); any other role on the project still means member, as before. The
directory grants what a role needs and revokes the other mapped roles, so every call can be
repeated: an invitation accepted, a role changed, a member disabled or removed leave the same
assignments however often they are applied. `sws_owner` and `sws_billing` are created in
Keystone the first time they are needed. Local mode uses `NoDirectory`, which does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sws.errors import Unavailable
from sws.identity.model import Role

OWNER_ROLE = "sws_owner"
BILLING_ROLE = "sws_billing"
READER_ROLE = "reader"


def keystone_roles(role: str, member_role: str = "member") -> frozenset[str]:
    """The Keystone roles an SWS tenant role is, on the tenant's project."""
    return {
        "owner": frozenset({member_role, OWNER_ROLE}),
        "member": frozenset({member_role}),
        "billing": frozenset({READER_ROLE, BILLING_ROLE}),
        "viewer": frozenset({READER_ROLE}),
    }[role]


def mapped_roles(member_role: str = "member") -> frozenset[str]:
    """Every Keystone role the mapping uses: the ones SWS grants and revokes."""
    return frozenset({member_role, OWNER_ROLE, BILLING_ROLE, READER_ROLE})


def role_from_keystone(roles: Iterable[str], member_role: str = "member") -> Role:
    """The SWS role a token's Keystone roles (implied ones included) amount to."""
    held = set(roles)
    if OWNER_ROLE in held:
        return "owner"
    if member_role in held:
        return "member"
    if BILLING_ROLE in held:
        return "billing"
    if READER_ROLE in held:
        return "viewer"
    return "member"


class TeamDirectory(Protocol):
    """Where a team's roles live besides SWS's own tables (Keystone), if anywhere."""

    #: True when the directory holds the users' passwords (SWS then keeps none).
    owns_passwords: bool

    def check_password(self, *, user_name: str, password: str) -> bool: ...
    def join(
        self, *, project_id: str, user_name: str, email: str, password: str, role: str
    ) -> None: ...
    def set_role(self, *, project_id: str, user_name: str, role: str) -> None: ...
    def remove(self, *, project_id: str, user_name: str) -> None: ...


class NoDirectory:
    """Local mode: SWS's own tables are the whole truth."""

    owns_passwords = False

    def check_password(self, *, user_name: str, password: str) -> bool:
        return False

    def join(
        self, *, project_id: str, user_name: str, email: str, password: str, role: str
    ) -> None:
        return None

    def set_role(self, *, project_id: str, user_name: str, role: str) -> None:
        return None

    def remove(self, *, project_id: str, user_name: str) -> None:
        return None


NO_DIRECTORY = NoDirectory()


class KeystoneDirectory:
    """Keystone's users and role assignments, through SWS's own cloud account (openstacksdk);
    any failure of Keystone is 503, and the SWS change it belongs to is rolled back."""

    owns_passwords = True

    def __init__(
        self, connect: Callable[[], Any], *, member_role: str = "member", domain: str = "default"
    ) -> None:
        self._connect = connect  # () -> openstack.connection.Connection
        self._member_role = member_role
        self._domain = domain

    def check_password(self, *, user_name: str, password: str) -> bool:
        user = {"name": user_name, "domain": {"id": self._domain}, "password": password}
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
        with _keystone("check a password"):
            answer = self._connect().identity.post("/auth/tokens", json=body, raise_exc=False)
        return int(answer.status_code) == 201

    def join(
        self, *, project_id: str, user_name: str, email: str, password: str, role: str
    ) -> None:
        """The user (created with `password` if Keystone has none of that name) gets the
        role's assignments on the project."""
        with _keystone("add a team member"):
            identity = self._connect().identity
            if identity.find_user(user_name, domain_id=self._domain) is None:
                identity.create_user(
                    name=user_name,
                    email=email,
                    password=password,
                    default_project_id=project_id,
                    domain_id=self._domain,
                )
        self.set_role(project_id=project_id, user_name=user_name, role=role)

    def set_role(self, *, project_id: str, user_name: str, role: str) -> None:
        self._assign(project_id, user_name, keystone_roles(role, self._member_role))

    def remove(self, *, project_id: str, user_name: str) -> None:
        self._assign(project_id, user_name, frozenset())

    def _assign(self, project_id: str, user_name: str, wanted: frozenset[str]) -> None:
        """Grant `wanted`, revoke every other mapped role the user holds on the project."""
        with _keystone("change a team member's roles"):
            identity = self._connect().identity
            user = identity.find_user(user_name, domain_id=self._domain)
            if user is None:
                return  # nothing to keep in step: the user is not Keystone's
            for name in sorted(mapped_roles(self._member_role)):
                role = self._role(identity, name)
                held = identity.validate_user_has_project_role(project_id, user, role)
                if name in wanted and not held:
                    identity.assign_project_role_to_user(project_id, user, role)
                elif name not in wanted and held:
                    identity.unassign_project_role_from_user(project_id, user, role)

    def _role(self, identity: Any, name: str) -> Any:
        found = identity.find_role(name)
        if found is None and name in (OWNER_ROLE, BILLING_ROLE):
            found = identity.create_role(name=name)
        if found is None:
            raise Unavailable(
                f"Keystone has no role {name!r}: create it, or set "
                "SWS_OPENSTACK_MEMBER_ROLE to one it has"
            )
        return found


@contextmanager
def _keystone(doing: str) -> Iterator[None]:
    """Turns any openstacksdk or connection error into 503 naming what SWS was doing."""
    try:
        yield
    except Unavailable:
        raise
    except Exception as error:  # openstacksdk's errors are many; all mean "not now"
        raise Unavailable(f"Keystone could not {doing}: {error}") from error


def team_directory(settings: Any) -> TeamDirectory:
    """Keystone's directory in Keystone mode, else none."""
    if settings.auth_backend != "keystone":
        return NO_DIRECTORY

    def connect() -> Any:
        import openstack

        from sws.drivers.openstack.connections import load_cloud

        return openstack.connection.Connection(
            config=load_cloud(settings.openstack_cloud, settings.clouds_yaml)
        )

    return KeystoneDirectory(connect, member_role=settings.openstack_member_role)
