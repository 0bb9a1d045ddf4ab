"""The simulated region's instance console: a believable boot log and a small login shell.

Both are derived from the instance itself (id, name, IP, image, launch time), so the same
instance always shows the same log and the same SSH host key fingerprints. The shell says
that it is simulated: it answers a handful of commands and runs nothing.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sws.drivers.base import Server

_KERNELS = {
    "ubuntu": ("6.8.0-45-generic", "Ubuntu 24.04.1 LTS"),
    "debian": ("6.1.0-25-cloud-amd64", "Debian GNU/Linux 12 (bookworm)"),
    "cirros": ("5.15.0-71-generic", "CirrOS 0.6.2"),
}
_GENERIC = ("6.1.0-25-cloud-amd64", "Linux")
_KEY_TYPES = (("ECDSA", 256), ("ED25519", 256), ("RSA", 3072))


@dataclass(frozen=True, slots=True)
class ConsoleSubject:
    """What the console knows about an instance: enough to boot it and to answer its shell."""

    server: Server
    image_name: str


def _distribution(image_name: str) -> tuple[str, str]:
    for prefix, found in _KERNELS.items():
        if image_name.lower().startswith(prefix):
            return found
    return _GENERIC


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def host_key_fingerprint(server_id: str, key_type: str) -> str:
    """The SHA256 fingerprint of one simulated host key, as ssh-keygen -l prints it."""
    return "SHA256:" + base64.b64encode(_digest(server_id, key_type)).decode().rstrip("=")


def _address(server: Server) -> str:
    return server.fixed_ips[0] if server.fixed_ips else "0.0.0.0"


def _stamp(seconds: float) -> str:
    return f"[{seconds:12.6f}]"


def _kernel_lines(subject: ConsoleSubject) -> list[str]:
    kernel, _ = _distribution(subject.image_name)
    seed = _digest(subject.server.id, "boot")
    jitter = seed[0] / 1000
    flavor = subject.server.flavor
    return [
        f"{_stamp(0)} Linux version {kernel} (buildd@lcy02-amd64) #1 SMP PREEMPT_DYNAMIC",
        f"{_stamp(0)} Command line: BOOT_IMAGE=/vmlinuz-{kernel} root=LABEL=cloudimg-rootfs ro "
        "console=tty1 console=ttyS0",
        f"{_stamp(0)} DMI: OpenStack Foundation OpenStack Nova, BIOS 1.16.3 04/01/2014",
        f"{_stamp(0)} Hypervisor detected: KVM",
        f"{_stamp(0.01 + jitter / 10)} Memory: {flavor.ram_mb * 1024 - 88_000}K available",
        f"{_stamp(0.05 + jitter / 10)} smpboot: Allowing {flavor.vcpus} CPUs, 0 hotplug CPUs",
        f"{_stamp(0.41 + jitter)} virtio_blk virtio2: [vda] {flavor.disk_gb * 2_097_152} "
        f"512-byte logical blocks ({flavor.disk_gb} GB)",
        f"{_stamp(0.52 + jitter)} virtio_net virtio0 ens3: renamed from eth0",
        f"{_stamp(1.87 + jitter)} EXT4-fs (vda1): mounted filesystem with ordered data mode.",
        f"{_stamp(2.34 + jitter)} systemd[1]: Hostname set to <{subject.server.name}>.",
    ]


_UNITS = (
    "Journal Service", "Load Kernel Modules", "Remount Root and Kernel File Systems",
    "Create Static Device Nodes in /dev", "Rule-based Manager for Device Events and Files",
    "Initial cloud-init job (pre-networking)", "Network Configuration",
    "Initial cloud-init job (metadata service crawler)", "OpenSSH Daemon",
    "Daily apt download activities", "Regular background program processing daemon",
    "D-Bus System Message Bus", "User Login Management", "Serial Getty on ttyS0",
    "Apply the settings specified in cloud-config", "Execute cloud user/final scripts",
)


def _systemd_lines() -> list[str]:
    return [f"[  OK  ] Started {unit}." for unit in _UNITS]


def _cloud_init_lines(subject: ConsoleSubject, launched: datetime) -> list[str]:
    server = subject.server
    when = launched.strftime("%a, %d %b %Y %H:%M:%S +0000")
    address = _address(server)
    lines = [
        f"cloud-init[512]: Cloud-init v. 24.1.3 running 'init' at {when}. Up 4.12 seconds.",
        "ci-info: ++++++++++++++++++++++++Net device info+++++++++++++++++++++++++",
        "ci-info: | Device |  Up  |   Address    |      Mask     | Scope  |",
        f"ci-info: |  ens3  | True | {address:<12} | 255.255.255.0 | global |",
        "ci-info: |   lo   | True |  127.0.0.1   |   255.0.0.0   |  host  |",
        "cloud-init[512]: Generating public/private rsa key pair.",
        "cloud-init[512]: Generating public/private ecdsa key pair.",
        "cloud-init[512]: Generating public/private ed25519 key pair.",
        "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
    ]
    for key_type, bits in _KEY_TYPES:
        lines.append(
            f"{bits} {host_key_fingerprint(server.id, key_type)} root@{server.name} ({key_type})"
        )
    lines += [
        "-----END SSH HOST KEY FINGERPRINTS-----",
        f"cloud-init[689]: Cloud-init v. 24.1.3 finished at {when}. Datasource "
        "DataSourceOpenStackLocal [net,ver=2].  Up 9.87 seconds",
    ]
    return lines


def boot_log(subject: ConsoleSubject) -> list[str]:
    """The serial console's output since the instance was launched (nothing before it is)."""
    server = subject.server
    if server.launched_at is None:
        return []
    _, release = _distribution(subject.image_name)
    return [
        *_kernel_lines(subject),
        *_systemd_lines(),
        *_cloud_init_lines(subject, server.launched_at),
        "",
        f"{release} {server.name} ttyS0",
        "",
        f"{server.name} login: ",
    ]


def last_lines(lines: list[str], length: int | None) -> list[str]:
    """The last `length` lines, as Nova's os-getConsoleOutput counts them (all when None)."""
    if length is None:
        return lines
    return lines[-length:] if length > 0 else []


class SimulatedShell:
    """A login shell that answers a few commands about its instance, and says it is simulated."""

    COMMANDS = ("help", "hostname", "ip a", "uptime", "uname -a", "exit")

    MAX_LINE = 1024

    def __init__(self, subject: ConsoleSubject, now: datetime) -> None:
        self.subject = subject
        self.now = now
        self.closed = False
        self._line = ""

    def feed(self, keys: str) -> str:
        """What the terminal shows after `keys` (typed or pasted): echo, outputs and prompts."""
        shown: list[str] = []
        for key in keys:
            if self.closed:
                break
            shown.append(self._key(key))
        return "".join(shown)

    def _key(self, key: str) -> str:
        if key in "\r\n":
            line, self._line = self._line, ""
            output = self.run(line)
            return "\r\n" + output + ("" if self.closed else self.prompt)
        if key in "\x7f\b":
            if not self._line:
                return ""
            self._line = self._line[:-1]
            return "\b \b"
        if key == "\x03":  # Ctrl-C drops the line
            self._line = ""
            return "^C\r\n" + self.prompt
        if key.isprintable() and len(self._line) < self.MAX_LINE:
            self._line += key
            return key
        return ""

    @property
    def prompt(self) -> str:
        return f"root@{self.subject.server.name}:~# "

    def banner(self) -> str:
        _, release = _distribution(self.subject.image_name)
        return (
            f"{release} {self.subject.server.name} ttyS0\r\n"
            "This is SWS's simulated region: a simulated console, not a real machine.\r\n"
            "Type 'help' for the commands it knows.\r\n\r\n"
        )

    def run(self, line: str) -> str:
        """The output of one command line, with CRLF line ends as a terminal expects."""
        command = " ".join(line.split())
        if not command:
            return ""
        answer = self._answer(command)
        return "\r\n".join(answer) + "\r\n"

    def _answer(self, command: str) -> list[str]:
        server = self.subject.server
        if command == "help":
            return ["Simulated shell. Commands: " + ", ".join(self.COMMANDS)]
        if command == "hostname":
            return [server.name]
        if command in ("ip a", "ip addr", "ip address"):
            return self._addresses()
        if command == "uptime":
            return [self._uptime()]
        if command == "uname -a":
            kernel, _ = _distribution(self.subject.image_name)
            return [f"Linux {server.name} {kernel} #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux"]
        if command in ("exit", "logout"):
            self.closed = True
            return ["logout"]
        name = command.split()[0]
        return [f"{name}: command not found (this console is simulated; try 'help')"]

    def _addresses(self) -> list[str]:
        lines = [
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN",
            "    inet 127.0.0.1/8 scope host lo",
            "2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 state UP",
        ]
        lines += [f"    inet {ip}/24 scope global ens3" for ip in self.subject.server.fixed_ips]
        return lines

    def _uptime(self) -> str:
        launched = self.subject.server.launched_at or self.now
        seconds = max(0, int((self.now - launched).total_seconds()))
        days, rest = divmod(seconds, 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes = rest // 60
        up = f"{days} days, {hours:2d}:{minutes:02d}" if days else f"{hours:2d}:{minutes:02d}"
        return f" {self.now:%H:%M:%S} up {up},  1 user,  load average: 0.00, 0.01, 0.05"
