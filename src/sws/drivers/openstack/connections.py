"""openstacksdk connections for one region: SWS's own account, and one per tenant project.

SWS's account (a cloud in clouds.yaml, `SWS_OPENSTACK_CLOUD`, admin role) does the admin views
and grants itself `openstack_member_role` on a tenant's project the first time it acts there;
tenant calls then run with a token scoped to that project, so Nova and Neutron apply their own
project isolation and quotas.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sws.drivers.openstack.errors import translating

#: Seconds SWS waits for one OpenStack API answer. A service that hangs (nova-api once did,
#: for ever) becomes a 503 for that request instead of a stuck API thread.
API_TIMEOUT = 60.0


def load_cloud(cloud: str, clouds_yaml: Path | None, region: str | None = None) -> Any:
    """The `CloudRegion` config of `cloud` (openstacksdk's clouds.yaml loader)."""
    from openstack import config

    files = [str(clouds_yaml)] if clouds_yaml else None
    # A clouds.yaml SWS names wins: openstacksdk would otherwise read OS_CLIENT_CONFIG_FILE
    # first and never look at it (a sponsor region's cloud is in SWS's file, not the admin's).
    with translating(f"the cloud {cloud!r} in clouds.yaml"):
        return config.OpenStackConfig(config_files=files, load_envvars=files is None).get_one(
            cloud=cloud, region_name=region
        )


def catalog_regions(cloud: str, clouds_yaml: Path | None) -> list[str]:
    """Regions that have a compute endpoint in the Keystone catalog, in catalog order."""
    import openstack

    config = load_cloud(cloud, clouds_yaml)
    with translating("the Keystone catalog"):
        conn: Any = openstack.connection.Connection(config=config)
        access = conn.session.auth.get_access(conn.session)
        found = access.service_catalog.get_endpoints(service_type="compute")
    regions: list[str] = []
    for endpoint in found.get("compute", []):
        name = endpoint.get("region_id") or endpoint.get("region")
        if name and name not in regions:
            regions.append(str(name))
    return regions


def token_source(cloud: str, clouds_yaml: Path | None, timeout: float) -> Callable[[bool], str]:
    """SWS's own account's Keystone token, kept by its session; a new one when asked to refresh.

    For services that take a token rather than a session (Swift's proxies, as reseller admin).
    """
    import openstack

    conn: Any = openstack.connection.Connection(config=load_cloud(cloud, clouds_yaml))
    conn.session.timeout = timeout

    def token(refresh: bool) -> str:
        with translating("a Keystone token for SWS's account"):
            if refresh:
                conn.session.invalidate()
            return str(conn.session.get_token())

    return token


class Connections:
    """Cached SDK connections of one region."""

    def __init__(self, *, cloud: str, clouds_yaml: Path | None, region: str,
                 member_role: str) -> None:
        self.region = region
        self._config = load_cloud(cloud, clouds_yaml, region)
        self._member_role = member_role
        self._lock = threading.Lock()
        self._admin: Any = None
        self._projects: dict[str, Any] = {}

    @property
    def auth_url(self) -> str:
        return str(self._config.auth.get("auth_url", ""))

    def admin(self) -> Any:
        with self._lock:
            if self._admin is None:
                import openstack

                self._admin = openstack.connection.Connection(config=self._config)
                self._admin.session.timeout = API_TIMEOUT
            return self._admin

    def project(self, project_id: str) -> Any:
        with self._lock:
            found = self._projects.get(project_id)
        if found is not None:
            return found
        conn = self._project_connection(project_id)
        with self._lock:
            self._projects[project_id] = conn
        return conn

    def _project_connection(self, project_id: str) -> Any:
        import openstack
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        admin = self.admin()
        with translating(f"access to project {project_id}"):
            role = admin.identity.find_role(self._member_role, ignore_missing=False)
            admin.identity.assign_project_role_to_user(
                project_id, admin.current_user_id, role
            )
            auth = dict(self._config.auth)
            for key in ("project_name", "project_id", "project_domain_name",
                        "project_domain_id", "tenant_name", "tenant_id"):
                auth.pop(key, None)
            plugin = v3.Password(project_id=project_id, **_password_fields(auth))
            sess = session.Session(auth=plugin, verify=self._config.verify, timeout=API_TIMEOUT)
            return openstack.connection.Connection(session=sess, region_name=self.region)


def _password_fields(auth: dict[str, Any]) -> dict[str, Any]:
    keys = ("auth_url", "username", "user_id", "password", "user_domain_name", "user_domain_id")
    return {k: auth[k] for k in keys if auth.get(k)}
