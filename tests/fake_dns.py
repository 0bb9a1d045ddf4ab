"""A DNS of TXT records in memory, standing in for `DnsTxtResolver` in tests."""

from __future__ import annotations

from sws.loadbalancer.ownership import challenge_name, proof_text


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
