"""Signed URLs and tenants' certificates through the API: what the edges get, what the tenant
sees (never the key), and each refusal naming why."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from typer.testing import CliRunner

from sws.cdn.model import url_signature
from sws.cli import app
from tests.api.conftest import Cloud
from tests.api.test_cdn import D, _distribution
from tests.integration.cdn.tls import LocalCA

EDGE = "/v1/admin/cdn-edges/edge-1/desired-state"


def _state(cloud: Cloud) -> dict[str, Any]:
    answer = cloud.client.get(EDGE, headers=cloud.admin)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _with_domain(cloud: Cloud) -> str:
    """A distribution of acme's serving its verified static.acme.test; its URL."""
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    cloud.txt.prove("static.acme.test", cloud.acme.id)
    added = cloud.client.post(f"{url}/domains", json={"domain": "static.acme.test"},
                              headers=cloud.acme.headers)
    assert added.status_code == 201, added.text
    return url


def test_a_signed_link_is_made_for_the_distributions_host_with_its_key(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    off = cloud.client.post(f"{url}/sign", json={"path": "/a.pdf", "seconds": 60},
                            headers=cloud.acme.headers)
    assert off.status_code == 422 and "turn them on" in off.json()["detail"]

    signing = cloud.client.put(f"{url}/signing", json={"enabled": True},
                               headers=cloud.acme.headers).json()
    link = cloud.client.post(f"{url}/sign", json={"path": "/a.pdf", "seconds": 60},
                             headers=cloud.acme.headers).json()

    expires = int(datetime.datetime.fromisoformat(link["expires_at"]).timestamp())
    assert link["url"] == f"https://{made['host']}{link['path']}"
    assert link["path"] == (f"/a.pdf?expires={expires}"
                            f"&sig={url_signature(signing['key'], '/a.pdf', expires)}")
    assert f"x-sws-signed {made['id']}" in _state(cloud)["terminator"]


def test_a_rotation_keeps_the_previous_key_verifying(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    first = cloud.client.put(f"{url}/signing", json={"enabled": True},
                             headers=cloud.acme.headers).json()["key"]
    second = cloud.client.post(f"{url}/signing/rotate", headers=cloud.acme.headers).json()["key"]

    assert first != second
    assert _state(cloud)["terminator"].count(f"x-sws-signed {made['id']}") == 2
    cloud.client.put(f"{url}/signing", json={"enabled": False}, headers=cloud.acme.headers)
    assert f"x-sws-signed {made['id']}" not in _state(cloud)["terminator"]


def test_a_link_for_more_than_a_year_or_not_a_path_is_a_422(cloud: Cloud) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    cloud.client.put(f"{url}/signing", json={"enabled": True}, headers=cloud.acme.headers)

    for body, field in (({"path": "/a", "seconds": 31_536_001}, "seconds"),
                        ({"path": "a b", "seconds": 5}, "value")):
        answer = cloud.client.post(f"{url}/sign", json=body, headers=cloud.acme.headers)
        assert answer.status_code == 422, answer.text
        assert field in answer.text


def test_a_certificate_for_a_verified_domain_reaches_the_edges_and_its_key_stays_hidden(
    cloud: Cloud,
) -> None:
    ca = LocalCA.create(cloud.clock.now())
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    chain, key = ca.issue("static.acme.test")
    body = {"certificate": chain, "private_key": key}
    early = cloud.client.put(f"{url}/certificates/static.acme.test", json=body,
                             headers=cloud.acme.headers)
    assert early.status_code == 422 and "add it" in early.json()["detail"]

    cloud.txt.prove("static.acme.test", cloud.acme.id)
    cloud.client.post(f"{url}/domains", json={"domain": "static.acme.test"},
                      headers=cloud.acme.headers)
    stored = cloud.client.put(f"{url}/certificates/static.acme.test", json=body,
                              headers=cloud.acme.headers)

    assert stored.status_code == 200, stored.text
    assert "private_key" not in stored.text and "PRIVATE" not in stored.text
    listed = cloud.client.get(f"{url}/certificates", headers=cloud.acme.headers).json()
    assert [c["domain"] for c in listed["items"]] == ["static.acme.test"]
    assert "PRIVATE" not in str(listed)
    shipped = _state(cloud)["certificates"]
    assert [c["hosts"] for c in shipped] == [["static.acme.test"]]
    assert "PRIVATE KEY" in shipped[0]["pem"]
    assert cloud.client.get(f"{url}/certificates",
                            headers=cloud.globex.headers).status_code == 404


def test_a_certificate_for_another_name_or_with_another_key_is_a_422(cloud: Cloud) -> None:
    ca = LocalCA.create(cloud.clock.now())
    url = _with_domain(cloud)
    other_name = dict(zip(("certificate", "private_key"), ca.issue("www.acme.test"),
                          strict=True))
    other_key = {"certificate": ca.issue("static.acme.test")[0],
                 "private_key": ca.issue("static.acme.test")[1]}

    for body, reason in ((other_name, "does not cover static.acme.test"),
                         (other_key, "does not belong to the certificate")):
        answer = cloud.client.put(f"{url}/certificates/static.acme.test", json=body,
                                  headers=cloud.acme.headers)
        assert answer.status_code == 422
        assert reason in answer.json()["detail"]


def test_removing_the_domain_removes_its_certificate(cloud: Cloud) -> None:
    ca = LocalCA.create(cloud.clock.now())
    url = _with_domain(cloud)
    chain, key = ca.issue("static.acme.test")
    cloud.client.put(f"{url}/certificates/static.acme.test",
                     json={"certificate": chain, "private_key": key}, headers=cloud.acme.headers)

    cloud.client.delete(f"{url}/domains/static.acme.test", headers=cloud.acme.headers)

    assert cloud.client.get(f"{url}/certificates", headers=cloud.acme.headers).json() == {
        "items": []}
    assert _state(cloud)["certificates"] == []


def test_the_operators_cli_signs_a_link_with_the_distributions_key(
    cloud: Cloud, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _distribution(cloud, cloud.acme)
    url = f"{D}/{made['id']}"
    key = cloud.client.put(f"{url}/signing", json={"enabled": True},
                           headers=cloud.acme.headers).json()["key"]
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_DATABASE_URL", database_url)

    done = CliRunner().invoke(app, ["cdn", "sign", made["id"], "/a.pdf", "--seconds", "60"])
    missing = CliRunner().invoke(app, ["cdn", "sign", "000000000000", "/a.pdf"])

    assert done.exit_code == 0, done.output
    link = urlsplit(done.output.strip())
    query = dict(parse_qsl(link.query))
    assert (link.scheme, link.netloc, link.path) == ("https", made["host"], "/a.pdf")
    assert query["sig"] == url_signature(key, "/a.pdf", int(query["expires"]))
    assert missing.exit_code == 2 and "could not be found" in missing.output
