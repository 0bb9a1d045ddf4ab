"""Rename, rebuild and resize from the instance page: the forms, their refusals, in Chinese."""

from __future__ import annotations

import re

from sws.drivers.base import ServerCreate
from tests.unit.console.conftest import Browser, Console
from tests.unit.console.test_billing import with_catalog


def _boot(console: Console, name: str = "web-1", flavor: str = "m1.small") -> str:
    driver = console.container.driver()
    tenant_id = console.tenants["acme"]
    flavor_id = next(f.id for f in driver.list_flavors() if f.name == flavor)
    image = next(i.id for i in driver.list_images(tenant_id) if i.name == "cirros-0.6.2")
    server = driver.create_servers(tenant_id, "alice", ServerCreate(
        name=name, flavor_id=flavor_id, image_id=image))[0]
    console.settle()
    return server.id


def _image(console: Console, name: str) -> str:
    images = console.container.driver().list_images(console.tenants["acme"])
    return next(i.id for i in images if i.name == name)


def _post(browser: Browser, server_id: str, what: str, **form: str) -> tuple[int, str]:
    page = f"/console/instances/{server_id}"
    answer = browser.post(f"{page}/{what}", form, page=page, follow=True)
    return answer.status_code, answer.text


def test_the_page_offers_os_images_and_larger_flavors_with_their_prices(
    console: Console,
) -> None:
    with_catalog(console)
    server_id = _boot(console)
    console.container.driver().create_snapshot(console.tenants["acme"], server_id, "web-snap")
    console.settle()
    html = console.browser("alice").get(f"/console/instances/{server_id}").text
    rebuild = html.split('id="rebuild-form"')[1].split("</form>")[0]
    assert "ubuntu-24.04" in rebuild and "cirros-0.6.2" in rebuild
    assert "web-snap" not in rebuild  # a snapshot is no OS image
    assert "disk is wiped" in rebuild and 'data-confirm="Rebuild web-1?' in rebuild
    resize = html.split('id="resize-form"')[1].split("</form>")[0]
    offered = re.findall(r'name="flavor_id" value="[^"]+" id="resize-([\w.]+)"', resize)
    assert offered == ["m1.medium", "m1.large", "m1.xlarge", "ssd.small"]  # disk ≥ 20 GB
    assert "CN¥400.00 / month" in resize and " / hour" in resize
    assert 'id="resize-finish"' not in html  # nothing to confirm yet


def test_rename_then_a_bad_name_comes_back_on_its_form_as_typed(console: Console) -> None:
    server_id = _boot(console)
    browser = console.browser("alice")
    status, html = _post(browser, server_id, "rename", name="web-prod")
    assert status == 200 and "Renamed to web-prod." in html
    assert "web-prod</h1>" in html
    status, html = _post(browser, server_id, "rename", name="-web/2")
    assert status == 422
    assert 'id="rename-error"' in html and "name must start with a letter or digit" in html
    assert 'value="-web/2"' in html  # what was typed is kept
    assert console.container.driver().get_server(console.tenants["acme"], server_id).name == (
        "web-prod"
    )


def test_rebuild_shows_rebuilding_and_settles_on_the_new_image(console: Console) -> None:
    server_id = _boot(console)
    browser = console.browser("alice")
    status, html = _post(browser, server_id, "rebuild", image_id=_image(console, "debian-12"))
    assert status == 200 and "Rebuilding web-1: its disk is being reinstalled." in html
    assert "Rebuilding</span>" in html  # the status badge
    assert 'id="rebuild-refused"' in html  # no second rebuild while this one runs
    console.settle()
    server = console.container.driver().get_server(console.tenants["acme"], server_id)
    assert (server.status, server.image_id) == ("ACTIVE", _image(console, "debian-12"))


def test_a_refused_rebuild_is_explained_beside_its_form_in_chinese(console: Console) -> None:
    server_id = _boot(console, flavor="m1.tiny")  # 1 GB of disk: ubuntu needs 10
    browser = console.browser("alice", **{"Accept-Language": "zh-CN"})
    status, html = _post(browser, server_id, "rebuild", image_id=_image(console, "ubuntu-24.04"))
    assert status == 422
    error = html.split('id="rebuild-error"')[1].split("</p>")[0]
    assert "该镜像需要的磁盘或内存超过云主机当前规格" in error
    assert "<details id=\"rebuild\" open>" in html


def test_resize_waits_for_a_confirm_then_keeps_the_new_flavor(console: Console) -> None:
    server_id = _boot(console)
    browser = console.browser("alice")
    driver, tenant_id = console.container.driver(), console.tenants["acme"]
    medium = next(f.id for f in driver.list_flavors() if f.name == "m1.medium")
    status, html = _post(browser, server_id, "resize", flavor_id=medium)
    assert status == 200 and "Resizing web-1." in html
    console.settle()
    html = browser.get(f"/console/instances/{server_id}").text
    assert 'id="resize-finish"' in html and "web-1 now runs as m1.medium" in html
    assert 'id="resize-refused"' in html  # no second resize before this one is confirmed
    status, html = _post(browser, server_id, "resize/finish", choice="confirm")
    assert status == 200 and "web-1 keeps its new flavor." in html
    assert driver.get_server(tenant_id, server_id).status == "ACTIVE"


def test_a_resize_refused_by_the_state_is_humane(console: Console) -> None:
    server_id = _boot(console)
    browser = console.browser("alice")
    status, html = _post(browser, server_id, "resize/finish", choice="confirm")
    assert status == 409
    assert "Confirm resize does not apply to an instance that is running." in html


def test_another_tenant_gets_404_for_every_change(console: Console) -> None:
    server_id = _boot(console)
    bob = console.browser("bob")
    for what, form in (("rename", {"name": "mine"}), ("rebuild", {"image_id": "x"}),
                       ("resize", {"flavor_id": "3"}), ("resize/finish", {"choice": "confirm"})):
        answer = bob.post(f"/console/instances/{server_id}/{what}", form, page="/console/")
        assert answer.status_code == 404, what
    server = console.container.driver().get_server(console.tenants["acme"], server_id)
    assert (server.name, server.status) == ("web-1", "ACTIVE")
