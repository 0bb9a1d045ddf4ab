"""The simulated region's console: a boot log derived from the instance, and its login shell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sws.drivers.base import Flavor, Server
from sws.drivers.simulated.console import (
    ConsoleSubject,
    SimulatedShell,
    boot_log,
    host_key_fingerprint,
    last_lines,
)
from tests.budget import examples

LAUNCHED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
FLAVOR = Flavor(id="f1", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)


def _server(
    name: str = "web-1",
    server_id: str = "5a7a0c1e",
    launched: datetime | None = LAUNCHED,
    ips: tuple[str, ...] = ("10.0.0.12",),
) -> Server:
    return Server(
        id=server_id,
        name=name,
        project_id="p",
        user_id="u",
        flavor=FLAVOR,
        image_id="i",
        status="ACTIVE",
        vm_state="active",
        task_state=None,
        power_state="running",
        host="h1",
        fixed_ips=ips,
        floating_ips=(),
        key_name=None,
        security_groups=("default",),
        created_at=LAUNCHED,
        updated_at=LAUNCHED,
        launched_at=launched,
    )


def _shell(now: datetime = LAUNCHED + timedelta(hours=2, minutes=5)) -> SimulatedShell:
    return SimulatedShell(ConsoleSubject(_server(), "ubuntu-24.04"), now)


def test_the_boot_log_tells_the_kernel_cloud_init_and_host_keys_of_this_instance() -> None:
    log = boot_log(ConsoleSubject(_server(), "ubuntu-24.04"))
    text = "\n".join(log)
    assert "Linux version 6.8.0-45-generic" in log[0]
    assert "Hostname set to <web-1>" in text
    assert "10.0.0.12" in text
    assert "Mon, 02 Mar 2026 10:30:00 +0000" in text
    assert f"{host_key_fingerprint('5a7a0c1e', 'ED25519')} root@web-1 (ED25519)" in text
    assert log[-1] == "web-1 login: "


def test_an_instance_never_launched_has_written_nothing() -> None:
    assert boot_log(ConsoleSubject(_server(launched=None), "debian-12")) == []


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12))
@settings(max_examples=examples(50), deadline=None)
def test_the_log_is_the_same_for_the_same_instance_and_keys_differ_between_instances(
    first: str, second: str
) -> None:
    one = ConsoleSubject(_server(server_id=first), "debian-12")
    assert boot_log(one) == boot_log(one)
    if first != second:
        assert host_key_fingerprint(first, "RSA") != host_key_fingerprint(second, "RSA")


@given(st.lists(st.text(max_size=5), max_size=30), st.integers(min_value=0, max_value=40))
@settings(max_examples=examples(100), deadline=None)
def test_last_lines_are_the_tail_of_the_log(lines: list[str], length: int) -> None:
    tail = last_lines(lines, length)
    assert len(tail) == min(length, len(lines))
    assert tail == (lines[len(lines) - len(tail) :] if tail else [])
    assert last_lines(lines, None) == lines


def test_the_shell_knows_its_instance_and_says_it_is_simulated() -> None:
    shell = _shell()
    assert "simulated" in shell.banner()
    assert shell.run("hostname") == "web-1\r\n"
    assert "inet 10.0.0.12/24" in shell.run("ip a")
    assert "up  2:05," in shell.run("uptime")
    assert shell.run("uname -a").startswith("Linux web-1 6.8.0-45-generic")
    assert "simulated" in shell.run("rm -rf /")
    assert shell.run("exit") == "logout\r\n" and shell.closed


def test_typed_keys_echo_and_enter_runs_the_line() -> None:
    shell = _shell()
    assert shell.feed("hostx") == "hostx"
    assert shell.feed("\x7f") == "\b \b"
    assert shell.feed("name\r") == "name\r\nweb-1\r\nroot@web-1:~# "


def test_a_paste_runs_each_of_its_lines_and_stops_at_exit() -> None:
    shell = _shell()
    shown = shell.feed("hostname\runame -a\rexit\rhostname\r")
    assert shown.count("web-1\r\n") == 1 and "Linux web-1" in shown
    assert shown.endswith("logout\r\n") and shell.closed


def test_ctrl_c_drops_the_line_and_control_keys_are_not_echoed() -> None:
    shell = _shell()
    shell.feed("hostn")
    assert shell.feed("\x03") == "^C\r\nroot@web-1:~# "
    assert shell.feed("\x1b\x7f\r") == "\r\nroot@web-1:~# "
