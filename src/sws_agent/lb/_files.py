"""The node's run directory: HAProxy's configuration, its two maps and its saved server state.

Every file is written to a staged name and renamed into place, so HAProxy (or a reload by
someone else) never reads half a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sws.loadbalancer.renderer import Rendered


@dataclass(frozen=True, slots=True)
class RunDir:
    """Where one node's HAProxy files live."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "haproxy.cfg"

    @property
    def staged_config(self) -> Path:
        return self.path / "haproxy.cfg.new"

    @property
    def maps(self) -> tuple[Path, Path]:
        """(hosts.map, ports.map): L7 by Host header, L4 by destination port."""
        return (self.path / "hosts.map", self.path / "ports.map")

    @property
    def server_state(self) -> Path:
        return self.path / "server-state"

    def write(self, rendered: Rendered, config: Path) -> None:
        """The maps in place and the configuration at `config` (the live or the staged one)."""
        hosts, ports = self.maps
        for path, text in ((config, rendered.config), (hosts, rendered.hosts_map),
                           (ports, rendered.ports_map)):
            _replace(path, text)

    def save_server_state(self, text: str | None) -> None:
        """What the old worker knew of each server, for the next one (empty at a first start)."""
        if text is None:
            self.server_state.touch()
        else:
            self.server_state.write_text(text)


def _replace(path: Path, text: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(text)
    staged.replace(path)
