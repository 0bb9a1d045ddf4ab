"""Nova's versioned-notification shapes, pure: SWS's own notifications (a rename) and the
simulated region's are built with the same helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sws.drivers.base import Flavor

ACTION_PAYLOAD = "1.8"  # the versions in the Nova notifications SWS was built against
FLAVOR_PAYLOAD = "1.4"


def oslo_timestamp(moment: datetime) -> str:
    """The envelope's timestamp: '2026-11-21 06:42:49.444861', UTC without a zone."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def nova_object(name: str, version: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "nova_object.data": data,
        "nova_object.name": name,
        "nova_object.namespace": "nova",
        "nova_object.version": version,
    }


def flavor_payload(flavor: Flavor) -> dict[str, Any]:
    return nova_object(
        "FlavorPayload",
        FLAVOR_PAYLOAD,
        {
            "description": None,
            "disabled": False,
            "ephemeral_gb": flavor.ephemeral_gb,
            "extra_specs": {},
            "flavorid": flavor.id,
            "is_public": flavor.is_public,
            "memory_mb": flavor.ram_mb,
            "name": flavor.name,
            "projects": None,
            "root_gb": flavor.disk_gb,
            "rxtx_factor": 1.0,
            "swap": flavor.swap_mb,
            "vcpu_weight": 0,
            "vcpus": flavor.vcpus,
        },
    )
