"""What an instance may become: valid names, the states each change needs, rebuild images."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sws.drivers.base import Flavor, Image, Server
from sws.drivers.nova_payloads import flavor_payload, nova_object, oslo_timestamp
from sws.errors import Conflict, Invalid

NAME_MAX = 64
#: A launch name and a new name alike: a letter or digit first, then letters, digits, `_.- `.
NAME_PATTERN = r"^[A-Za-z0-9][\w. -]*$"
_NAME = re.compile(NAME_PATTERN)

Change = Literal["rename", "rebuild", "resize", "confirm_resize", "revert_resize"]

#: The vm_states each change may start from, as Nova's `check_instance_state` has them.
#: Rename has no vm_state rule in Nova; SWS refuses it only for an instance being deleted.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "rebuild": frozenset({"active", "stopped", "error"}),
    "resize": frozenset({"active", "stopped"}),
    "confirm_resize": frozenset({"resized"}),
    "revert_resize": frozenset({"resized"}),
}
_GONE = frozenset({"deleted", "soft-delete"})


def valid_name(name: str) -> str:
    """`name` without surrounding blanks, or Invalid naming the field and the rule."""
    wanted = name.strip()
    if not 1 <= len(wanted) <= NAME_MAX:
        raise Invalid("name must be 1 to 64 characters", field="name")
    if not _NAME.match(wanted):
        raise Invalid(
            "name must start with a letter or digit and use only letters, digits, spaces, "
            "'_', '.' and '-'",
            field="name",
        )
    return wanted


def refusal(server: Server, change: Change) -> str | None:
    """Why `change` cannot start now, worded as Nova words it; None when it can."""
    verb = "update" if change == "rename" else change
    if server.vm_state in _GONE:
        return f"Cannot '{verb}' instance {server.id} while it is in vm_state {server.vm_state}"
    if change == "rename":
        return None if server.task_state != "deleting" else (
            f"Cannot '{verb}' instance {server.id} while it is in task_state deleting"
        )
    if server.task_state is not None:
        return (
            f"Cannot '{verb}' instance {server.id} while it is in task_state {server.task_state}"
        )
    if server.vm_state not in ALLOWED_FROM[change]:
        return f"Cannot '{verb}' instance {server.id} while it is in vm_state {server.vm_state}"
    return None


def allows(server: Server, change: Change) -> bool:
    return refusal(server, change) is None


def ensure_allowed(server: Server, change: Change) -> None:
    """Raise Conflict (409) with Nova's wording when `change` cannot start now."""
    reason = refusal(server, change)
    if reason is not None:
        raise Conflict(reason)


def is_os_image(image: Image) -> bool:
    """An operating-system image, ready to boot: not a snapshot of some instance."""
    return image.image_type == "image" and image.status == "active"


def rebuild_images(images: Iterable[Image]) -> list[Image]:
    """The images an instance may be rebuilt from: OS images only, by name."""
    return sorted((i for i in images if is_os_image(i)), key=lambda i: (i.name, i.id))


def ensure_rebuild_image(image: Image, flavor: Flavor) -> None:
    """Invalid (on `image_id`) unless `image` is an OS image that fits the instance's flavor."""
    if image.image_type != "image":
        raise Invalid(
            "That image is a snapshot: an instance is rebuilt from an OS image.",
            field="image_id",
        )
    if image.status != "active":
        raise Invalid("That image is not active.", field="image_id")
    if flavor.disk_gb < image.min_disk_gb or flavor.ram_mb < image.min_ram_mb:
        raise Invalid(
            "That image needs more disk or RAM than the instance's flavor has: resize the "
            "instance first.",
            field="image_id",
        )


def resize_targets(flavors: Sequence[Flavor], current: Flavor) -> list[Flavor]:
    """The flavors an instance may be resized to: any other one whose disk is not smaller."""
    return [f for f in flavors if f.id != current.id and f.disk_gb >= current.disk_gb]


def ensure_resize_target(flavor: Flavor, current: Flavor) -> None:
    """Invalid (on `flavor_id`) for the flavor the instance has or a smaller disk."""
    if flavor.id == current.id:
        raise Invalid("When resizing, instances must change flavor!", field="flavor_id")
    if flavor.disk_gb < current.disk_gb:
        raise Invalid(
            "Resize to a flavor with a smaller disk is not allowed.", field="flavor_id"
        )


def rename_notification(server: Server, old_name: str, at: datetime) -> dict[str, Any]:
    """Nova's `instance.update` for a rename (InstanceUpdatePayload, the keys SWS's events
    read): `old_display_name` set is what makes it a rename. SWS journals it when it renames,
    so the bill and the activity feed have the new name at once; a real Nova's own
    `instance.update` for the same rename arrives later and changes nothing more."""
    stamp = at.astimezone(UTC)
    data = {
        "uuid": server.id, "tenant_id": server.project_id, "user_id": server.user_id,
        "display_name": server.name, "old_display_name": old_name,
        "state": server.vm_state, "task_state": server.task_state,
        "power_state": server.power_state, "host": server.host,
        "launched_at": _iso(server.launched_at), "terminated_at": _iso(server.terminated_at),
        "updated_at": _iso(stamp), "flavor": flavor_payload(server.flavor),
    }
    return {
        "message_id": f"sws-rename-{server.id}-{stamp.strftime('%Y%m%d%H%M%S%f')}",
        "publisher_id": "sws.compute", "event_type": "instance.update", "priority": "INFO",
        "timestamp": oslo_timestamp(stamp),
        "payload": nova_object("InstanceUpdatePayload", "2.0", data),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
