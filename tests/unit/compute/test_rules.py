"""The rules for renaming, rebuilding and resizing an instance, as worked examples (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from sws.compute import model
from sws.drivers.base import Flavor, Image, Server
from sws.errors import Conflict, Invalid

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SMALL = Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
TINY = Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1)
MEDIUM = Flavor(id="3", name="m1.medium", vcpus=2, ram_mb=4096, disk_gb=40)
SSD_TINY = Flavor(id="6", name="ssd.tiny", vcpus=1, ram_mb=1024, disk_gb=10)
WEB = Server(
    id="s-1", name="web", project_id="p", user_id="u", flavor=SMALL, image_id="img-cirros",
    status="ACTIVE", vm_state="active", task_state=None, power_state="running",
    host="compute-01", fixed_ips=("10.0.0.5",), floating_ips=(), key_name=None,
    security_groups=("default",), created_at=T0, updated_at=T0,
)
UBUNTU = Image(
    id="img-ubuntu", name="ubuntu-24.04", status="active", min_disk_gb=10, min_ram_mb=512,
    size_bytes=598_016_000, visibility="public", owner_project_id=None, created_at=T0,
)


@pytest.mark.parametrize("typed, kept", [
    ("web-2", "web-2"), ("  db 1  ", "db 1"), ("A.b_c-d", "A.b_c-d"), ("x" * 64, "x" * 64),
    ("web-云主机", "web-云主机"),  # letters after the first may be any script's, as at launch
])
def test_a_valid_name_is_kept_without_its_surrounding_blanks(typed: str, kept: str) -> None:
    assert model.valid_name(typed) == kept


@pytest.mark.parametrize("typed", ["", "   ", "x" * 65, "-web", "web/1", "web;rm", "云主机"])
def test_an_invalid_name_is_refused_on_the_name_field(typed: str) -> None:
    with pytest.raises(Invalid) as refused:
        model.valid_name(typed)
    assert refused.value.field == "name"


def test_an_active_instance_may_be_renamed_rebuilt_and_resized_but_not_confirmed() -> None:
    assert [c for c in ("rename", "rebuild", "resize", "confirm_resize", "revert_resize")
            if model.allows(WEB, c)] == ["rename", "rebuild", "resize"]


@pytest.mark.parametrize("vm_state, task_state, allowed", [
    ("stopped", None, {"rename", "rebuild", "resize"}),
    ("error", None, {"rename", "rebuild"}),  # Nova rebuilds an instance in error
    ("resized", None, {"rename", "confirm_resize", "revert_resize"}),
    ("shelved_offloaded", None, {"rename"}),
    ("building", "spawning", {"rename"}),
    ("active", "rebuilding", {"rename"}),  # one task at a time
    ("active", "deleting", set()),
])
def test_which_change_each_state_allows(
    vm_state: str, task_state: str | None, allowed: set[str]
) -> None:
    server = replace(WEB, vm_state=vm_state, task_state=task_state)
    changes = ("rename", "rebuild", "resize", "confirm_resize", "revert_resize")
    assert {c for c in changes if model.allows(server, c)} == allowed


def test_a_refusal_is_worded_as_nova_words_it() -> None:
    busy = replace(WEB, task_state="image_snapshot")
    with pytest.raises(Conflict) as refused:
        model.ensure_allowed(busy, "rebuild")
    assert refused.value.detail == (
        "Cannot 'rebuild' instance s-1 while it is in task_state image_snapshot"
    )
    shelved = replace(WEB, vm_state="shelved_offloaded")
    assert model.refusal(shelved, "resize") == (
        "Cannot 'resize' instance s-1 while it is in vm_state shelved_offloaded"
    )
    deleting = replace(WEB, task_state="deleting")
    assert model.refusal(deleting, "rename") == (
        "Cannot 'update' instance s-1 while it is in task_state deleting"
    )


def test_only_active_os_images_are_offered_for_a_rebuild() -> None:
    snapshot = replace(UBUNTU, id="img-snap", name="web-before", image_type="snapshot",
                       visibility="private", owner_project_id="p", source_server_id="s-1")
    saving = replace(UBUNTU, id="img-new", name="debian-13", status="saving")
    cirros = replace(UBUNTU, id="img-cirros", name="cirros-0.6.2", min_disk_gb=1, min_ram_mb=0)
    offered = model.rebuild_images([UBUNTU, snapshot, saving, cirros])
    assert [i.name for i in offered] == ["cirros-0.6.2", "ubuntu-24.04"]


def test_a_rebuild_image_must_be_an_os_image_that_fits_the_flavor() -> None:
    model.ensure_rebuild_image(UBUNTU, SMALL)  # 10 GB and 512 MB fit m1.small's 20 GB, 2 GiB
    snapshot = replace(UBUNTU, image_type="snapshot")
    for image, flavor in ((snapshot, SMALL), (UBUNTU, TINY), (replace(UBUNTU, status="queued"),
                                                              SMALL)):
        with pytest.raises(Invalid) as refused:
            model.ensure_rebuild_image(image, flavor)
        assert refused.value.field == "image_id"


def test_resize_offers_every_other_flavor_whose_disk_is_not_smaller() -> None:
    targets = model.resize_targets([TINY, SMALL, MEDIUM, SSD_TINY], SMALL)
    assert [f.name for f in targets] == ["m1.medium"]  # m1.tiny and ssd.tiny have less disk
    model.ensure_resize_target(MEDIUM, SMALL)
    for flavor in (SMALL, SSD_TINY):
        with pytest.raises(Invalid) as refused:
            model.ensure_resize_target(flavor, SMALL)
        assert refused.value.field == "flavor_id"
