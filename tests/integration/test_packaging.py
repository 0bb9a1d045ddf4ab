"""The release artefacts: `python -m build` gives a wheel and an sdist, and the wheel installs
into a fresh venv whose `sws` answers --version and --help and migrates a database.

Builds from a copy of the checkout (tracked and new files), so the tree gets no build output.
Needs PyPI (or the configured index) for the build backend and the wheel's dependencies.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["project"])


def _copy_checkout(into: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_and_sdist_build_and_the_wheel_installs_into_a_fresh_venv(
    tmp_path: Path,
) -> None:
    project = _project()
    dist_name = project["name"].replace("-", "_")
    source = _copy_checkout(tmp_path / "src")
    _run(sys.executable, "-m", "build", "--outdir", tmp_path / "dist", source)  # the wheel
    # is built from the sdist, so the migrations it needs below prove the sdist has them too
    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    version = project["version"]
    assert built == [f"{dist_name}-{version}-py3-none-any.whl", f"{dist_name}-{version}.tar.gz"]

    assert _data_files(ROOT / "src") <= _wheel_files(tmp_path / "dist" / built[0])
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    _run(bin_dir / "pip", "install", "--quiet", tmp_path / "dist" / built[0])
    assert _run(bin_dir / "sws", "--version").split() == [project["name"], version]
    usage = _run(bin_dir / "sws", "--help")
    assert "Usage: sws" in usage and "worker" in usage
    assert "reconcile" in _run(bin_dir / "sws", "worker", "--help")
    home = tmp_path / "home"
    env = {"SWS_HOME": str(home), "PATH": str(bin_dir)}
    _run(bin_dir / "sws", "db", "upgrade", cwd=tmp_path, env=env)  # migrations are shipped
    assert (home / "sws.db").stat().st_size > 0


def _data_files(src: Path) -> set[str]:
    """Every tracked file of the packages that is not Python source: templates, catalogs,
    mail texts, static assets, data lists. Each must reach the wheel, or an installed SWS
    fails at the page or mail that needs it."""
    listed = subprocess.run(["git", "ls-files", "sws", "sws_swift", "sws_agent", "sws_island"],
                            cwd=src, check=True, capture_output=True, text=True).stdout
    return {name for name in listed.split() if not name.endswith((".py", ".pot"))}


def _wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


# ---- systemd units --------------------------------------------------------------------------

UNITS = ROOT / "deploy" / "systemd"
ROLES = {  # unit -> the `sws` command it runs (the instance name filled in)
    "sws-api@.service": "api --host 127.0.0.1 --port 8001",
    "sws-ticker.service": "worker ticker",
    "sws-events@.service": "worker events",
    "sws-reconcile@.service": "worker reconcile --region RegionOne",
    "sws-alarms.service": "worker alarms",
}
HARDENING = ("User=sws", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
             "EnvironmentFile=/etc/sws/sws.env", "Restart=")


def _instance(text: str) -> str:
    """A unit's name or line with the instance filled in: a port for the API, else a region."""
    port_or_region = "8001" if "sws-api" in text or " api " in text else "RegionOne"
    return text.replace("@.", f"@{port_or_region}.").replace("%i", port_or_region)


def test_every_process_role_has_a_hardened_unit_running_a_real_command() -> None:
    for unit, command in ROLES.items():
        text = (UNITS / unit).read_text()
        for option in HARDENING:
            assert f"\n{option}" in text, f"{unit} lacks {option}"
        exec_start = next(x for x in text.splitlines() if x.startswith("ExecStart="))
        assert _instance(exec_start) == f"ExecStart=/opt/sws/bin/sws {command}"
        # the command and its options exist: `--help` after them parses them, then stops
        assert "Usage: sws" in _run(Path(sys.executable).with_name("sws"), *command.split(),
                                    "--help")


def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    """Every unit in deploy/systemd (the agents' too), with /opt/sws/bin/ pointing at this
    venv's commands, since `verify` checks that ExecStart's program exists."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (scripts/install-system-packages)")
    bin_dir = str(Path(sys.executable).parent) + "/"
    names = []
    for unit in sorted(UNITS.glob("*.service")):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/sws/bin/", bin_dir))
        names.append(_instance(unit.name))
    done = subprocess.run([analyze, "verify", *names], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    about_ours = [line for line in (done.stdout + done.stderr).splitlines()
                  if str(tmp_path) in line or any(n.split("@")[0] in line for n in names)]
    assert done.returncode == 0 and about_ours == [], done.stdout + done.stderr
    assert len(names) >= len(ROLES)
