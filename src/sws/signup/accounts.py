"""Where a new tenant's cloud account is opened: nothing to do with SWS's own identity
(local), or a Keystone project, user and owner's roles (Keystone mode, through openstacksdk
with SWS's own cloud account from clouds.yaml)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sws.errors import Unavailable
from sws.identity.team_keystone import KeystoneDirectory


@dataclass(frozen=True, slots=True)
class NewAccount:
    tenant_name: str
    user_name: str
    email: str
    password: str


class CloudAccounts(Protocol):
    #: False when the cloud keeps passwords itself (Keystone): the owner then gets a link
    #: to choose one, as SWS never holds a password in the clear to hand over.
    keeps_passwords: bool

    def open(self, account: NewAccount) -> str:
        """Open the account; the new tenant's id (its project id in OpenStack)."""
        ...

    def set_password(self, *, user_name: str, password: str) -> None: ...


class LocalAccounts:
    """SWS is the identity source: tenants get fresh ids, passwords live in SWS's users."""

    keeps_passwords = True

    def open(self, account: NewAccount) -> str:
        return uuid.uuid4().hex

    def set_password(self, *, user_name: str, password: str) -> None:
        return None


class KeystoneAccounts:
    """A Keystone project named after the tenant, a user named by e-mail with the owner's
    roles on it (member and sws_owner: sws.identity.team_keystone); the user logs in to SWS
    with Keystone's password."""

    keeps_passwords = False

    #: Keystone records a password change's token revocation to the second, and refuses every
    #: token issued in that second: a login straight after the change would get a token that
    #: validates nowhere. A change returns only once that second has passed.
    REVOCATION_GRAIN_SECONDS = 1.0

    def __init__(
        self, connect: Any, *, member_role: str, domain: str = "default",
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        self._connect = connect  # () -> openstack.connection.Connection
        self._role = member_role
        self._domain = domain
        self._wait = wait

    def open(self, account: NewAccount) -> str:
        try:
            identity = self._connect().identity
            project = identity.create_project(name=account.tenant_name, domain_id=self._domain)
            user = identity.create_user(
                name=account.user_name,
                email=account.email,
                password=account.password,
                default_project_id=project.id,
                domain_id=self._domain,
            )
            owner = KeystoneDirectory(self._connect, member_role=self._role, domain=self._domain)
            owner.set_role(project_id=project.id, user_name=user.name, role="owner")
        except Exception as error:  # openstacksdk's errors are many; all mean "not now"
            raise Unavailable(f"Keystone could not open the account: {error}") from error
        return str(project.id)

    def set_password(self, *, user_name: str, password: str) -> None:
        try:
            identity = self._connect().identity
            user = identity.find_user(user_name, domain_id=self._domain, ignore_missing=False)
            identity.update_user(user, password=password)
        except Exception as error:
            raise Unavailable(f"Keystone could not change the password: {error}") from error
        self._wait(self.REVOCATION_GRAIN_SECONDS)


def build_accounts(settings: Any) -> CloudAccounts:
    if settings.auth_backend != "keystone":
        return LocalAccounts()

    def connect() -> Any:
        import openstack

        from sws.drivers.openstack.connections import load_cloud

        return openstack.connection.Connection(
            config=load_cloud(settings.openstack_cloud, settings.clouds_yaml)
        )

    return KeystoneAccounts(connect, member_role=settings.openstack_member_role)
