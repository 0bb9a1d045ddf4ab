"""Rename, rebuild and resize an instance: the one path the API and the console both take."""

from __future__ import annotations

from typing import Literal

from sws.clock import Clock
from sws.compute import model
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, Flavor, Image, Server
from sws.errors import Invalid, NotFound
from sws.events import service as events


def rename(
    driver: CloudDriver, project_id: str, server_id: str, name: str, *, db: Database,
    clock: Clock,
) -> Server:
    """Give the instance a new name (Nova's `PUT /servers/{id}`); its id and IPs stay. The
    rename is journaled as Nova's `instance.update` at once, so the open bill and the activity
    feed name the instance anew now, not at its next lifecycle event."""
    wanted = model.valid_name(name)
    before = driver.get_server(project_id, server_id)
    model.ensure_allowed(before, "rename")
    server = driver.rename_server(project_id, server_id, wanted)
    if server.name != before.name:
        notice = model.rename_notification(server, before.name, clock.now())
        events.ingest(db=db, envelopes=[notice], clock=clock, region=driver.region,
                      source="compute")
    return server


def rebuild(driver: CloudDriver, project_id: str, server_id: str, image_id: str | None) -> Server:
    """Reinstall the instance from an OS image: its disk is wiped; id, IPs and flavor stay."""
    if not image_id:
        raise Invalid("Choose an image to rebuild from.", field="image_id")
    server = driver.get_server(project_id, server_id)
    model.ensure_allowed(server, "rebuild")
    model.ensure_rebuild_image(_image(driver, project_id, image_id), server.flavor)
    return driver.rebuild_server(project_id, server_id, image_id)


def resize(driver: CloudDriver, project_id: str, server_id: str, flavor_id: str | None) -> Server:
    """Move the instance to another flavor; it then waits in VERIFY_RESIZE for a confirm."""
    if not flavor_id:
        raise Invalid("Choose a flavor to resize to.", field="flavor_id")
    server = driver.get_server(project_id, server_id)
    model.ensure_allowed(server, "resize")
    model.ensure_resize_target(_flavor(driver, flavor_id), server.flavor)
    return driver.server_action(project_id, server_id, "resize", flavor_id)


def finish_resize(driver: CloudDriver, project_id: str, server_id: str, keep: bool) -> Server:
    """Confirm the new flavor (`keep`), or revert to the old one."""
    change: Literal["confirm_resize", "revert_resize"] = (
        "confirm_resize" if keep else "revert_resize"
    )
    model.ensure_allowed(driver.get_server(project_id, server_id), change)
    return driver.server_action(project_id, server_id, change)


def rebuild_images(driver: CloudDriver, project_id: str) -> list[Image]:
    """The OS images the project may rebuild an instance from."""
    return model.rebuild_images(driver.list_images(project_id))


def resize_flavors(driver: CloudDriver, server: Server) -> list[Flavor]:
    """The flavors `server` may be resized to."""
    return model.resize_targets(driver.list_flavors(), server.flavor)


def _image(driver: CloudDriver, project_id: str, image_id: str) -> Image:
    """The image if the project may use it; another project's private one is as missing."""
    try:
        return driver.get_image(project_id, image_id)
    except NotFound:
        raise Invalid(f"Image {image_id} could not be found.", field="image_id") from None


def _flavor(driver: CloudDriver, flavor_id: str) -> Flavor:
    try:
        return driver.get_flavor(flavor_id)
    except NotFound:
        raise Invalid(f"Flavor {flavor_id} could not be found.", field="flavor_id") from None
