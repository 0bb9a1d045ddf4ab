"""Who may claim a custom host name for a load balancer.

A tenant may claim a name under the operator's LB zone (`SWS_LB_ZONE`) on a first-come
basis, except the zone itself and names shaped like SWS's automatic ones. Any other name
needs proof that the tenant controls its DNS: a TXT record at `_sws-challenge.<name>` whose
text is `sws-project=<the tenant's project id>`. Without the proof, any tenant could claim
`www.google.com` and lock its real owner out.
"""

from __future__ import annotations

from typing import Protocol

from sws.errors import Forbidden, Invalid, Unavailable
from sws.loadbalancer.model import AUTO_LABEL_CHARS, AUTO_LABEL_LENGTH

CHALLENGE_LABEL = "_sws-challenge"


class TxtResolver(Protocol):
    """The TXT records of a DNS name ([] when it has none); raises `Unavailable` when DNS
    cannot answer."""

    def txt(self, name: str) -> list[str]: ...


class DnsTxtResolver:
    """TXT lookups through the system's resolvers (dnspython)."""

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout

    def txt(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise Unavailable(f"DNS could not be asked for {name} ({exc}); try again") from exc
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def challenge_name(host: str) -> str:
    return f"{CHALLENGE_LABEL}.{host}"


def proof_text(project_id: str) -> str:
    return f"sws-project={project_id}"


def check_claim(host: str, *, zone: str, project_id: str, resolver: TxtResolver) -> None:
    """Refuse `host` (already normalised) unless this project may claim it."""
    if host == zone:
        raise Invalid(f"{zone} itself is the LB zone", field="host")
    if host.endswith("." + zone):
        _not_automatic(host.removesuffix("." + zone), zone)
        return
    if proof_text(project_id) not in resolver.txt(challenge_name(host)):
        raise Forbidden(
            f"prove that {host} is yours: publish a TXT record at {challenge_name(host)} "
            f"with the text {proof_text(project_id)!r}, or use a name under {zone}",
            field="host",
        )


def _not_automatic(label: str, zone: str) -> None:
    shaped = len(label) == AUTO_LABEL_LENGTH and all(c in AUTO_LABEL_CHARS for c in label)
    if shaped:
        raise Invalid(
            f"{label}.{zone} has the shape of an automatic name; choose another", field="host"
        )
