"""The clouds.yaml SWS is told to use wins over OS_CLIENT_CONFIG_FILE.

A sponsor region's cloud is named in SWS's own clouds.yaml; the admin's shell, or a test session
before this one in the same process, may have OS_CLIENT_CONFIG_FILE pointing at another file,
which openstacksdk would read first and never look further.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sws.drivers.openstack.connections import load_cloud
from sws.errors import SWSError

CLOUD = (
    "clouds:\n  {name}:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n"
    "      username: sws\n      password: secret\n      project_name: sws\n"
    "      user_domain_name: Default\n      project_domain_name: Default\n"
    "    region_name: {region}\n"
)


def _clouds(path: Path, name: str, region: str) -> Path:
    path.write_text(CLOUD.format(name=name, region=region))
    return path


def test_a_named_clouds_yaml_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admins = _clouds(tmp_path / "admin.yaml", "admin", "RegionOne")
    sws = _clouds(tmp_path / "sws.yaml", "campus", "CampusOne")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(admins))
    assert load_cloud("campus", sws).region_name == "CampusOne"
    with pytest.raises(SWSError):
        load_cloud("admin", sws)  # only the named file is read


def test_without_a_named_file_the_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admins = _clouds(tmp_path / "admin.yaml", "admin", "RegionOne")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(admins))
    assert load_cloud("admin", None).region_name == "RegionOne"
