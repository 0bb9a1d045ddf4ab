"""DNS in memory: TXT records for `DnsTxtResolver`, addresses for the webhook resolver."""

from __future__ import annotations

from sws.loadbalancer.ownership import challenge_name, proof_text
from sws.metering.targets import TargetRefused


class FakeTxt:
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        return list(self.records.get(name, []))

    def prove(self, host: str, project_id: str) -> None:
        """Publish the TXT record by which `project_id` claims `host`."""
        self.records.setdefault(challenge_name(host), []).append(proof_text(project_id))


class FakeAddresses:
    """Host name -> addresses, standing in for the system resolver; unknown names fail."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})

    def addresses(self, host: str, port: int) -> list[str]:
        if host not in self.names:
            raise TargetRefused(f"{host} does not resolve")
        return list(self.names[host])
