"""Tags in the console: add and remove on an instance's page and a volume's section, chips and
the tag filter on the Instances and Volumes lists, refusals as flashes, tenant scoping."""

from __future__ import annotations

from sws.audit import service as audit
from sws.drivers.volumes import VolumeCreate
from sws.web.api.tags import tag_service
from tests.unit.console.conftest import Browser, Console
from tests.unit.console.test_volume_pages import launch


def _add(browser: Browser, server_id: str, tag: str, back: str = "") -> str:
    page = f"/console/instances/{server_id}"
    done = browser.post(f"/console/tags/servers/{server_id}/add",
                        {"tag": tag, "back": back or f"{page}#tags"}, page=page, follow=True)
    assert done.status_code == 200, done.text[-2000:]
    return done.text


def test_alice_tags_an_instance_and_filters_the_list(console: Console) -> None:
    web, db = launch(console, "web-1"), launch(console, "db-1")
    alice = console.browser("alice")
    html = _add(alice, web, "Env=prod")
    assert "Tag Env=prod added." in html and 'data-tag="env=prod"' in html
    _add(alice, db, "env=dev")
    listed = alice.get("/console/instances").text
    assert 'href="/console/instances?tag=env%3Dprod"' in listed  # a chip filters the list
    only_web = alice.get("/console/instances?tag=env=prod").text
    assert "web-1" in only_web and "db-1" not in only_web
    both = alice.get("/console/instances?tag=env").text
    assert "web-1" in both and "db-1" in both
    assert "Nothing to show." in alice.get("/console/instances?tag=not%20a%20tag").text
    page = f"/console/instances/{web}"
    removed = alice.post(f"/console/tags/servers/{web}/remove", {"tag": "env=prod"},
                         page=page, follow=True)
    assert "Tag env=prod removed." in removed.text and "No tags yet." in removed.text


def test_a_bad_tag_is_one_translated_message_and_writes_nothing(console: Console) -> None:
    server_id = launch(console)
    alice = console.browser("alice", **{"Accept-Language": "zh-CN"})
    html = _add(alice, server_id, "my tag!")
    assert "标签是一个键或“键=值”" in html
    assert tag_service(console.container).tags_by_resource(
        console.tenants["acme"], "RegionOne", "servers") == {}


def test_bob_cannot_tag_alice_s_instance(console: Console) -> None:
    server_id = launch(console)
    bob = console.browser("bob")
    done = bob.post(f"/console/tags/servers/{server_id}/add",
                    {"tag": "mine", "back": "/console/instances"}, page="/console/instances",
                    follow=True)
    assert done.status_code == 200 and "could not be found" in done.text
    assert tag_service(console.container).tags_by_resource(
        console.tenants["acme"], "RegionOne", "servers") == {}
    assert tag_service(console.container).tags_by_resource(
        console.tenants["globex"], "RegionOne", "servers") == {}


def test_the_back_link_stays_in_the_console(console: Console) -> None:
    server_id = launch(console)
    alice = console.browser("alice")
    page = f"/console/instances/{server_id}"
    answer = alice.post(f"/console/tags/servers/{server_id}/add",
                        {"tag": "web", "back": "https://evil.example/"}, page=page)
    assert answer.status_code == 303 and answer.headers["location"] == page
    unknown = alice.post(f"/console/tags/users/{server_id}/add", {"tag": "web"}, page=page)
    assert unknown.status_code == 404


def test_a_volume_s_tags_and_the_volume_filter(console: Console) -> None:
    storage = console.container.block_storage("RegionOne")
    acme = console.tenants["acme"]
    logs = storage.create_volume(acme, VolumeCreate(name="logs", size_gb=1))
    storage.create_volume(acme, VolumeCreate(name="media", size_gb=1))
    alice = console.browser("alice")
    done = alice.post(f"/console/tags/volumes/{logs.id}/add",
                      {"tag": "backup=daily", "back": f"/console/volumes#volume-{logs.id}"},
                      page="/console/volumes", follow=True)
    assert "Tag backup=daily added." in done.text
    filtered = alice.get("/console/volumes?tag=backup").text
    assert 'data-volume="logs"' in filtered and 'data-volume="media"' not in filtered
    entries = audit.list_entries(db=console.container.db, action="tags.change")
    assert [(e.target_type, e.target_id, e.detail, e.source) for e in entries] == [
        ("volumes", logs.id, "added=backup=daily removed=", "console")]

