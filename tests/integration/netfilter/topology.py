"""Four network namespaces standing for a VM, its compute node, the intranet and the internet.

    vm (10.251.0.2 tenant A, 10.251.0.3 tenant B, fd00:5a5::2)
      | veth
    compute (router, ip_forward=1, runs the SWS filter)
      | veth                         | veth
    intranet                        internet (10.251.2.10)
      10.251.1.10, .20  servers on 8080 and 9090; fd00:5a5:1::10, ::20
      10.251.1.50       a Cloud Bridge source (inside 10.251.1.48/29); .60 is not

Every address exists only inside these namespaces. `Topology.reset()` returns them to how
`build()` left them; `Topology.close()` kills the processes it started and deletes the
namespaces by name, even after a failure.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

SERVER = r"""
import socket, sys, threading
def serve(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
def echo(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen(256)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""

CONNECT = r"""
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(float(sys.argv[4]))
try:
    s.bind((src, 0)); s.connect((dst, port)); s.sendall(b"hi\n")
    print("open" if s.recv(16) == b"hi\n" else "closed")
except OSError:
    print("closed")
"""

# A long-lived connection: each line on stdin sends a ping; prints "alive" or "dead".
SESSION = r"""
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.create_connection((dst, port), timeout=2, source_address=(src, 0))
print("connected", flush=True)
for _ in sys.stdin:
    try:
        s.sendall(b"ping\n"); s.settimeout(1.5)
        print("alive" if s.recv(16) == b"ping\n" else "dead", flush=True)
    except OSError:
        print("dead", flush=True)
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done


@dataclass
class Topology:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    servers: int = 0  # the first processes: the echo servers build() starts

    def ns(self, role: str) -> str:
        return f"swsnf-{self.tag}-{role}"

    @property
    def compute(self) -> str:
        return self.ns("compute")

    def inside(self, role: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(role), *args, check=check)

    def build(self) -> Topology:
        for role in ("vm", "compute", "intranet", "internet"):
            sh("ip", "netns", "add", self.ns(role))
            self.inside(role, "ip", "link", "set", "lo", "up")
        self._link("vm", "compute", ["10.251.0.2/24", "10.251.0.3/24", "fd00:5a5::2/64"],
                   ["10.251.0.1/24", "fd00:5a5::1/64"])
        self._link("intranet", "compute",
                   ["10.251.1.10/24", "10.251.1.20/24", "10.251.1.50/24", "10.251.1.60/24",
                    "fd00:5a5:1::10/64", "fd00:5a5:1::20/64"],
                   ["10.251.1.1/24", "fd00:5a5:1::1/64"])
        self._link("internet", "compute", ["10.251.2.10/24"], ["10.251.2.1/24"])
        for role, gw4, gw6 in (("vm", "10.251.0.1", "fd00:5a5::1"),
                               ("intranet", "10.251.1.1", "fd00:5a5:1::1"),
                               ("internet", "10.251.2.1", None)):
            self.inside(role, "ip", "route", "add", "default", "via", gw4)
            if gw6:
                self.inside(role, "ip", "-6", "route", "add", "default", "via", gw6)
        self.inside("compute", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.inside("compute", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        self.serve("intranet", 8080, 9090)
        self.serve("internet", 8080)
        self.serve("vm", 2222, 3333)
        self.servers = len(self.processes)
        return self

    def reset(self) -> Topology:
        """As built: the sessions ended, the compute node without rules or tracked flows."""
        for process in self.processes[self.servers:]:
            process.kill()
            process.wait(timeout=5)
        del self.processes[self.servers:]
        self.inside("compute", "nft", "flush", "ruleset")  # iptables here is iptables-nft
        self.inside("compute", "conntrack", "-F", check=False)  # exits 1 when already empty
        return self

    def _link(self, role: str, peer: str, addrs: list[str], peer_addrs: list[str]) -> None:
        short = {"vm": "v", "intranet": "i", "internet": "n"}[role]
        a, b = f"nf{short}{self.tag}", f"nf{short}c{self.tag}"
        sh("ip", "link", "add", a, "netns", self.ns(role), "type", "veth",
           "peer", "name", b, "netns", self.ns(peer))
        for ns, dev, items in ((role, a, addrs), (peer, b, peer_addrs)):
            for addr in items:
                extra = ["nodad"] if ":" in addr else []
                self.inside(ns, "ip", "addr", "add", addr, "dev", dev, *extra)
            self.inside(ns, "ip", "link", "set", dev, "up")

    def serve(self, role: str, *ports: int) -> None:
        process = self.spawn(role, SERVER, *map(str, ports))
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"

    def spawn(self, role: str, script: str, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role), sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.processes.append(process)
        return process

    def connects(self, role: str, src: str, dst: str, port: int, timeout: float = 0.7) -> bool:
        """Whether a TCP connection from `src` (in namespace `role`) reaches an echo server."""
        done = self.inside(role, sys.executable, "-c", CONNECT, src, dst, str(port), str(timeout))
        return done.stdout.strip() == "open"

    def session(self, src: str, dst: str, port: int) -> Session:
        process = self.spawn("vm", SESSION, src, dst, str(port))
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "connected"
        return Session(process)

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(timeout=5)
        for role in ("vm", "compute", "intranet", "internet"):
            sh("ip", "netns", "del", self.ns(role), check=False)


@dataclass
class Session:
    process: subprocess.Popen[str]

    def ping(self) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()


def wait_until(check: object, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.05)
    return False
