"""Containers and Storage Firewall pages: counts and sizes, objects, firewall validation
(field named, nothing written), tenant scoping and CSRF."""

from __future__ import annotations

from sws.storagefw import service as storage
from tests.unit.console.conftest import Browser, Console


def make_container(alice: Browser, name: str = "photos") -> None:
    done = alice.post("/console/containers", {"name": name}, page="/console/containers",
                      follow=True)
    assert f"Container {name} created." in done.text


def test_containers_objects_upload_download_delete(console: Console) -> None:
    alice = console.browser("alice")
    make_container(alice)
    page = "/console/containers/photos"
    token = alice.csrf(page)
    uploaded = alice.client.post(f"{page}/objects", data={"csrf": token, "object_name": ""},
                                 files={"upload": ("cat.txt", b"meow" * 10, "text/plain")},
                                 follow_redirects=False)
    assert uploaded.status_code == 303, uploaded.text[-3000:]
    html = alice.get(page).text
    assert "Object cat.txt uploaded." in html and 'data-object="cat.txt"' in html
    assert "40 bytes" in html
    listing = alice.get("/console/containers").text
    assert 'data-container="photos"' in listing and "40 bytes" in listing
    download = alice.get(f"{page}/objects/cat.txt")
    assert download.status_code == 200 and download.content == b"meow" * 10
    assert "attachment" in download.headers["content-disposition"]
    busy = alice.post(f"{page}/delete", page=page, follow=True)
    assert 'class="flash error"' in busy.text  # not empty
    gone = alice.post(f"{page}/objects/delete", {"object_name": "cat.txt"}, page=page,
                      follow=True)
    assert "Object cat.txt deleted." in gone.text
    deleted = alice.post(f"{page}/delete", page=page, follow=True)
    assert "Container photos deleted." in deleted.text


def test_another_tenants_container_is_a_404_page(console: Console) -> None:
    make_container(console.browser("alice"), "private")
    bob = console.browser("bob")
    for path in ("/console/containers/private", "/console/storage-firewall/private",
                 "/console/containers/private/objects/x"):
        response = bob.get(path)
        assert response.status_code == 404 and "<html" in response.text, path
    refused = bob.post("/console/storage-firewall/private", {"deny": "10.0.0.0/8"},
                       page="/console/storage-firewall")
    assert refused.status_code == 404
    assert "private" not in bob.get("/console/containers").text


def test_firewall_bad_cidr_names_the_field_and_writes_nothing(console: Console) -> None:
    alice = console.browser("alice")
    make_container(alice)
    page = "/console/storage-firewall/photos"
    bad = alice.post(page, {"allow": "10.0.0.0/8\n10.1.2.300/24", "deny": "192.0.2.1",
                            "requests_5m": "5000"}, page=page)
    assert bad.status_code == 422
    assert "Whitelist (entry 2):" in bad.text and "10.1.2.300/24" in bad.text
    assert "10.0.0.0/8\n10.1.2.300/24</textarea>" in bad.text  # what was typed stays
    store = console.container.object_store()
    rules = storage.get_firewall(store=store, project_id=console.tenants["acme"],
                                 container="photos")
    assert rules.empty
    limit = alice.post(page, {"requests_24h": "0"}, page=page)
    assert limit.status_code == 422 and "Requests per 24 hours:" in limit.text
    words = alice.post(page, {"mb_5m": "lots"}, page=page)
    assert words.status_code == 422 and "Traffic (MB) per 5 minutes:" in words.text
    too_many = "\n".join(f"10.9.{n // 256}.{n % 256}" for n in range(101))
    many = alice.post(page, {"deny": too_many}, page=page)
    assert many.status_code == 422 and "Blacklist:" in many.text and "at most 100" in many.text
    exclusive = alice.post(page, {"exclusive": "on"}, page=page)
    assert exclusive.status_code == 422 and "Exclusive:" in exclusive.text
    assert storage.get_firewall(store=store, project_id=console.tenants["acme"],
                                container="photos").empty


def test_firewall_good_rules_are_saved_and_shown(console: Console) -> None:
    alice = console.browser("alice")
    make_container(alice)
    page = "/console/storage-firewall/photos"
    saved = alice.post(page, {"allow": "203.0.113.0/24", "deny": "198.51.100.7\n2001:db8::/32",
                              "exclusive": "on", "requests_5m": "5000",
                              "requests_24h": "500000", "mb_5m": "100", "mb_24h": "2000"},
                       page=page, follow=True)
    assert "Firewall of photos saved." in saved.text
    assert "198.51.100.7/32\n2001:db8::/32</textarea>" in saved.text
    assert 'name="exclusive" checked' in saved.text and 'value="500000"' in saved.text
    rules = storage.get_firewall(store=console.container.object_store(),
                                 project_id=console.tenants["acme"], container="photos")
    assert rules.exclusive and rules.allow == ("203.0.113.0/24",) and len(rules.limits) == 4
    assert "Edit firewall" in alice.get("/console/storage-firewall").text


def test_storage_forms_without_csrf_are_refused(console: Console) -> None:
    alice = console.browser("alice")
    make_container(alice)
    for path in ("/console/containers", "/console/containers/photos/delete",
                 "/console/storage-firewall/photos", "/console/containers/photos/objects/delete"):
        response = alice.post(path, {"name": "x", "allow": "10.0.0.0/8"}, csrf="nope")
        assert response.status_code == 403, path
    assert storage.get_firewall(store=console.container.object_store(),
                                project_id=console.tenants["acme"], container="photos").empty


def test_a_region_without_object_storage_says_so(console: Console) -> None:
    console.container.stores.pop("RegionOne")  # a real OpenStack region without SWS_SWIFT
    page = console.browser("alice").get("/console/containers")
    assert page.status_code == 404
    assert "this region (RegionOne) has no object storage" in page.text
    assert "Invalid input" not in page.text
