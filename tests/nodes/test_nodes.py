"""scripts/nodes: three systemd-nspawn nodes boot systemd, run a hardened unit and reach each other.

The first test of `make test`'s `nodes` stage (`make nodes-test` alone; SWS_TEST_NODES=1,
root): the first run builds the Debian base root (75 s to 10 min on this machine, by its
load), later runs boot the three nodes from the cache (about a minute in all).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.nodes.deployment import OPT_IN

ROOT = Path(__file__).resolve().parents[2]
NODES = ROOT / "scripts" / "nodes"
DIR = Path(os.environ.get("SWS_NODES_DIR", "/var/lib/sws-nodes"))

pytestmark = OPT_IN

# The SWS API unit as deploy/systemd ships it, hardening and all, serving a stand-in for `sws api`
# (the wheel is the playbook's business): a node must run the units as they are.
STAND_IN = "/usr/bin/python3 -m http.server %i --bind 0.0.0.0"


def nodes(*args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [str(NODES), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"scripts/nodes {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout.strip()


def test_three_nodes_boot_run_a_hardened_unit_and_reach_each_other() -> None:
    started = time.monotonic()
    try:
        up = nodes("up")
        for i in (1, 2, 3):
            assert f"sws-n{i}  10.77.0.1{i}  running" in up
            assert nodes("exec", f"sws-n{i}", "systemctl", "is-system-running") == "running"
            assert nodes("exec", f"sws-n{i}", "hostname") == f"sws-n{i}"

        unit = (ROOT / "deploy" / "systemd" / "sws-api@.service").read_text()
        unit = "\n".join(
            f"ExecStart={STAND_IN}" if line.startswith("ExecStart=") else line
            for line in unit.splitlines()
        )
        node1 = DIR / "nodes" / "sws-n1" / "root"
        (node1 / "etc" / "systemd" / "system" / "sws-api@.service").write_text(unit + "\n")
        (node1 / "etc" / "sws").mkdir(exist_ok=True)
        (node1 / "etc" / "sws" / "sws.env").write_text("")
        if subprocess.run(["chroot", str(node1), "id", "sws"], capture_output=True).returncode:
            nodes("exec", "sws-n1", "useradd", "--system", "--home-dir", "/var/lib/sws",
                  "--shell", "/usr/sbin/nologin", "sws")
        nodes("exec", "sws-n1", "systemctl", "daemon-reload")
        nodes("exec", "sws-n1", "systemctl", "start", "sws-api@8001")
        assert nodes("exec", "sws-n1", "systemctl", "is-active", "sws-api@8001") == "active"
        pid = nodes("exec", "sws-n1", "systemctl", "show", "-P", "MainPID", "sws-api@8001")
        status = nodes("exec", "sws-n1", "cat", f"/proc/{pid}/status")
        assert "NoNewPrivs:\t1" in status
        assert "CapEff:\t0000000000000000" in status

        # n3 reaches n1's unit over the node network, and the host at 10.77.0.1.
        fetch = (
            "import time, urllib.request\n"
            "for _ in range(50):\n"
            "    try:\n"
            "        print(urllib.request.urlopen('http://10.77.0.11:8001/', timeout=2).status)\n"
            "        break\n"
            "    except OSError:\n"
            "        time.sleep(0.2)\n"
        )
        assert nodes("exec", "sws-n3", "python3", "-c", fetch) == "200"
        assert "1 received" in nodes("exec", "sws-n3", "ping", "-c1", "-W2", "10.77.0.1")
    finally:
        nodes("down")
    print(f"\nnodes up, checked and down in {time.monotonic() - started:.0f} s")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "sws-n" not in listed
    assert "sws-n" not in Path("/proc/mounts").read_text()
