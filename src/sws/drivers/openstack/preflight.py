"""What a boot names, checked before Nova is asked: an unknown flavor, image, key pair or
security group is a 422 that names its field, in the simulated region's words.

Nova answers the first three with a 400 that names no field, and it ignores the groups of a
server booted with no network (`SWS_OPENSTACK_SERVER_NETWORK=none`): a typo there would boot
a server without the group the tenant asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sws.drivers.base import ServerCreate
from sws.drivers.openstack.errors import translating
from sws.errors import Invalid


def check_boot(conn: Any, project_id: str, spec: ServerCreate, key_name: str | None) -> None:
    """Raise `Invalid` for the first thing `spec` names that the project cannot use."""
    with translating("the flavor, image, key pair and security groups of a boot"):
        if not _found(conn.compute.find_flavor, spec.flavor_id):
            raise Invalid(f"Flavor {spec.flavor_id} could not be found.", field="flavor_id")
        if not _found(conn.image.find_image, spec.image_id):
            raise Invalid(f"Image {spec.image_id} could not be found.", field="image_id")
        if key_name and not _found(conn.compute.find_keypair, key_name):
            raise Invalid(f"Invalid key_name provided: {spec.key_name}", field="key_name")
        groups = list(conn.network.security_groups(project_id=project_id))
    known = {g.name for g in groups} | {g.id for g in groups}
    for name in spec.security_groups:
        if name not in known:
            raise Invalid(
                f"Unable to find security_group with name or id '{name}'", field="security_groups"
            )


def _found(find: Callable[..., Any], name_or_id: str) -> bool:
    from openstack.exceptions import NotFoundException

    try:
        find(name_or_id, ignore_missing=False)
    except NotFoundException:
        return False
    return True
